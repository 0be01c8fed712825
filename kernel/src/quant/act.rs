//! Gate activations of the integer path: Q3.12 pre-activation in, Q0.15 out
//! ([`GATE_FRAC`], [`UNIT_FRAC`]).
//!
//! - `σ` (sigmoid) and `tanh`: a 513-entry table over `[0, 8]` (step `1/64`) with linear
//!   interpolation between entries, and the symmetries `σ(-z) = 1 - σ(z)`, `tanh(-z) =
//!   -tanh(z)` for negative inputs (TFLite's int16 activations interpolate a 513-entry
//!   table over `[-8, 8]`; folding the table in half makes its step half as wide and the
//!   interpolation error a quarter, for the same 1 KiB per function). The tables are
//!   computed at compile time (`const`, from an `exp` written in `const` arithmetic below),
//!   so there is one definition and no generated file. Inputs at the range's ends
//!   saturate: `σ(±8)` is `1 - 3.4e-4` / `3.4e-4` and `tanh(±8)` is `±(1 - 2e-7)`.
//! - Keras' hard sigmoids are linear: `clip(0.2 z + 0.5, 0, 1)` (Keras 2) and
//!   `clip(z / 6 + 0.5, 0, 1)` (Keras 3), a multiply and a shift.
//!
//! Error over every one of the 65,536 inputs, against the exact function at the input's
//! real value (tests below, exhaustive): sigmoid at most [`SIGMOID_MAX_ERROR`], tanh at
//! most [`TANH_MAX_ERROR`], each hard sigmoid at most 1 unit (`2^-15`).

use super::fixed::{GATE_FRAC, UNIT_FRAC, saturate_i16};
use crate::activation::RecurrentActivation;

/// Table entries: 512 intervals over `[0, 8]`.
const ENTRIES: usize = 513;

/// Bits of a Q3.12 input's magnitude below the table index (`32768 / 512 = 64` inputs per
/// interval).
const INTERVAL_BITS: u32 = 6;

/// Largest |σ error| over all inputs, in units of `2^-15` (measured by the exhaustive
/// test: the bound it asserts).
pub const SIGMOID_MAX_ERROR: f64 = 1.0;

/// Largest |tanh error| over all inputs, in units of `2^-15` (the exhaustive test's bound).
pub const TANH_MAX_ERROR: f64 = 1.6;

/// `e^x` in `const` arithmetic: `x = k ln 2 + r`, `|r| <= ln 2 / 2`, `e^r` by its Taylor
/// series to 20 terms (within `1e-14` relative of libm's, test below), times `2^k`. Only for table building.
const fn exp(x: f64) -> f64 {
    const LN2: f64 = core::f64::consts::LN_2;
    let kf = x / LN2;
    let k = if kf >= 0.0 {
        (kf + 0.5) as i32
    } else {
        -((-kf + 0.5) as i32)
    };
    let r = x - k as f64 * LN2;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = 1;
    while n <= 20 {
        term = term * r / n as f64;
        sum += term;
        n += 1;
    }
    let mut scale = 1.0;
    let mut i = 0;
    while i < k.unsigned_abs() {
        scale *= 2.0;
        i += 1;
    }
    if k >= 0 { sum * scale } else { sum / scale }
}

/// `v · 2^15` rounded half away from zero and clamped to `[-32767, 32767]`.
const fn to_q15(v: f64) -> i16 {
    let s = v * 32768.0;
    let r = if s >= 0.0 {
        (s + 0.5) as i32
    } else {
        -((-s + 0.5) as i32)
    };
    if r > 32767 {
        32767
    } else if r < -32767 {
        -32767
    } else {
        r as i16
    }
}

/// Entry `i` of a table is `f(i / 64)`.
const fn table(tanh: bool) -> [i16; ENTRIES] {
    let mut t = [0i16; ENTRIES];
    let mut i = 0;
    while i < ENTRIES {
        let x = i as f64 / 64.0;
        let v = if tanh {
            1.0 - 2.0 / (exp(2.0 * x) + 1.0)
        } else {
            1.0 / (1.0 + exp(-x))
        };
        t[i] = to_q15(v);
        i += 1;
    }
    t
}

/// `σ(i/64)` in Q0.15.
static SIGMOID: [i16; ENTRIES] = table(false);
/// `tanh(i/64)` in Q0.15.
static TANH: [i16; ENTRIES] = table(true);

/// Linear interpolation in `t` at a Q3.12 magnitude `a` (`0..=32767`).
#[inline(always)]
fn lookup(t: &[i16; ENTRIES], a: i32) -> i32 {
    let i = (a >> INTERVAL_BITS) as usize & 511; // 0..=511 (the mask only tells the compiler)
    let frac = a & ((1 << INTERVAL_BITS) - 1);
    let (lo, hi) = (t[i] as i32, t[i + 1] as i32);
    lo + (((hi - lo) * frac + (1 << (INTERVAL_BITS - 1))) >> INTERVAL_BITS)
}

/// `|z|` as an `i32`, `-32768` taken as `-32767` (its magnitude is not a Q3.12 number).
#[inline(always)]
fn magnitude(z: i16) -> i32 {
    // |z| without a branch (`(z ^ s) - s`, `s` the sign mask), then 32768 (only from
    // -32768) down to 32767: `a - (a >> 15)` (three Thumb-2 instructions in all).
    let (z, s) = (z as i32, (z as i32) >> 31);
    let a = (z ^ s) - s;
    a - (a >> 15)
}

