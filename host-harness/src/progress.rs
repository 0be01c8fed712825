//! Console progress for the CLI: an indicatif bar per epoch on stderr (only when stderr is
//! a terminal) and Keras-style epoch lines on stdout.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::experiment::{EpochReport, Experiment, Observer};

/// Prints `Epoch e/n - …` lines to stdout and, when stderr is a terminal, shows a progress
/// bar of the epoch's training samples there (hidden in CI, pipes and tests).
#[derive(Debug)]
pub struct Console {
    bar: ProgressBar,
    show_bar: bool,
}

impl Console {
    /// A console observer; the bar is drawn only if stderr is a terminal.
    pub fn new() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            show_bar: std::io::stderr().is_terminal(),
        }
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

    fn epoch_finished(&mut self, _experiment: Experiment, epochs: usize, report: &EpochReport) {
        self.bar.finish_and_clear();
        println!("{}", report.keras_line(epochs));
    }
}
