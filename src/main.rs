//! certsafe: the binary. Parses arguments, runs the TUI or a command, maps
//! errors to exit codes. It wires the two front ends: `cli` gets the TUI
//! launcher ([`certsafe::run_tui`]) as a value.

use std::process::ExitCode;

fn main() -> ExitCode {
    certsafe::harden_process();
    // `certsafe status | head -1` must end quietly, as other Unix tools do.
    sigpipe::reset();
    certsafe::cli::main_with_args(std::env::args_os().collect(), certsafe::run_tui)
}
