//! The NumPy trio: `X [N, T_max, F]` (float32, or float64 within the `f32` range),
//! `lengths [N]` (any integer type, `1..=T_max`), and `y [N]` (one label per sequence) or
//! `[N, T_max]` (one per step), any integer or float type; C order, as `np.save` writes
//! it. The steps after each sequence's length are padding: never read.
//!
//! On disk the three files are found by name from the `X` file: `X_<name>.npy` goes with
//! `lengths_<name>.npy` and `y_<name>.npy` (`X.npy` with `lengths.npy`, `y.npy`), the
//! layout of `../shared/data/*/`.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use npyz::{DType, NpyFile, Order, TypeChar};

use super::{Sequence, SequenceSet};

/// The `lengths` and `y` files that go with the `X` file `x` (see the module docs).
///
/// # Errors
/// `x`'s file name is not `X.npy` or `X_<name>.npy`.
pub fn companions(x: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = x.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let Some(rest) = name.strip_prefix('X').filter(|r| r.ends_with(".npy")) else {
        bail!(
            "{}: an .npy data set is named by its X file, X.npy or X_<name>.npy (with \
             lengths_<name>.npy and y_<name>.npy beside it)",
            x.display()
        );
    };
    Ok((
        x.with_file_name(format!("lengths{rest}")),
        x.with_file_name(format!("y{rest}")),
    ))
}

/// Reads the trio whose `X` file is `x` ([`companions`], [`parse`]).
///
/// # Errors
/// As [`companions`] and [`parse`], or a file cannot be read.
pub fn read(x: &Path) -> Result<SequenceSet> {
    let (lengths, y) = companions(x)?;
    let bytes = |p: &Path| super::read_file(p);
    // The set's name carries the labels' file too, so a bad label is traced to it.
    parse(
        &format!("{} (labels {})", x.display(), y.display()),
        [
            (&*x.display().to_string(), &bytes(x)?[..]),
            (&*lengths.display().to_string(), &bytes(&lengths)?[..]),
            (&*y.display().to_string(), &bytes(&y)?[..]),
        ],
    )
}

/// Parses the trio from `[(name, bytes); 3]` in the order `X`, `lengths`, `y`; `source`
/// names the set.
///
/// # Errors
/// A file that is not `.npy`, is in Fortran order, has a dtype other than the module docs
/// allow, a shape that disagrees with the others, more values declared than it holds, a
/// length outside `1..=T_max`, or a non-finite value (named with its sequence and step).
pub fn parse(source: &str, files: [(&str, &[u8]); 3]) -> Result<SequenceSet> {
    let [(xn, xb), (ln, lb), (yn, yb)] = files;
    let (xs, x) = floats(xn, xb)?;
    let [n, t_max, f] = xs[..] else {
        bail!("{xn}: X has shape {xs:?}; expected [N, T_max, F]");
    };
    if n == 0 || t_max == 0 || f == 0 {
        bail!("{xn}: X has shape {xs:?}: no data");
    }
    let (ls, lengths) = numbers(ln, lb)?;
    if ls != [n] {
        bail!("{ln}: lengths has shape {ls:?}; expected [{n}] (N of {xn})");
    }
    let (ys, y) = numbers(yn, yb)?;
    let per_step = match ys[..] {
        [m] if m == n => false,
        [m, t] if m == n && t == t_max => true,
        _ => bail!("{yn}: y has shape {ys:?}; expected [{n}] or [{n}, {t_max}]"),
    };
    let mut sequences = Vec::with_capacity(n);
    for i in 0..n {
        let len = lengths[i];
        if len.fract() != 0.0 || len < 1.0 || len > t_max as f64 {
            bail!("{ln}: lengths[{i}] = {len}: a length is a whole number in 1..={t_max}");
        }
        let len = len as usize;
        let row = &x[i * t_max * f..(i * t_max + len) * f];
        if let Some(k) = row.iter().position(|v| !v.is_finite()) {
            bail!(
                "{xn}: X[{i}, {}, {}] = {}: not a finite f32",
                k / f,
                k % f,
                row[k]
            );
        }
        let labels: Vec<f64> = if per_step {
            y[i * t_max..i * t_max + len].to_vec()
        } else {
            vec![y[i]; len]
        };
        if let Some(t) = labels.iter().position(|v| !v.is_finite()) {
            bail!("{yn}: the label of sequence {i} (step {t}) is not finite");
        }
        sequences.push(Sequence {
            name: i.to_string(),
            x: row.to_vec(),
            labels,
        });
    }
    Ok(SequenceSet {
        source: source.to_string(),
        features: (0..f).map(|k| format!("f{k}")).collect(),
        sequences,
    })
}

