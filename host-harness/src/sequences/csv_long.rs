//! The CSV long format: a header `sequence,step,<feature columns>,label` and one row per
//! time step (the format of `../shared/data/*/train.csv`, sktime's "long" table).
//!
//! - `sequence`: any text naming the sequence; a sequence's rows are contiguous (a name
//!   that comes back after another sequence is refused: sort the file).
//! - `step`: `0, 1, 2, ...` within each sequence, without gaps.
//! - the feature columns (at least one): finite numbers within `f32`.
//! - `label`: a finite number per row: repeated on every row for a many-to-one task
//!   (a class index, or a regression target), or a per-step target for labelling.
//!
//! Errors name the file, the line (1-based, the header is line 1) and the column (1-based,
//! with its name).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Sequence, SequenceSet, parse_value};

/// Reads a long-format CSV file ([`parse`] of its bytes).
///
/// # Errors
/// As [`parse`], or the file cannot be read.
pub fn read(path: &Path) -> Result<SequenceSet> {
    let bytes = super::read_file(path)?;
    parse(&path.display().to_string(), &bytes)
}

/// Parses a long-format CSV document; `source` names it in messages.
///
/// # Errors
/// Empty input, a header that is not `sequence,step,<features>,label`, a row with too few
/// or too many cells, a cell that is not a finite `f32` number (or, for `step`, a whole
/// number), a gap in `step`, a sequence whose rows are not contiguous, or no data rows;
/// each naming `source`, the line and the column.
pub fn parse(source: &str, bytes: &[u8]) -> Result<SequenceSet> {
    parse_impl(source, bytes, true)
}

/// Reads a long-format CSV file of inputs for prediction ([`parse_inputs`]).
///
/// # Errors
/// As [`parse_inputs`], or the file cannot be read.
pub fn read_inputs(path: &Path) -> Result<SequenceSet> {
    let bytes = super::read_file(path)?;
    parse_inputs(&path.display().to_string(), &bytes)
}

/// [`parse`] for data to predict on: the header is `sequence,step,<features>` with an
/// optional last column `label`, which is not read (its cells may hold anything); the
/// sequences' labels are 0.
///
/// # Errors
/// As [`parse`], but for the label column.
pub fn parse_inputs(source: &str, bytes: &[u8]) -> Result<SequenceSet> {
    parse_impl(source, bytes, false)
}

