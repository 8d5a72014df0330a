//! certsafe: verified backups of health-PKI identities (IGC-Santé), restore
//! on a new machine, and CRL checks, from a terminal UI or the command line.

// Text reaches the terminal only through cli::print_text / print_prompt /
// print_json, which make control characters visible.
#![warn(clippy::print_stdout, clippy::print_stderr)]

rust_i18n::i18n!("src/locales", fallback = "en");

pub mod cli;
pub mod config;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod tui;

/// Keeps secrets out of core dumps and away from same-user debuggers for the
/// life of the process.
pub fn harden_process() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
