//! certsafe: verified backups of health-PKI identities (IGC-Santé), restore
//! on a new machine, and CRL checks, from a terminal UI or the command line.

// Text reaches the terminal only through cli::print_text / print_prompt /
// print_json, which make control characters visible.
#![warn(clippy::print_stdout, clippy::print_stderr)]

rust_i18n::i18n!("src/locales", fallback = "en");

pub mod app;
pub mod cli;
pub mod domain;
/// The configuration types live with the domain; this path stays for the front ends.
pub use domain::config;
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod tui;

/// Keeps secrets out of core dumps and away from same-user debuggers for the
/// life of the process.
pub fn harden_process() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// Starts the terminal interface: the one wiring point between the two front
/// ends. `cli` parses the arguments and builds the [`cli::Context`], then calls
/// this (passed in by `main.rs`), so neither `cli` nor `tui` imports the
/// other (`tests/layers.rs`). Without a terminal it is a usage error.
pub fn run_tui(ctx: &cli::Context, theme_flag: Option<&str>) -> Result<u8, cli::Failure> {
    use std::io::IsTerminal;
    let usage = |message: String| cli::Failure {
        message,
        code: cli::EXIT_USAGE,
        kind: None,
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(usage(crate::t!("tui.needs_terminal")));
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let user_themes = ctx.home.config_dir.join("themes");
    let chosen = theme_flag.or(ctx.config.ui.theme.as_deref());
    let theme = tui::theme::Theme::choose(
        theme_flag,
        ctx.config.ui.theme.as_deref(),
        no_color,
        Some(&user_themes),
    )
    .map_err(|e| usage(e.to_string()))?;
    let term = std::env::var("TERM").ok();
    let theme = if tui::theme::Theme::plain_terminal(term.as_deref()) {
        theme.for_plain_terminal(chosen.is_some())
    } else {
        theme
    };
    tui::run(&ctx.env, theme).map_err(cli::Failure::op)?;
    Ok(0)
}
