//! Host harness for `lstm-kernel`: the data, the five experiments of "Self-explanatory
//! Examples of Stateful LSTMs" (Philippe Rémy) on the kernel, and the `lstm-harness` CLI.
//!
//! - [`data`]: the post's 1200 × 20 data set ([`data::Dataset::generate`]) and its windows.
//! - [`model`]: the post's `LSTM(10) + Dense(1)` ([`model::HarnessModel`]), or 2 or 3
//!   stacked `LSTM(10)` layers ([`model::PostModel`]), Keras init and Adam.
//! - [`engine`]: batched (stateless/stateful) and per-step training and evaluation passes.
//! - [`experiment`]: the named experiments ([`experiment::run`],
//!   [`experiment::train_stateful_per_step`]) and their reports.
//! - [`fit`]: training on a user's data (sequence classification so far).
//! - [`report`]: the summary table and the JSON file; [`fsutil`]: atomic writes.
//! - [`cli`]: the command line; [`progress`]: its console output; [`cpu`]: which vector
//!   kernels the binary runs.
//! - [`rng`]: seeded, independent random streams.
//! - [`sequences`]: a user's data (CSV long format, the NumPy trio, one series) as labelled
//!   sequences, refused with file, line and column when malformed.
//!
//! ```no_run
//! use lstm_harness::data::Dataset;
//! use lstm_harness::experiment::{Experiment, ExperimentConfig, Quiet, run};
//! use lstm_harness::model::TwoLayers;
//!
//! let data = Dataset::generate(42);
//! let config = ExperimentConfig::new(Experiment::StatefulPerStep, 42);
//! // The post's model on two stacked LSTM(10) layers; `OneLayer` is the post's own.
//! let (report, model) = run::<TwoLayers>(&config, &data, &mut Quiet)?;
//! println!("val acc {:?}", report.last().map(|e| e.val_acc));
//! # let _ = model;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod checkpoint;
pub mod cli;
pub mod cpu;
pub mod data;
pub mod engine;
pub mod experiment;
pub mod files;
pub mod fit;
pub mod fsutil;
#[cfg(test)]
pub(crate) mod fuzz_seeds;
pub mod menu;
pub mod model;
pub mod plot;
pub mod progress;
pub mod qnet;
pub mod report;
pub mod rng;
pub mod sequences;
