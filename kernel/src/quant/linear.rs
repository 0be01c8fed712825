//! [`QLinear`]: `G` gates of `H` rows of int8 weights over `K` int16 inputs, each row with
//! its own scale (per-output-channel symmetric quantization) and `i32` bias: the matrix
//! product every integer layer is made of (an LSTM's `W_ih` and `W_hh`, a GRU's, the head).
//!
//! A row `r` stands for the real weights `w_r[k] ≈ q_r[k] · s_r / s_in[k]` (`s_in[k]`: the
//! real value of one unit of input `k`), so `Σ_k w_r[k] x_k ≈ s_r · Σ_k q_r[k] x_q[k]`;
//! [`QLinear::row`] returns that sum plus the bias, moved to the caller's output format by
//! the row's [`Multiplier`] `s_r / s_out`. Folding the input scales into the weights before
//! quantizing lets every input channel have its own scale at no cost per step.
//!
//! Ranges: `|q| <= 127` (symmetric: `-128` is not used, as in TFLite), inputs are `i16`,
//! `K <= 256` (so `Σ |q x| < 127 · 32768 · 256 = 2^30` and the bias, at most `2^24` in
//! magnitude, fit an `i32`: no step can overflow).

use super::dot::{Lanes, dot, dot2, dot4};
use super::fixed::Multiplier;

pub use super::dot::MAX_INPUTS;

/// Largest bias magnitude in accumulator units (a row's scale is raised until its bias fits;
/// the int8 file refuses a larger one, [`super::file`]).
pub(crate) const MAX_BIAS: i32 = 1 << 24;

/// Bytes of a [`QLinear`] of `gates · hidden` rows of `inputs` weights at run-time sizes:
/// `size_of::<QLinear<G, H, K>>()` (int8 weights, and per row an `i32` bias and an 8-byte
/// [`Multiplier`], rounded up to the 4-byte alignment). `None` on overflow.
pub const fn qlinear_bytes(gates: usize, hidden: usize, inputs: usize) -> Option<usize> {
    match gates.checked_mul(hidden) {
        Some(rows) => match inputs.checked_add(12) {
            Some(per_row) => match rows.checked_mul(per_row) {
                Some(b) => b.checked_next_multiple_of(4),
                None => None,
            },
            None => None,
        },
        None => None,
    }
}

/// `G · H` rows of `K` int8 weights with per-row multipliers and biases.
///
/// Layout: `q[gate][unit][input]` (row-major rows, so a row's dot product reads contiguous
/// bytes), `m[gate][unit]`, `bias[gate][unit]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QLinear<const G: usize, const H: usize, const K: usize> {
    /// Weights, `[G][H][K]`, each in `-127..=127`.
    pub q: [[[i8; K]; H]; G],
    /// Per-row multiplier from accumulator units to the output format, `[G][H]`.
    pub m: [[Multiplier; H]; G],
    /// Per-row bias in accumulator units, `[G][H]`, `|bias| <= 2^24`.
    pub bias: [[i32; H]; G],
}

/// Why a tensor could not be quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// A weight, bias or scale is NaN or infinite: `(gate, unit)` of the row.
    NonFinite {
        /// The gate (row group).
        gate: usize,
        /// The unit (row in its group).
        unit: usize,
    },
    /// A row's multiplier is outside what [`Multiplier`] holds (`>= 2^30`): the output
    /// format is far finer than the row's values.
    ScaleOutOfRange {
        /// The gate (row group).
        gate: usize,
        /// The unit (row in its group).
        unit: usize,
    },
    /// An input scale is not a positive finite number: input `index`.
    InputScale {
        /// The input channel.
        index: usize,
    },
}

impl core::fmt::Display for QuantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::NonFinite { gate, unit } => write!(
                f,
                "a weight or bias of gate {gate}, unit {unit} is NaN or infinite"
            ),
            Self::ScaleOutOfRange { gate, unit } => write!(
                f,
                "gate {gate}, unit {unit}: its scale is out of the multiplier's range"
            ),
            Self::InputScale { index } => {
                write!(f, "input scale {index} is not a positive finite number")
            }
        }
    }
}

impl<const G: usize, const H: usize, const K: usize> QLinear<G, H, K> {
    /// Everything zero.
    pub const fn zeroed() -> Self {
        Self {
            q: [[[0; K]; H]; G],
            m: [[Multiplier::ZERO; H]; G],
            bias: [[0; H]; G],
        }
    }

