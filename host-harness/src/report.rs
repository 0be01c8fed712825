//! The end-of-run summary table and the `--json` file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::experiment::ExperimentReport;
use crate::files::save;

/// The summary table, one row per report.
///
/// Columns: experiment, setup, cell, stacked layers, epochs, last-epoch train and validation accuracy, the post's
/// figure, whether the outcome matches the post, wall time (s), µs per optimizer update,
/// µs per LSTM time step (both of training time), optimizer updates per second.
pub fn summary_table(reports: &[ExperimentReport]) -> String {
    let headers = [
        "experiment",
        "setup",
        "cell",
        "layers",
        "epochs",
        "train acc",
        "val acc",
        "post",
        "matches",
        "wall s",
        "us/update",
        "us/step",
        "updates/s",
    ];
    let rows: Vec<[String; 13]> = reports
        .iter()
        .map(|r| {
            let (train_acc, val_acc) = r.last().map_or(("-".into(), "-".into()), |e| {
                (format!("{:.4}", e.train_acc), format!("{:.4}", e.val_acc))
            });
            let matches = match r.matches_post() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            [
                r.name.to_string(),
                r.setup.to_string(),
                r.cell.to_string(),
                r.layers.to_string(),
                r.epochs.len().to_string(),
                train_acc,
                val_acc,
                r.post_result.to_string(),
                matches.to_string(),
                format!("{:.2}", r.wall_seconds),
                format!("{:.2}", r.us_per_train_step),
                format!("{:.3}", r.us_per_lstm_step),
                format!("{:.0}", r.train_steps_per_second),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                l.push_str(" | ");
            }
            // Text columns left-aligned, numbers right-aligned.
            if i < 2 || i == 5 || i == 6 {
                let _ = write!(l, "{cell:<w$}");
            } else {
                let _ = write!(l, "{cell:>w$}");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&headers.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &rows {
        line(row);
    }
    out
}

/// The reports as a pretty-printed JSON array: each element has [`ExperimentReport`]'s
/// fields and `matches` (`true` / `false`: whether the outcome matches the post's,
/// [`ExperimentReport::matches_post`]; `null` if no epoch ran), the summary table's column.
///
/// # Errors
/// Serialization failure (not expected for these types; non-finite numbers become `null`).
pub fn to_json(reports: &[ExperimentReport]) -> Result<String> {
    /// One element of the array: the report and its verdict.
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        #[serde(flatten)]
        report: &'a ExperimentReport,
        matches: Option<bool>,
    }
    let entries: Vec<Entry> = reports
        .iter()
        .map(|report| Entry {
            report,
            matches: report.matches_post(),
        })
        .collect();
    serde_json::to_string_pretty(&entries).context("cannot serialize the reports")
}

/// Writes [`to_json`] of `reports` to `path` atomically (temp file, then rename or, without
/// `force`, a hard link that refuses an existing file: [`save`]).
///
/// # Errors
/// `path` exists and `force` is off, serialization or any I/O failure, with the path in
/// the message.
pub fn write_json(path: &Path, reports: &[ExperimentReport], force: bool) -> Result<()> {
    let mut text = to_json(reports)?;
    text.push('\n');
    save(path, text.as_bytes(), force)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::experiment::{Experiment, ExperimentConfig, Quiet, run_layers};

    fn one_epoch_report() -> ExperimentReport {
        let config = ExperimentConfig {
            epochs: 1,
            ..ExperimentConfig::new(Experiment::StatelessFullSequence, 3)
        };
        run_layers(&config, 2, &Dataset::generate(3), &mut Quiet).unwrap()
    }

    #[test]
    fn the_json_has_the_documented_fields() {
        let r = one_epoch_report();
        let v: serde_json::Value =
            serde_json::from_str(&to_json(std::slice::from_ref(&r)).unwrap()).unwrap();
        let e = &v[0];
        for key in [
            "name",
            "epochs",
            "wall_seconds",
            "train_steps",
            "us_per_train_step",
            "train_steps_per_second",
            "seed",
            "recurrent_activation",
            "layers",
        ] {
            assert!(e.get(key).is_some(), "missing {key}: {e}");
        }
        assert_eq!(e["name"], "stateless-full-sequence");
        assert_eq!(e["recurrent_activation"], "sigmoid");
        assert_eq!(e["layers"], 2);
        assert_eq!(e["train_steps"], 16);
        let epoch = &e["epochs"][0];
        for key in ["train_loss", "train_acc", "val_loss", "val_acc", "seconds"] {
            assert!(epoch[key].is_f64(), "missing {key}: {epoch}");
        }
    }

    #[test]
    fn the_summary_has_a_header_a_rule_and_one_row_per_run() {
        let r = one_epoch_report();
        let table = summary_table(&[r]);
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("experiment"));
        assert!(lines[0].contains("us/update"));
        assert!(lines[2].starts_with("stateless-full-sequence"));
        assert!(lines[2].contains("stateless, whole 20 steps, batch 64"));
    }
}
