//! The headless twin of the TUI: one function per subcommand, `--json` for
//! scripts, exit codes as PRODUCT.md sets them.
//!
//! Text output goes through [`outln!`] and [`errln!`] (clippy's
//! `print_stdout`/`print_stderr`, denied in lib.rs, refuse `println!` and
//! friends): whatever a print site interpolates, no control character
//! reaches the terminal.

/// Like `println!`, with every control character but the line breaks made
/// visible ([`crate::domain::text::visible_lines`]).
macro_rules! outln {
    () => { $crate::cli::print_text(false, "") };
    ($($arg:tt)*) => { $crate::cli::print_text(false, &format!($($arg)*)) };
}

/// Like `eprintln!`, made safe as [`outln!`] is.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::print_text(true, &format!($($arg)*)) };
}

mod account;
mod crl;
mod files;
mod igc;
mod log;
pub mod password;
pub mod status;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Tell whether certificates are good, revoked or unknown, and which CRL (base or delta) decided; exit 0 good, 1 warning, 2 critical, 3 unknown.
    Check(crl::CheckArgs),
    /// What needs attention (backups, expiry, CRLs, revocation); exit 0 ok, 1 warning, 2 critical, 3 unknown.
    Status(status::StatusArgs),
    /// What certsafe did here: imports, backups, restores, removals, CA and CRL changes.
    Log(log::LogArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), in the language of --lang; with --dir,
    /// write certsafe.1 and one page per subcommand there.
    #[command(hide = true)]
    Man {
        /// Folder for every page (certsafe.1, certsafe-backup.1, ...).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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

/// What every command needs: the application's environment (where things
/// live, the configuration, the clock, the fetchers). Its fields are read
/// through it (`ctx.home`, `ctx.config`).
pub struct Context {
    /// The environment the use cases run in.
    pub env: crate::app::Env,
}

impl std::ops::Deref for Context {
    type Target = crate::app::Env;

    fn deref(&self) -> &Self::Target {
        &self.env
    }
}

impl Context {
    /// Resolves the home and loads the configuration.
    pub fn new(home: Option<&std::path::Path>) -> Result<Self, Failure> {
        Ok(Self {
            env: crate::app::Env::load(home)?,
        })
    }

    /// The store, created if needed.
    pub fn store(&self) -> Result<Store, Failure> {
        Ok(Store::open(&self.home.accounts_dir())?.with_wait_notice(store_wait_notice))
    }

    /// The store, not created (read-only commands on an empty machine).
    pub fn store_existing(&self) -> Store {
        Store::open_existing(&self.home.accounts_dir()).with_wait_notice(store_wait_notice)
    }
}

/// Said once when another certsafe command holds the store lock.
fn store_wait_notice() {
    warn(crate::t!("store.waiting"));
}

/// Prints `text` and a line break on stdout (or stderr), every control
/// character but the line breaks made visible. Broken pipes are ignored.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn print_text(stderr: bool, text: &str) {
    let text = crate::domain::text::visible_lines(text);
    if stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// Prints a question on stderr, without a line break, made safe as
/// [`print_text`] makes text.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn print_prompt(text: &str) {
    use std::io::Write;
    eprint!("{}", crate::domain::text::visible_lines(text));
    let _ = std::io::stderr().flush();
}

/// Prints a warning on stderr.
pub fn warn(message: impl std::fmt::Display) {
    errln!("certsafe: {}: {message}", crate::t!("cli.warning"));
}

/// Prints JSON on stdout. Strings stay exact; the characters a terminal
/// would act on that JSON may carry raw (DEL, C1 controls, bidirectional
/// marks) are written as `\uXXXX` escapes, which parse back to the same text.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn print_json(value: &serde_json::Value) {
    println!("{}", json_text(value));
}

