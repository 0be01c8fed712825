//! Console progress for the CLI: an indicatif bar per epoch on stderr (only when stderr is
//! a terminal) and Keras-style epoch lines on stdout.
//!
//! All of the CLI's stdout goes through [`write_stdout`] (the crate's `outln!`), which
//! turns a closed stdout (`lstm-harness experiments | head -1`) into the [`StdoutClosed`]
//! error instead of a panic; `main` then exits quietly with status 0, as `| head`
//! expects.

use std::fmt;
use std::io::{ErrorKind, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::experiment::{EpochReport, Experiment, Observer};

/// The reader of stdout went away (`EPIPE`, e.g. `| head -1`): not a failure of the
/// command, which just stops; `main` exits with status 0 and prints nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

/// Whether `error` (anywhere in its chain) is [`StdoutClosed`].
pub fn is_stdout_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|c| c.is::<StdoutClosed>())
}

/// Writes `args` to a locked stdout and flushes it.
///
/// # Errors
/// [`StdoutClosed`] if the reader closed the pipe; any other write error as a message.
pub fn write_stdout(args: fmt::Arguments<'_>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        r => r.context("cannot write to stdout"),
    }
}

/// `println!` through [`write_stdout`]: evaluates to `anyhow::Result<()>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::progress::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// [`outln!`] for the progress of work that must finish anyway (a `fit` run saving its
/// model): a closed stdout (`lstm-harness fit ... | head -3`) is ignored, so the run still
/// writes its files; any other write error is returned.
macro_rules! progressln {
    ($($arg:tt)*) => {
        $crate::progress::ignore_closed($crate::progress::write_stdout(format_args!(
            "{}\n",
            format_args!($($arg)*)
        )))
    };
}
pub(crate) use progressln;

/// `result`, with [`StdoutClosed`] turned into success.
///
/// # Errors
/// Any other error of `result`.
pub fn ignore_closed(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if is_stdout_closed(&e) => Ok(()),
        r => r,
    }
}

/// Prints `Epoch e/n - …` lines to stdout and, when stderr is a terminal, shows a progress
/// bar of the epoch's training samples there (hidden in CI, pipes and tests).
#[derive(Debug)]
pub struct Console {
    bar: ProgressBar,
    show_bar: bool,
    keep_going: bool,
}

impl Console {
    /// A console observer; the bar is drawn only if stderr is a terminal. A closed stdout
    /// stops the run (`epoch_finished` returns [`StdoutClosed`]).
    pub fn new() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            show_bar: std::io::stderr().is_terminal(),
            keep_going: false,
        }
    }

    /// Like [`Console::new`], but a closed stdout does not stop the run (the epoch lines
    /// are dropped): for commands whose product is a file, not the printed lines.
    pub fn keep_going() -> Self {
        Self {
            keep_going: true,
            ..Self::new()
        }
    }
}

/// `result`, with [`StdoutClosed`] turned into `Ok(())`: for lines a command prints on the
/// side of writing its files.
///
/// # Errors
/// Any other error of `result`.
pub fn unless_stdout_closed(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if is_stdout_closed(&e) => Ok(()),
        r => r,
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer for Console {
    fn epoch_started(&mut self, experiment: Experiment, epoch: usize, epochs: usize, units: u64) {
        self.bar = if self.show_bar {
            ProgressBar::new(units)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {human_pos}/{human_len} samples, eta {eta}",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar
            .set_prefix(format!("{} epoch {epoch}/{epochs}", experiment.name()));
        if self.show_bar {
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    fn advanced(&mut self, units: u64) {
        self.bar.inc(units);
    }

    fn epoch_finished(
        &mut self,
        _experiment: Experiment,
        epochs: usize,
        report: &EpochReport,
    ) -> Result<()> {
        self.bar.finish_and_clear();
        let printed = outln!("{}", report.keras_line(epochs));
        if self.keep_going {
            unless_stdout_closed(printed)
        } else {
            printed
        }
    }
}