    /// Quantizes real rows: `w(gate, unit, k)` is the weight from input `k`, `b(gate,
    /// unit)` the bias (in the output's real units), `s_in[k]` the real value of one unit
    /// of input `k`, `s_out` the real value of one unit of the output format. Each row's
    /// scale is `max_k |w · s_in[k]| / 127`, raised where needed so the bias fits
    /// (`|b| / scale <= 2^24`); weights and bias are rounded to nearest.
    ///
    /// # Errors
    /// [`QuantError`] naming the row or input whose value or scale is not finite or not
    /// representable.
    pub fn quantize(
        w: impl Fn(usize, usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
        s_in: &[f32; K],
        s_out: f64,
    ) -> Result<Self, QuantError> {
        let mut out = Self::zeroed();
        out.quantize_into(w, b, s_in, s_out)?;
        Ok(out)
    }

    /// [`Self::quantize`] in place: overwrites every row of `self` (no copy of the
    /// parameters on the stack, for a device that quantizes into a `static`). On an error
    /// `self` holds the rows before the failing one and must not be used.
    ///
    /// # Errors
    /// As [`Self::quantize`].
    pub fn quantize_into(
        &mut self,
        w: impl Fn(usize, usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
        s_in: &[f32; K],
        s_out: f64,
    ) -> Result<(), QuantError> {
        let () = Self::FITS;
        if let Some(index) = s_in.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(QuantError::InputScale { index });
        }
        for gate in 0..G {
            for unit in 0..H {
                let bad = QuantError::NonFinite { gate, unit };
                let bias = b(gate, unit) as f64;
                let mut peak = 0.0f64;
                for k in 0..K {
                    let v = w(gate, unit, k) as f64 * s_in[k] as f64;
                    if !v.is_finite() {
                        return Err(bad);
                    }
                    peak = peak.max(v.abs());
                }
                if !bias.is_finite() {
                    return Err(bad);
                }
                let scale = (peak / 127.0).max(bias.abs() / f64::from(MAX_BIAS));
                let row = &mut self.q[gate][unit];
                if scale == 0.0 {
                    // An all-zero row: zero weights, bias and multiplier.
                    *row = [0; K];
                    self.bias[gate][unit] = 0;
                    self.m[gate][unit] = Multiplier::ZERO;
                    continue;
                }
                for k in 0..K {
                    let v = w(gate, unit, k) as f64 * s_in[k] as f64 / scale;
                    row[k] = libm::round(v).clamp(-127.0, 127.0) as i8;
                }
                self.bias[gate][unit] = libm::round(bias / scale) as i32;
                self.m[gate][unit] = Multiplier::from_scale(scale / s_out)
                    .ok_or(QuantError::ScaleOutOfRange { gate, unit })?;
            }
        }
        Ok(())
    }

    /// Compile-time check of the accumulator bound.
    const FITS: () = assert!(K <= MAX_INPUTS, "QLinear: at most 256 inputs per row");

    /// Row `(gate, unit)`: `bias + Σ_k q[k] · x[k]` in accumulator units (exact; cannot
    /// overflow, see the module docs), the inputs in [`Lanes`] order ([`super::dot`]).
    #[inline(always)]
    pub fn acc(&self, gate: usize, unit: usize, x: &Lanes<K>) -> i32 {
        self.bias[gate][unit] + dot(&self.q[gate][unit], x)
    }

    /// Row `(gate, unit)` in the output format: [`Self::acc`] times the row's multiplier.
    #[inline(always)]
    pub fn row(&self, gate: usize, unit: usize, x: &Lanes<K>) -> i32 {
        self.m[gate][unit].apply(self.acc(gate, unit, x))
    }

    /// Rows `(gate, unit..unit + 4)` in the output format ([`Self::row`] of each), the four
    /// dot products sharing the loads of `x` ([`dot4`]: the rows are adjacent in memory).
    /// `None` if `gate >= G` or `unit + 4 > H` (callers ask only for rows that exist).
    #[inline(always)]
    pub fn row_quad(&self, gate: usize, unit: usize, x: &Lanes<K>) -> Option<[i32; 4]> {
        let q = self.q.get(gate)?.get(unit..)?.first_chunk::<4>()?;
        let m = self.m.get(gate)?.get(unit..)?.first_chunk::<4>()?;
        let bias = self.bias.get(gate)?.get(unit..)?.first_chunk::<4>()?;
        let s = dot4(q, x);
        Some([
            m[0].apply(bias[0] + s[0]),
            m[1].apply(bias[1] + s[1]),
            m[2].apply(bias[2] + s[2]),
            m[3].apply(bias[3] + s[3]),
        ])
    }

    /// Rows `(gate, unit)` and `(gate + 1, unit)` in the output format ([`Self::row`] of
    /// each), the two dot products sharing the loads of `x` ([`dot2`]). Panics if
    /// `gate + 1 >= G` or `unit >= H` (callers index with constants and loop bounds).
    #[inline(always)]
    pub fn row_pair(&self, gate: usize, unit: usize, x: &Lanes<K>) -> [i32; 2] {
        let [a, b] = dot2(&self.q[gate][unit], &self.q[gate + 1][unit], x);
        [
            self.m[gate][unit].apply(self.bias[gate][unit] + a),
            self.m[gate + 1][unit].apply(self.bias[gate + 1][unit] + b),
        ]
    }

    /// The rows as flat slices, `[G·H]` rows in `[gate][unit]` order (PyTorch's `weight_ih`
    /// row order) of `K` weights each: what [`super::file`] reads and writes.
    pub fn rows(&self) -> QRows<'_> {
        QRows {
            inputs: K,
            q: self.q.as_flattened().as_flattened(),
            m: self.m.as_flattened(),
            bias: self.bias.as_flattened(),
        }
    }