/// `value` as pretty JSON with every terminal-unsafe character escaped.
pub fn json_text(value: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeJson::default());
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// `serde_json`'s pretty formatter, escaping [`crate::domain::text::is_unsafe`]
/// characters inside strings as well (`serde_json` escapes only C0 controls).
#[derive(Default)]
struct SafeJson(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest
            .char_indices()
            .find(|&(_, c)| crate::domain::text::is_unsafe(c))
        {
            writer.write_all(&rest.as_bytes()[..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(writer, "\\u{u:04x}")?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Starts the terminal interface with the context and the `--theme` flag.
///
/// `cli` never imports `tui` (the layer rule, `tests/layers.rs`): the
/// binary passes [`crate::run_tui`] in, the one place both front ends meet.
pub type TuiLauncher = fn(&Context, Option<&str>) -> Result<u8, Failure>;

/// Runs the program with `args`; returns the exit code. With no subcommand
/// (or `demo`), `tui` runs the terminal interface.
pub fn main_with_args(args: Vec<std::ffi::OsString>, tui: TuiLauncher) -> ExitCode {
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
    let cli = match localized_tree()
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            if hides_a_value(&e) {
                errln!(
                    "certsafe: {}: {}",
                    crate::t!("cli.error"),
                    crate::t!("cli.unexpected_hidden")
                );
                return ExitCode::from(EXIT_USAGE);
            }
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli, tui) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            errln!("certsafe: {}: {}", crate::t!("cli.error"), f.message);
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

/// Whether clap's error would print a word the user typed that is not an
/// option name: an unexpected positional word or an unknown subcommand may
/// be a password typed as an argument, and an error that repeats it would
/// carry it into logs and cron mail. Option names (`--jsn`) are shown.
fn hides_a_value(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let kind = match e.kind() {
        ErrorKind::UnknownArgument => ContextKind::InvalidArg,
        ErrorKind::InvalidSubcommand => ContextKind::InvalidSubcommand,
        _ => return false,
    };
    match e.get(kind) {
        Some(ContextValue::String(word)) => !word.starts_with('-') || word.contains('='),
        _ => true,
    }
}

/// The `help.*` text for `key` in the current language, if there is one.
fn help_text(key: &str) -> Option<String> {
    let full = format!("help.{key}");
    let text = crate::t!(&full);
    (!text.ends_with(&full)).then_some(text)
}

/// The whole command tree, localized, with clap's generated `help`
/// subcommands described in the reader's language too (they exist only
/// once the tree is built).
fn localized_tree() -> clap::Command {
    fn help_subcommands(mut cmd: clap::Command, about: &str) -> clap::Command {
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        for name in subs {
            cmd = if name == "help" {
                cmd.mut_subcommand(name, |c| c.about(about.to_string()))
            } else {
                cmd.mut_subcommand(name, |c| help_subcommands(c, about))
            };
        }
        cmd
    }
    let mut cmd = localized(Cli::command(), "");
    cmd.build();
    match help_text("clap_help_subcommand") {
        Some(about) => help_subcommands(cmd, &about),
        None => cmd,
    }
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
    // clap's own words (headings, the help flag) in the reader's language:
    // a template per command with the headings written out.
    if let (Some(usage), Some(options), Some(arguments), Some(commands), Some(flag)) = (
        help_text("clap_usage"),
        help_text("clap_options"),
        help_text("clap_arguments"),
        help_text("clap_commands"),
        help_text("clap_help_flag"),
    ) {
        use std::fmt::Write as _;
        let mut template = format!("{{before-help}}{{about-with-newline}}\n{usage} {{usage}}\n\n");
        if cmd.has_subcommands() {
            let _ = write!(template, "{commands}\n{{subcommands}}\n\n");
        }
        if cmd.get_positionals().next().is_some() {
            let _ = write!(template, "{arguments}\n{{positionals}}\n\n");
        }
        let _ = write!(template, "{options}\n{{options}}{{after-help}}");
        cmd = cmd.help_template(template).disable_help_flag(true).arg(
            clap::Arg::new("help")
                .short('h')
                .long("help")
                .action(clap::ArgAction::Help)
                .help(flag),
        );
        if let (Some(_), Some(version)) = (cmd.get_version(), help_text("clap_version_flag")) {
            cmd = cmd.disable_version_flag(true).arg(
                clap::Arg::new("version")
                    .short('V')
                    .long("version")
                    .action(clap::ArgAction::Version)
                    .help(version),
            );
        }
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

fn run(cli: Cli, run_tui: TuiLauncher) -> Result<u8, Failure> {
    let forced = cli.lang.as_deref().and_then(Lang::parse);
    i18n::set(forced.unwrap_or_else(Lang::from_env));
    // Generated from the command tree, with no home and no configuration.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut cmd = localized_tree();
            clap_complete::generate(*shell, &mut cmd, "certsafe", &mut std::io::stdout());
            return Ok(0);
        }
        Some(Command::Man { dir }) => {
            let cmd = localized_tree();
            match dir {
                Some(dir) => clap_mangen::generate_to(cmd, dir),
                None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()),
            }
            .map_err(Failure::op)?;
            return Ok(0);
        }
        _ => {}
    }
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
    crate::domain::journal::set_failure_notice(log::failure_notice);
    if forced.is_none() {
        if let Some(lang) = ctx.config.ui.lang.as_deref().and_then(Lang::parse) {
            i18n::set(lang);
        }
    }
    if let Some(dir) = &demo_home {
        crate::domain::demo::remove_on_abort(dir.path());
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
        Command::Status(args) => status::run(&ctx, &args),
        Command::Log(args) => log::run(&ctx, &args),
        Command::Completions { .. } | Command::Man { .. } => Ok(0),
    }
}