fn parse_impl(source: &str, bytes: &[u8], labelled: bool) -> Result<SequenceSet> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            bail!("{source}: the file is empty (expected a header sequence,step,<features>,label)")
        }
        Some(r) => r.with_context(|| format!("{source}: line 1: not CSV text"))?,
    };
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let c = if i == 0 {
                c.trim_start_matches('\u{feff}')
            } else {
                c
            };
            c.trim().to_string()
        })
        .collect();
    let n = names.len();
    let has_label = names.last().is_some_and(|l| l == "label");
    let label_cols = usize::from(has_label);
    if n < 3 + label_cols
        || names[0] != "sequence"
        || names[1] != "step"
        || (labelled && !has_label)
    {
        bail!(
            "{source}: line 1: the header is {:?}; expected sequence,step,<one or more feature \
             columns>{}",
            names.join(","),
            if labelled { ",label" } else { "[,label]" }
        );
    }
    let features: Vec<String> = names[2..n - label_cols].to_vec();
    let f = features.len();
    let mut sequences: Vec<Sequence> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let record = record.with_context(|| format!("{source}: not CSV text"))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|c| c.trim().is_empty()) {
            continue; // a blank line
        }
        if record.len() != n {
            bail!(
                "{source}: line {line}: {} cells, the header has {n} ({})",
                record.len(),
                if record.len() < n {
                    format!(
                        "missing from column {} ({})",
                        record.len() + 1,
                        names[record.len()]
                    )
                } else {
                    format!("extra from column {}", n + 1)
                }
            );
        }
        let cell = |c: usize| record.get(c).unwrap_or_default();
        let at = |c: usize, why: String| {
            anyhow::anyhow!(
                "{source}: line {line}, column {} ({}): {why}",
                c + 1,
                names[c]
            )
        };
        let name = cell(0).trim().to_string();
        let step: usize = cell(1)
            .trim()
            .parse()
            .map_err(|_| at(1, format!("{:?} is not a whole number >= 0", cell(1))))?;
        let mut x = Vec::with_capacity(f);
        for c in 2..n - label_cols {
            x.push(parse_value(cell(c)).map_err(|why| at(c, why))?);
        }
        let label = if labelled {
            f64::from(parse_value(cell(n - 1)).map_err(|why| at(n - 1, why))?)
        } else {
            0.0
        };
        let continues = sequences.last().is_some_and(|s| s.name == name);
        if continues {
            let s = sequences.last_mut().expect("checked");
            if step != s.steps() {
                return Err(at(
                    1,
                    format!(
                        "sequence {name} goes from step {} to step {step}; steps count 0, 1, \
                         2, ... without gaps (sort the file by sequence, then step)",
                        s.steps() - 1
                    ),
                ));
            }
            s.x.extend_from_slice(&x);
            s.labels.push(label);
        } else {
            if !seen.insert(name.clone()) {
                return Err(at(
                    0,
                    format!(
                        "sequence {name} comes back after other sequences; a sequence's rows \
                         must be contiguous (sort the file by sequence, then step)"
                    ),
                ));
            }
            if step != 0 {
                return Err(at(
                    1,
                    format!("sequence {name} starts at step {step}; steps start at 0"),
                ));
            }
            sequences.push(Sequence {
                name,
                x,
                labels: vec![label],
            });
        }
    }
    if sequences.is_empty() {
        bail!("{source}: no data rows after the header");
    }
    Ok(SequenceSet {
        source: source.to_string(),
        features,
        sequences,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        format!("{:#}", parse("d.csv", text.as_bytes()).unwrap_err())
    }

    #[test]
    fn a_long_table_becomes_sequences_of_its_own_lengths() {
        let s = parse(
            "d.csv",
            b"sequence,step,a,b,label\n7,0,1,2,1\n7,1,3,4,1\n\n8,0,5,6,0\n",
        )
        .unwrap();
        assert_eq!(s.features, ["a", "b"]);
        assert_eq!(s.sequences.len(), 2);
        assert_eq!(s.sequences[0].name, "7");
        assert_eq!(s.sequences[0].x, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.sequences[0].labels, [1.0, 1.0]);
        assert_eq!(s.sequences[1].steps(), 1);
    }

    #[test]
    fn bad_tables_are_refused_naming_line_and_column() {
        assert!(err("").contains("empty"));
        assert!(err("sequence,step,label\n").contains("expected sequence,step"));
        assert!(err("seq,step,a,label\n").contains("the header is"));
        assert!(err("sequence,step,a,label\n").contains("no data rows"));
        let e = err("sequence,step,a,label\n0,0,1\n");
        assert!(
            e.contains("line 2") && e.contains("missing from column 4 (label)"),
            "{e}"
        );
        let e = err("sequence,step,a,label\n0,0,1,1,9\n");
        assert!(
            e.contains("line 2") && e.contains("extra from column 5"),
            "{e}"
        );
        let e = err("sequence,step,a,label\n0,0,1,1\n0,1,x,1\n");
        assert!(
            e.contains("line 3, column 3 (a)") && e.contains("not a number"),
            "{e}"
        );
        let e = err("sequence,step,a,label\n0,0,nan,1\n");
        assert!(
            e.contains("column 3 (a)") && e.contains("not a finite"),
            "{e}"
        );
        let e = err("sequence,step,a,label\n0,0,1,inf\n");
        assert!(e.contains("column 4 (label)"), "{e}");
        let e = err("sequence,step,a,label\n0,0,1,1\n0,2,1,1\n");
        assert!(
            e.contains("line 3, column 2 (step)") && e.contains("from step 0 to step 2"),
            "{e}"
        );
        let e = err("sequence,step,a,label\n0,1,1,1\n");
        assert!(e.contains("starts at step 1"), "{e}");
        let e = err("sequence,step,a,label\n0,0,1,1\n1,0,1,1\n0,1,1,1\n");
        assert!(
            e.contains("line 4, column 1 (sequence)") && e.contains("comes back"),
            "{e}"
        );
        let e = err("sequence,step,a,label\n0,-1,1,1\n");
        assert!(e.contains("whole number"), "{e}");
    }

    #[test]
    fn inputs_for_prediction_need_no_label_and_ignore_one() {
        let set = parse_inputs("p.csv", b"sequence,step,a,b\n0,0,1,2\n0,1,3,4\n").unwrap();
        assert_eq!(
            (set.features.len(), set.sequences[0].x.clone()),
            (2, vec![1.0, 2.0, 3.0, 4.0])
        );
        let set = parse_inputs("p.csv", b"sequence,step,a,label\n0,0,1,cat\n").unwrap();
        assert_eq!(set.features, ["a"]);
        let e = format!(
            "{:#}",
            parse("p.csv", b"sequence,step,a,b\n0,0,1,2\n").unwrap_err()
        );
        assert!(
            e.contains("expected sequence,step,<one or more feature columns>,label"),
            "{e}"
        );
        assert!(parse_inputs("p.csv", b"sequence,step\n0,0\n").is_err());
    }
}
