//! Shared test helpers: oracle loading, flattening, tolerance checks that report the worst
//! error, and a seeded random source.

use std::fmt::Display;
use std::path::PathBuf;

use lstm_kernel::Float;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;

/// The dimensions every parity oracle records at its top level (`IN`, `H`, `B`, `T`).
#[derive(serde::Deserialize, Debug, PartialEq, Eq)]
pub struct OracleDims {
    /// Inputs per step.
    #[serde(rename = "IN")]
    pub inputs: usize,
    /// Hidden units.
    #[serde(rename = "H")]
    pub hidden: usize,
    /// Batch rows.
    #[serde(rename = "B")]
    pub batch: usize,
    /// Time steps.
    #[serde(rename = "T")]
    pub steps: usize,
}

impl OracleDims {
    /// Panics unless the oracle has the shape the test's const generics were written for.
    pub fn assert_is(&self, inputs: usize, hidden: usize, batch: usize, steps: usize) {
        let expected = Self {
            inputs,
            hidden,
            batch,
            steps,
        };
        assert_eq!(*self, expected, "oracle dimensions (IN, H, B, T)");
    }
}

/// Reads and parses `testdata/parity/<name>`.
pub fn load_oracle<T: DeserializeOwned>(name: &str) -> T {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata", "parity", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read oracle {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse oracle {}: {e}", path.display()))
}

/// Row-major flattening of a `[rows][cols]` nested list.
pub fn flat2(m: &[Vec<f64>]) -> Vec<f64> {
    m.iter().flatten().copied().collect()
}

/// Converts an `f64` slice to `F` (rounding to nearest for `f32`).
pub fn cast<F: Float>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&x| F::from_f64(x)).collect()
}

/// Converts an `F` slice to `f64` (exact).
pub fn widen<F: Float>(v: &[F]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// `F` array from an `f64` slice of the same length (panics on a length mismatch, which
/// would mean the oracle does not have the shape the test was written for).
pub fn arr<F: Float, const N: usize>(v: &[f64]) -> [F; N] {
    assert_eq!(v.len(), N, "oracle vector has the wrong length");
    core::array::from_fn(|i| F::from_f64(v[i]))
}

/// Element-wise comparison `|got - want| <= atol + rtol·|want|` that records the worst
/// absolute error and every failure, and reports them at [`Compare::finish`].
///
/// A NaN in `got` always fails (the comparison is written so that NaN is not `<=`).
pub struct Compare {
    label: String,
    atol: f64,
    rtol: f64,
    count: usize,
    worst_abs: f64,
    worst_at: String,
    failures: Vec<String>,
}

impl Compare {
    /// A new comparison named `label` with the given tolerances.
    pub fn new(label: impl Into<String>, atol: f64, rtol: f64) -> Self {
        Self {
            label: label.into(),
            atol,
            rtol,
            count: 0,
            worst_abs: 0.0,
            worst_at: String::new(),
            failures: Vec::new(),
        }
    }

    /// Compares one value; `what` names it in failure messages.
    pub fn value(&mut self, what: impl Display, got: f64, want: f64) {
        self.count += 1;
        let diff = (got - want).abs();
        let ok = diff <= self.atol + self.rtol * want.abs();
        if diff.is_nan() || diff > self.worst_abs {
            self.worst_abs = diff;
            self.worst_at = what.to_string();
        }
        if !ok {
            self.failures
                .push(format!("{what}: got {got:e}, want {want:e}, diff {diff:e}"));
        }
    }

    /// Compares two equally long slices element by element.
    pub fn slice(&mut self, what: impl Display, got: &[f64], want: &[f64]) {
        assert_eq!(
            got.len(),
            want.len(),
            "{}: {what}: length {} vs {}",
            self.label,
            got.len(),
            want.len()
        );
        for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
            self.value(format_args!("{what}[{k}]"), g, w);
        }
    }

    /// The worst absolute error seen so far.
    pub fn worst(&self) -> f64 {
        self.worst_abs
    }

    /// Prints the worst error and panics if any value was out of tolerance. Returns the
    /// worst absolute error.
    pub fn finish(self) -> f64 {
        println!(
            "{}: max abs err {:.3e} at {} over {} values (tol {:e} + {:e}·|want|)",
            self.label, self.worst_abs, self.worst_at, self.count, self.atol, self.rtol
        );
        assert!(self.count > 0, "{}: compared nothing", self.label);
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} values out of tolerance (max abs err {:e} at {}); first ones:\n{}",
            self.label,
            self.failures.len(),
            self.count,
            self.worst_abs,
            self.worst_at,
            self.failures[..self.failures.len().min(12)].join("\n")
        );
        self.worst_abs
    }
}

/// A seeded, reproducible random source for test data.
pub struct Rand(ChaCha8Rng);

impl Rand {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A sample of `U(-scale, scale)`.
    pub fn sym(&mut self, scale: f64) -> f64 {
        self.0.random_range(-scale..scale)
    }

    /// Fills `dst` with `U(-scale, scale)` samples converted to `F`.
    pub fn fill<F: Float>(&mut self, dst: &mut [F], scale: f64) {
        for d in dst {
            *d = F::from_f64(self.sym(scale));
        }
    }

    /// An array of `U(-scale, scale)` samples.
    pub fn array<F: Float, const N: usize>(&mut self, scale: f64) -> [F; N] {
        core::array::from_fn(|_| F::from_f64(self.sym(scale)))
    }
}