/// `σ(z)`: Q3.12 in, Q0.15 out (`1..=32767`).
#[inline]
pub fn sigmoid(z: i16) -> i16 {
    let s = lookup(&SIGMOID, magnitude(z));
    (if z >= 0 { s } else { 32768 - s }) as i16
}

/// `tanh(z)`: Q3.12 in, Q0.15 out (`-32767..=32767`).
#[inline]
pub fn tanh(z: i16) -> i16 {
    let t = lookup(&TANH, magnitude(z));
    (if z >= 0 { t } else { -t }) as i16
}

/// `clip(slope · z + 1/2, 0, 1)` with `slope = num / 2^15` in Q0.15 per unit of Q3.12
/// (`num = slope_real · 2^(15 - 12) · 2^15`).
#[inline(always)]
fn hard(z: i16, num: i32) -> i16 {
    let y = ((z as i32 * num + (1 << 14)) >> 15) + (1 << (UNIT_FRAC - 1));
    saturate_i16(y.clamp(0, 32767))
}

/// Keras 2's hard sigmoid `clip(0.2 z + 0.5, 0, 1)`: Q3.12 in, Q0.15 out. The slope
/// `0.2 · 8 = 1.6` is `52429 / 2^15` (`1.6000061`).
#[inline]
pub fn hard_sigmoid_keras2(z: i16) -> i16 {
    hard(z, 52429)
}

/// Keras 3's hard sigmoid `relu6(z + 3) / 6 = clip(z / 6 + 0.5, 0, 1)`: Q3.12 in, Q0.15
/// out. The slope `8 / 6` is `43691 / 2^15` (`1.3333435`).
#[inline]
pub fn hard_sigmoid_keras3(z: i16) -> i16 {
    hard(z, 43691)
}

/// The gate activation `σ` of a layer (i, f, o of an LSTM; r, z of a GRU).
#[inline]
pub fn gate(activation: RecurrentActivation, z: i16) -> i16 {
    match activation {
        RecurrentActivation::Sigmoid => sigmoid(z),
        RecurrentActivation::HardSigmoidKeras2 => hard_sigmoid_keras2(z),
        RecurrentActivation::HardSigmoidKeras3 => hard_sigmoid_keras3(z),
    }
}

/// The real value of a Q3.12 number.
pub fn gate_input_value(z: i16) -> f64 {
    z as f64 / (1u32 << GATE_FRAC) as f64
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// The largest error of `f` against `exact` over every `i16` input, in Q0.15 units.
    fn worst(f: fn(i16) -> i16, exact: fn(f64) -> f64) -> f64 {
        (i16::MIN..=i16::MAX)
            .map(|z| (f(z) as f64 - exact(gate_input_value(z)) * 32768.0).abs())
            .fold(0.0, f64::max)
    }

    /// Exhaustive over all 65,536 inputs, against libm in f64. The bounds are the
    /// published constants (a table or interpolation change that loses accuracy fails).
    #[test]
    #[cfg_attr(
        miri,
        ignore = "all 65,536 inputs, four libm calls each: too slow under Miri"
    )]
    fn table_activations_hold_their_stated_error_everywhere() {
        let s = worst(sigmoid, |x| 1.0 / (1.0 + libm::exp(-x)));
        let t = worst(tanh, libm::tanh);
        std::println!("max |error| in 2^-15 units: sigmoid {s:.3}, tanh {t:.3}");
        assert!(s <= SIGMOID_MAX_ERROR, "sigmoid {s}");
        assert!(t <= TANH_MAX_ERROR, "tanh {t}");
        // And they are not trivially loose: a table one step coarser would fail them.
        assert!(s > 0.4 && t > 0.4, "{s} {t}");
    }

    /// Every 251st input (261 of them), so Miri runs the tables' lookups too.
    #[test]
    fn table_activations_hold_their_error_at_strided_inputs() {
        for z in (i16::MIN..=i16::MAX).step_by(251) {
            let x = gate_input_value(z);
            let s = (sigmoid(z) as f64 - 32768.0 / (1.0 + libm::exp(-x))).abs();
            let t = (tanh(z) as f64 - 32768.0 * libm::tanh(x)).abs();
            assert!(
                s <= SIGMOID_MAX_ERROR && t <= TANH_MAX_ERROR,
                "{z}: {s} {t}"
            );
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "all 65,536 inputs: too slow under Miri")]
    fn hard_sigmoids_are_within_one_unit_of_keras() {
        let k2 = worst(hard_sigmoid_keras2, |x| (0.2 * x + 0.5).clamp(0.0, 1.0));
        let k3 = worst(hard_sigmoid_keras3, |x| (x / 6.0 + 0.5).clamp(0.0, 1.0));
        assert!(k2 <= 1.0 && k3 <= 1.0, "{k2} {k3}");
    }

    /// The `const` exp matches libm's to 1e-14 relative over the tables' range.
    #[test]
    #[cfg_attr(miri, ignore = "3,200-point sweep: too slow under Miri")]
    fn const_exp_matches_libm() {
        let mut x = -16.0;
        while x <= 16.0 {
            let (a, b) = (exp(x), libm::exp(x));
            assert!((a - b).abs() <= 1e-14 * b, "{x}: {a} {b}");
            x += 0.01;
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "all 65,536 inputs: too slow under Miri")]
    fn activations_are_monotone_and_odd_or_symmetric() {
        for z in i16::MIN..i16::MAX {
            assert!(
                sigmoid(z) <= sigmoid(z + 1) && tanh(z) <= tanh(z + 1),
                "{z}"
            );
        }
        for z in -32767..=32767i16 {
            assert!((tanh(z) as i32 + tanh(-z) as i32).abs() <= 1, "{z}");
        }
    }
}
