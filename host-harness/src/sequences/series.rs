//! One long series for forecasting: a numeric column of a CSV file with a header (e.g.
//! `../shared/data/airline/series.csv`, `month,passengers`). The column is named with
//! `--column`; without it, the one column whose every cell is a number is taken (a file
//! with several such columns is refused, naming them).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::parse_value;

/// A series of values in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Where it was read from (for messages).
    pub source: String,
    /// The column's name.
    pub column: String,
    /// The values, `[T]`, `T >= 2`.
    pub values: Vec<f32>,
}

/// Reads `column` (or the only numeric column) of the CSV file at `path` ([`parse`]).
///
/// # Errors
/// As [`parse`], the file cannot be read, or it is a `.npy` (sequences, not a series).
pub fn read(path: &Path, column: Option<&str>) -> Result<Series> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        bail!(
            "{}: a series is one column of a CSV file (a .npy holds sequences: drop --column to read it as such)",
            path.display()
        );
    }
    let bytes = super::read_file(path)?;
    parse(&path.display().to_string(), &bytes, column)
}

/// Parses a CSV document with a header and takes one numeric column; `source` names it.
///
/// # Errors
/// Empty input, an unknown `column` (the message lists the columns), no or several numeric
/// columns without `column`, a row with another cell count than the header, a cell of the
/// column that is not a finite `f32` number (line and column named), fewer than 2 values.
pub fn parse(source: &str, bytes: &[u8], column: Option<&str>) -> Result<Series> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{source}: not CSV text"))?;
        if record.len() == 1 && record.get(0).is_some_and(|c| c.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        rows.push((line, record));
    }
    let Some(((_, header), body)) = rows.split_first() else {
        bail!("{source}: the file is empty (expected a header, then one row per time step)");
    };
    let names: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                c.trim_start_matches('\u{feff}').trim()
            } else {
                c.trim()
            }
        })
        .collect();
    for (line, r) in body {
        if r.len() != names.len() {
            bail!(
                "{source}: line {line}: {} cells, the header has {}",
                r.len(),
                names.len()
            );
        }
    }
    let c = match column {
        Some(want) => names.iter().position(|n| *n == want).ok_or_else(|| {
            anyhow::anyhow!(
                "{source}: no column {want:?}; the columns are {}",
                names.join(", ")
            )
        })?,
        None => {
            let numeric: Vec<usize> = (0..names.len())
                .filter(|&c| {
                    !body.is_empty() && body.iter().all(|(_, r)| parse_value(&r[c]).is_ok())
                })
                .collect();
            match numeric[..] {
                [c] => c,
                [] => bail!("{source}: no column holds only numbers; name one with --column"),
                _ => bail!(
                    "{source}: several numeric columns ({}); choose one with --column",
                    numeric
                        .iter()
                        .map(|&c| names[c])
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    let mut values = Vec::with_capacity(body.len());
    for (line, r) in body {
        let v = parse_value(&r[c]).map_err(|why| {
            anyhow::anyhow!(
                "{source}: line {line}, column {} ({}): {why}",
                c + 1,
                names[c]
            )
        })?;
        values.push(v);
    }
    if values.len() < 2 {
        bail!(
            "{source}: {} value(s) in column {}; a forecast needs at least 2",
            values.len(),
            names[c]
        );
    }
    Ok(Series {
        source: source.to_string(),
        column: names[c].to_string(),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AIRLINE_HEAD: &[u8] = b"month,passengers\n1949-01,112\n1949-02,118\n1949-03,132\n";

    #[test]
    fn the_only_numeric_column_is_taken_or_the_named_one() {
        let s = parse("a.csv", AIRLINE_HEAD, None).unwrap();
        assert_eq!(
            (s.column.as_str(), s.values),
            ("passengers", vec![112.0, 118.0, 132.0])
        );
        let s = parse("a.csv", b"a,b\n1,2\n3,4\n", Some("b")).unwrap();
        assert_eq!(s.values, [2.0, 4.0]);
    }

    #[test]
    fn bad_series_are_refused_naming_what_and_where() {
        let e = |b: &[u8], c| format!("{:#}", parse("a.csv", b, c).unwrap_err());
        assert!(e(b"", None).contains("empty"));
        let m = e(AIRLINE_HEAD, Some("pax"));
        assert!(
            m.contains("no column \"pax\"") && m.contains("month, passengers"),
            "{m}"
        );
        assert!(e(b"a,b\n1,2\n3,4\n", None).contains("several numeric columns (a, b)"));
        assert!(e(b"m\nx\n", None).contains("no column holds only numbers"));
        let m = e(b"m,p\n1,2\n2,nan\n", Some("p"));
        assert!(
            m.contains("line 3, column 2 (p)") && m.contains("not a finite"),
            "{m}"
        );
        assert!(e(b"m,p\n1,2\n2\n", Some("p")).contains("line 3: 1 cells"));
        assert!(e(b"p\n2\n", None).contains("at least 2"));
    }
}