    /// [`Self::rows`], writable.
    pub fn rows_mut(&mut self) -> QRowsMut<'_> {
        QRowsMut {
            inputs: K,
            q: self.q.as_flattened_mut().as_flattened_mut(),
            m: self.m.as_flattened_mut(),
            bias: self.bias.as_flattened_mut(),
        }
    }

    /// Bytes of the parameters in memory (flash, for a `static`): about `G · H · (K + 12)`
    /// (int8 weights; per row an `i32` bias and a multiplier, an `i32` mantissa and a shift
    /// byte padded to 8).
    pub const BYTES: usize = core::mem::size_of::<Self>();
}

/// The rows of a [`QLinear`] at run-time sizes: `rows = m.len() = bias.len()` rows of
/// `inputs` weights, `q` row-major (`[rows][inputs]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QRows<'a> {
    /// Weights per row (`K`).
    pub inputs: usize,
    /// Weights, `[rows][inputs]`.
    pub q: &'a [i8],
    /// Per-row multipliers, `[rows]`.
    pub m: &'a [Multiplier],
    /// Per-row biases, `[rows]`.
    pub bias: &'a [i32],
}

/// [`QRows`], writable.
#[derive(Debug, PartialEq, Eq)]
pub struct QRowsMut<'a> {
    /// Weights per row (`K`).
    pub inputs: usize,
    /// Weights, `[rows][inputs]`.
    pub q: &'a mut [i8],
    /// Per-row multipliers, `[rows]`.
    pub m: &'a mut [Multiplier],
    /// Per-row biases, `[rows]`.
    pub bias: &'a mut [i32],
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quantized row reproduces the real dot product to the rounding of its weights
    /// (half a unit of `scale` per weight) plus half an output unit.
    #[test]
    fn rows_reproduce_the_real_product() {
        let w = |g: usize, u: usize, k: usize| ((g * 7 + u * 3 + k) % 11) as f32 * 0.13 - 0.6;
        let b = |g: usize, u: usize| (g as f32 - u as f32) * 0.05;
        let s_in = [1.0 / 32768.0, 2.0 / 32768.0, 0.5 / 32768.0];
        let s_out = 1.0 / 4096.0;
        let q = QLinear::<2, 3, 3>::quantize(w, b, &s_in, s_out).unwrap();
        let x = [12000i16, -30000, 32767];
        for g in 0..2 {
            for u in 0..3 {
                let real: f64 = (0..3)
                    .map(|k| w(g, u, k) as f64 * x[k] as f64 * s_in[k] as f64)
                    .sum::<f64>()
                    + b(g, u) as f64;
                let got = q.row(g, u, &Lanes::new(&x)) as f64 * s_out;
                let peak = (0..3)
                    .map(|k| (w(g, u, k) as f64 * s_in[k] as f64).abs())
                    .fold(0.0, f64::max);
                let bound = 3.0 * 0.5 * peak / 127.0 * 32768.0 + 0.5 * s_out + 1e-9;
                assert!((got - real).abs() <= bound, "{g} {u}: {got} {real} {bound}");
            }
        }
    }

    #[test]
    fn the_run_time_byte_count_is_the_types_size() {
        assert_eq!(qlinear_bytes(4, 10, 1), Some(QLinear::<4, 10, 1>::BYTES));
        assert_eq!(qlinear_bytes(4, 10, 10), Some(QLinear::<4, 10, 10>::BYTES));
        assert_eq!(qlinear_bytes(3, 7, 5), Some(QLinear::<3, 7, 5>::BYTES));
        assert_eq!(qlinear_bytes(1, 3, 1), Some(QLinear::<1, 3, 1>::BYTES));
        assert_eq!(qlinear_bytes(usize::MAX, 2, 1), None);
    }

    #[test]
    fn bad_values_are_named() {
        let s_in = [1.0f32; 2];
        let nan = QLinear::<1, 2, 2>::quantize(
            |_, u, _| if u == 1 { f32::NAN } else { 0.5 },
            |_, _| 0.0,
            &s_in,
            1.0 / 4096.0,
        );
        assert_eq!(nan, Err(QuantError::NonFinite { gate: 0, unit: 1 }));
        let scale = QLinear::<1, 1, 2>::quantize(|_, _, _| 0.5, |_, _| 0.0, &[1.0, 0.0], 1.0);
        assert_eq!(scale, Err(QuantError::InputScale { index: 1 }));
        let fine = QLinear::<1, 1, 2>::quantize(|_, _, _| 1e6, |_, _| 0.0, &s_in, 1e-30);
        assert_eq!(fine, Err(QuantError::ScaleOutOfRange { gate: 0, unit: 0 }));
    }
}