/// An `.npy` file opened over its bytes.
type Npy<'a> = NpyFile<Cursor<&'a [u8]>>;

/// An opened `.npy` file, its shape and its element type, checked: C order, a plain
/// numeric dtype, and no more values declared than the bytes hold (before any allocation).
fn open<'a>(name: &str, bytes: &'a [u8]) -> Result<(Npy<'a>, Vec<usize>)> {
    let file = NpyFile::new(Cursor::new(bytes))
        .with_context(|| format!("{name}: not a NumPy .npy file"))?;
    if file.order() == Order::Fortran {
        bail!("{name}: Fortran order; save a C-order array (np.ascontiguousarray)");
    }
    let DType::Plain(ts) = file.dtype() else {
        bail!("{name}: a structured dtype; expected a plain numeric array");
    };
    let size = ts.num_bytes().unwrap_or(0);
    let shape: Vec<usize> = file
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match count.and_then(|c| c.checked_mul(size)) {
        Some(b) if b <= bytes.len() => Ok((file, shape)),
        _ => bail!(
            "{name}: its header declares shape {shape:?} of {ts}, more than the file's {} bytes hold",
            bytes.len()
        ),
    }
}

/// The values of a float array (`f4`, or `f8` within the `f32` range) and its shape.
fn floats(name: &str, bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    let (file, shape) = open(name, bytes)?;
    let DType::Plain(ts) = file.dtype() else {
        unreachable!("open checked a plain dtype")
    };
    let bad = |e: std::io::Error| anyhow::anyhow!("{name}: cannot read its values: {e}");
    let values = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => file.into_vec::<f32>().map_err(bad)?,
        (TypeChar::Float, 8) => {
            let v = file.into_vec::<f64>().map_err(bad)?;
            if let Some(i) = v.iter().position(|x| x.abs() > f64::from(f32::MAX)) {
                bail!("{name}: value {i} ({}) is beyond the f32 range", v[i]);
            }
            v.into_iter().map(|x| x as f32).collect()
        }
        _ => bail!("{name}: dtype {ts}; expected float32 (<f4) or float64 (<f8)"),
    };
    Ok((shape, values))
}

