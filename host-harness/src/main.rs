//! `lstm-harness`: see `lstm-harness --help` and the library docs of `lstm_harness`.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use lstm_harness::cli::Cli;
use lstm_harness::progress::is_stdout_closed;

/// Exit status 0 when stdout's reader went away (`lstm-harness experiments | head -1`):
/// the reader got what it wanted; any other error is printed and gives status 1.
fn main() -> ExitCode {
    match Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_stdout_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: a closed stderr must not turn the error into a panic.
            let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
