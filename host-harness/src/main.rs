//! `lstm-harness`: see `lstm-harness --help` and the library docs of `lstm_harness`.

use std::process::ExitCode;

use clap::Parser;
use lstm_harness::cli::Cli;

fn main() -> ExitCode {
    match Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