/// The values of any integer or float array as `f64`, and its shape.
fn numbers(name: &str, bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>)> {
    let (file, shape) = open(name, bytes)?;
    let DType::Plain(ts) = file.dtype() else {
        unreachable!("open checked a plain dtype")
    };
    let bad = |e: std::io::Error| anyhow::anyhow!("{name}: cannot read its values: {e}");
    macro_rules! as_f64 {
        ($t:ty) => {
            file.into_vec::<$t>()
                .map_err(bad)?
                .into_iter()
                .map(|v| v as f64)
                .collect()
        };
    }
    let values: Vec<f64> = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Int, 1) => as_f64!(i8),
        (TypeChar::Int, 2) => as_f64!(i16),
        (TypeChar::Int, 4) => as_f64!(i32),
        (TypeChar::Int, 8) => as_f64!(i64),
        (TypeChar::Uint, 1) => as_f64!(u8),
        (TypeChar::Uint, 2) => as_f64!(u16),
        (TypeChar::Uint, 4) => as_f64!(u32),
        (TypeChar::Uint, 8) => as_f64!(u64),
        (TypeChar::Float, 4) => as_f64!(f32),
        (TypeChar::Float, 8) => as_f64!(f64),
        _ => bail!("{name}: dtype {ts}; expected an integer or float array"),
    };
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/basic_motions")
            .join(name)
    }

    /// BasicMotions' training split (copied from ../shared/data/basic_motions, md5 in its
    /// README) as .npy and, for its first two sequences, as long CSV: the two readers give
    /// the same sequences, bit for bit (the CSV's shortest round-trip decimals of the same
    /// float32 values).
    #[test]
    fn basic_motions_reads_the_same_from_npy_and_csv() {
        let npy = read(&testdata("X_train.npy")).unwrap();
        assert_eq!((npy.sequences.len(), npy.feature_count()), (40, 6));
        assert!(npy.sequences.iter().all(|s| s.steps() == 100));
        let (classes, k) = npy.classes(16).unwrap();
        assert_eq!(k, 4);
        assert_eq!(classes.iter().filter(|c| c[0] == 0).count(), 10);
        let csv = super::super::csv_long::read(&testdata("train-first2.csv")).unwrap();
        assert_eq!(csv.sequences.len(), 2);
        for (a, b) in csv.sequences.iter().zip(&npy.sequences) {
            assert_eq!(a.labels, b.labels);
            assert_eq!(a.x, b.x, "sequence {}", a.name);
        }
    }

    #[test]
    fn companion_files_are_found_by_name() {
        let (l, y) = companions(Path::new("d/X_train.npy")).unwrap();
        assert_eq!(
            (l, y),
            ("d/lengths_train.npy".into(), "d/y_train.npy".into())
        );
        let (l, _) = companions(Path::new("X.npy")).unwrap();
        assert_eq!(l, PathBuf::from("lengths.npy"));
        let e = format!("{:#}", companions(Path::new("train.npy")).unwrap_err());
        assert!(e.contains("X_<name>.npy"), "{e}");
    }

    /// An `.npy` file of `shape` with `descr` (e.g. `<f4`) and raw little-endian `data`.
    fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn i32s(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn trio(x: &[u8], l: &[u8], y: &[u8]) -> Result<SequenceSet> {
        parse("t", [("X", x), ("lengths", l), ("y", y)])
    }

    #[test]
    fn padding_is_not_read_and_bad_arrays_are_refused_by_name() {
        // N = 2, T_max = 3, F = 1; the second sequence has 2 steps and a NaN in its padding.
        let x = npy_bytes(
            "<f4",
            "(2, 3, 1)",
            &f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, f32::NAN]),
        );
        let l = npy_bytes("<i4", "(2,)", &i32s(&[3, 2]));
        let y = npy_bytes(
            "<i8",
            "(2,)",
            &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
        );
        let s = trio(&x, &l, &y).unwrap();
        assert_eq!(s.sequences[1].x, [4.0, 5.0]);
        assert_eq!(s.sequences[1].labels, [2.0, 2.0]);

        let e = |r: Result<SequenceSet>| format!("{:#}", r.unwrap_err());
        let long = npy_bytes("<i4", "(2,)", &i32s(&[3, 4]));
        assert!(e(trio(&x, &long, &y)).contains("lengths[1] = 4"));
        let nan = npy_bytes(
            "<f4",
            "(2, 3, 1)",
            &f32s(&[1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0]),
        );
        assert!(e(trio(&nan, &l, &y)).contains("X[0, 1, 0]"));
        let y3 = npy_bytes("<i4", "(3,)", &i32s(&[0, 0, 0]));
        assert!(e(trio(&x, &l, &y3)).contains("expected [2] or [2, 3]"));
        let x2 = npy_bytes("<f4", "(2, 3)", &f32s(&[0.0; 6]));
        assert!(e(trio(&x2, &l, &y)).contains("expected [N, T_max, F]"));
        let lie = npy_bytes("<f4", "(1000000, 1000, 1000)", &f32s(&[0.0; 6]));
        assert!(e(trio(&lie, &l, &y)).contains("more than the file's"));
        let text = npy_bytes("<U3", "(2, 3, 1)", &[0; 72]);
        assert!(e(trio(&text, &l, &y)).contains("expected float32"));
        assert!(e(trio(b"not numpy", &l, &y)).contains("not a NumPy .npy file"));
        let per_step = npy_bytes("<f4", "(2, 3)", &f32s(&[0.5, 0.25, 0.0, 1.0, 2.0, 9.0]));
        assert_eq!(
            trio(&x, &l, &per_step).unwrap().sequences[1].labels,
            [1.0, 2.0]
        );
    }
}
