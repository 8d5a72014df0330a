//! The headless twin of the TUI: one function per subcommand, `--json` for
//! scripts, exit codes as PRODUCT.md sets them.

mod account;
mod crl;
mod files;
pub mod password;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{self, Config};
use crate::domain::home::Home;
use crate::domain::store::Store;
use crate::i18n::{self, Lang};

/// Exit code of a usage error (sysexits `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;

const AFTER_HELP: &str = "\
Passwords are never given as arguments: use --password-stdin (first line of
standard input) or --password-file FILE; on a terminal certsafe asks, without
echo (twice for a backup).

Exit codes: operations 0 success, 1 failure; checks (status, crl status,
check) 0 good, 1 warning, 2 critical, 3 unknown; 64 usage error.";

/// certsafe — back up, restore and watch your health-PKI certificates.
#[derive(Debug, Parser)]
#[command(
    name = "certsafe",
    version,
    about = "Back up, restore and watch IGC-Santé certificates (S/MIME medical mail)",
    long_about = "certsafe keeps the certificate and private key of your secure medical mail safe: \
                  a password-protected PKCS#12 backup on a USB stick, proven to open before it is \
                  called done; a restore on a freshly reinstalled computer; fresh revocation lists.\n\n\
                  certsafe sauvegarde le certificat et la clé privée de votre messagerie sécurisée \
                  de santé sur une clé USB, prouve que la sauvegarde s'ouvre, et la restaure sur un \
                  poste réinstallé.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Keep everything under DIR (config.toml, data/, cache/) instead of the user's folders.
    #[arg(long, global = true, env = "CERTSAFE_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Language of messages: fr or en (default: from the locale).
    #[arg(long, global = true, value_parser = ["fr", "en"])]
    pub lang: Option<String>,
    /// Colour theme of the terminal interface.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// What to do; without a command, the terminal interface starts.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The terminal interface on a throwaway demo home (made-up identities).
    Demo,
    /// Manage accounts (certificate + chain + private key).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// List removable drives where a backup can go.
    Drives(files::DrivesArgs),
    /// Back up an account to a password-protected PKCS#12 file, then prove it opens.
    Backup(files::BackupArgs),
    /// Open a PKCS#12 file with its password and tell what is inside.
    Verify(files::VerifyArgs),
    /// Restore a PKCS#12 backup as an account (works on an empty machine).
    Restore(files::RestoreArgs),
    /// Trusted CA certificates (they verify CRLs and chains).
    #[command(subcommand)]
    Ca(trust::CaCommand),
    /// Correspondents' certificates whose revocation is watched.
    #[command(subcommand)]
    Correspondent(trust::CorrespondentCommand),
    /// Revocation lists: update, import, status.
    #[command(subcommand)]
    Crl(crl::CrlCommand),
    /// Tell whether certificates are good, revoked or unknown; exit 0 good, 1 warning, 2 critical, 3 unknown.
    Check(crl::CheckArgs),
    /// What needs attention (backups, expiry, CRLs, revocation); exit 0 ok, 1 warning, 2 critical, 3 unknown.
    Status(StatusArgs),
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where the password comes from.
#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long, conflicts_with = "password_file")]
    pub password_stdin: bool,
    /// Read the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Open a file made without a password (never for a new backup).
    #[arg(long, conflicts_with_all = ["password_stdin", "password_file"])]
    pub no_password: bool,
}

/// A failure, with the exit code it maps to. The message already says what
/// to do.
#[derive(Debug)]
pub struct Failure {
    /// The message for stderr.
    pub message: String,
    /// The exit code.
    pub code: u8,
    /// A stable machine code for `--json` (`p12_wrong_password`, ...).
    pub kind: Option<&'static str>,
}

impl Failure {
    /// An operation failure (exit 1).
    pub fn op(message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 1,
            kind: None,
        }
    }

    /// An operation failure (exit 1) with a machine code.
    pub fn coded(message: impl std::fmt::Display, kind: &'static str) -> Self {
        Self {
            kind: Some(kind),
            ..Self::op(message)
        }
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::op(e)
    }
}

/// What every command needs: where things live, the configuration.
pub struct Context {
    /// The folders.
    pub home: Home,
    /// The configuration.
    pub config: Config,
}

impl Context {
    /// Resolves the home and loads the configuration.
    pub fn new(home: Option<&std::path::Path>) -> Result<Self, Failure> {
        let home = match home {
            Some(dir) => Home::under(dir),
            None => Home::platform().ok_or_else(|| Failure::op(crate::t!("cli.no_home")))?,
        };
        let config = if home.config_file().exists() {
            config::load(&home.config_file())?
        } else {
            Config::default()
        };
        Ok(Self { home, config })
    }

    /// The store, created if needed.
    pub fn store(&self) -> Result<Store, Failure> {
        Ok(Store::open(&self.home.accounts_dir())?)
    }

    /// The store, not created (read-only commands on an empty machine).
    pub fn store_existing(&self) -> Store {
        Store::open_existing(&self.home.accounts_dir())
    }
}

/// Prints a warning on stderr.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("certsafe: {}: {message}", crate::t!("cli.warning"));
}

/// Prints JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Runs the program with `args`; returns the exit code.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> ExitCode {
    let json = args.iter().any(|a| a == "--json");
    // The language is known before parsing, so --help speaks it too.
    let flag = args
        .windows(2)
        .find(|w| w[0] == "--lang")
        .and_then(|w| w[1].to_str())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.to_str().and_then(|a| a.strip_prefix("--lang=")))
        });
    i18n::set(flag.and_then(Lang::parse).unwrap_or_else(Lang::from_env));
    let cli = match localized(Cli::command(), "")
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("certsafe: {}: {}", crate::t!("cli.error"), f.message);
            if json {
                // Scripts that parse stdout get an object, not nothing.
                print_json(
                    &serde_json::json!({"error": {"message": f.message, "exit_code": f.code, "code": f.kind}}),
                );
            }
            ExitCode::from(f.code)
        }
    }
}

/// The `help.*` text for `key` in the current language, if there is one.
fn help_text(key: &str) -> Option<String> {
    let full = format!("help.{key}");
    let text = crate::t!(&full);
    (!text.ends_with(&full)).then_some(text)
}

/// The command tree with its help texts from the translation files
/// (`help.<sub>_<sub>_<arg>`; the doc comments stay the fallback).
fn localized(mut cmd: clap::Command, path: &str) -> clap::Command {
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}_")
    };
    if let Some(t) = help_text(&format!("{prefix}about")) {
        cmd = cmd.about(t);
    }
    if path.is_empty() {
        cmd = cmd.long_about(None);
        if let Some(t) = help_text("after_help") {
            cmd = cmd.after_help(t);
        }
    }
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let key = match id.as_str() {
            "json" | "password_stdin" | "password_file" | "no_password" => id.clone(),
            _ if !path.is_empty() && matches!(id.as_str(), "home" | "lang" | "theme") => continue,
            _ => format!("{prefix}{id}"),
        };
        if let Some(t) = help_text(&key) {
            cmd = cmd.mut_arg(id, |a| a.help(t));
        }
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        let sub_path = format!("{prefix}{name}");
        cmd = cmd.mut_subcommand(name, |c| localized(c, &sub_path));
    }
    cmd
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let forced = cli.lang.as_deref().and_then(Lang::parse);
    i18n::set(forced.unwrap_or_else(Lang::from_env));
    let demo_home = match cli.command {
        Some(Command::Demo) => Some(
            tempfile::Builder::new()
                .prefix("certsafe-demo-")
                .tempdir()
                .map_err(Failure::op)?,
        ),
        _ => None,
    };
    let home = demo_home
        .as_ref()
        .map(tempfile::TempDir::path)
        .or(cli.home.as_deref());
    let ctx = Context::new(home)?;
    if forced.is_none() {
        if let Some(lang) = ctx.config.ui.lang.as_deref().and_then(Lang::parse) {
            i18n::set(lang);
        }
    }
    if let Some(dir) = &demo_home {
        crate::domain::demo::populate(
            &Home::under(dir.path()).accounts_dir(),
            crate::domain::time::now(),
        )?;
    }
    let Some(command) = cli.command else {
        return run_tui(&ctx, cli.theme.as_deref());
    };
    match command {
        Command::Demo => run_tui(&ctx, cli.theme.as_deref()),
        Command::Account(cmd) => account::run(&ctx, cmd),
        Command::Drives(args) => Ok(files::drives(&args)),
        Command::Backup(args) => files::backup(&ctx, &args),
        Command::Verify(args) => files::verify(&ctx, &args),
        Command::Restore(args) => files::restore(&ctx, &args),
        Command::Ca(cmd) => trust::run_ca(&ctx, cmd),
        Command::Correspondent(cmd) => trust::run_correspondent(&ctx, cmd),
        Command::Crl(cmd) => crl::run(&ctx, cmd),
        Command::Check(args) => crl::check(&ctx, &args),
        Command::Status(args) => Ok(status(&ctx, &args)),
    }
}

/// `certsafe status`: the alerts of the home screen, for scripts and monitoring.
fn status(ctx: &Context, args: &StatusArgs) -> u8 {
    let status =
        match crate::domain::status::gather(&ctx.home, &ctx.config, crate::domain::time::now()) {
            Ok(s) => s,
            Err(e) => {
                // A store that cannot be read is "unknown" for monitoring, not a crash.
                eprintln!("certsafe: {}: {e}", crate::t!("cli.error"));
                return crate::domain::status::Level::Unknown.exit_code();
            }
        };
    if args.json {
        print_json(&serde_json::json!({
            "level": status.level,
            "alerts": status.alerts,
        }));
    } else if status.alerts.is_empty() {
        println!(
            "{}: {}",
            crate::t!("status.level_ok"),
            crate::t!("status.all_good")
        );
    } else {
        for a in &status.alerts {
            let key = format!("status.level_{}", a.severity.word());
            println!("{}: {}", crate::t!(&key), a.message);
            println!("    → {}", a.recommendation);
        }
    }
    status.level.exit_code()
}

/// Starts the terminal interface (a usage error without a terminal).
fn run_tui(ctx: &Context, theme_flag: Option<&str>) -> Result<u8, Failure> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure {
            message: crate::t!("tui.needs_terminal"),
            code: EXIT_USAGE,
            kind: None,
        });
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let user_themes = ctx.home.config_dir.join("themes");
    let chosen = theme_flag.or(ctx.config.ui.theme.as_deref());
    let theme = crate::tui::theme::Theme::choose(
        theme_flag,
        ctx.config.ui.theme.as_deref(),
        no_color,
        Some(&user_themes),
    )
    .map_err(|e| Failure {
        message: e.to_string(),
        code: EXIT_USAGE,
        kind: None,
    })?;
    let term = std::env::var("TERM").ok();
    let theme = if crate::tui::theme::Theme::plain_terminal(term.as_deref()) {
        theme.for_plain_terminal(chosen.is_some())
    } else {
        theme
    };
    let env = crate::tui::app::Env {
        home: ctx.home.clone(),
        config: ctx.config.clone(),
        drives: std::sync::Arc::new(crate::domain::drives::SystemDrives),
        now: crate::domain::time::now,
    };
    crate::tui::run(&env, theme).map_err(Failure::op)?;
    Ok(0)
}
