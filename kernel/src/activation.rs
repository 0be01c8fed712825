//! Activation maths: the recurrent activation `σ` of gates i, f, o (a per-layer model
//! choice, [`RecurrentActivation`]), how `σ` and `tanh` are evaluated ([`Maths`]), the
//! functions themselves ([`Activate`], one name each, for a scalar and for every SIMD lane)
//! and the compile-time policies the cell kernels are monomorphised over ([`Policy`]).
//!
//! Layer: above the numerics ([`crate::real`], [`crate::lane`]), below every kernel. The
//! names and codes of the activations (files, CLI, generated Rust) are defined here once
//! ([`RecurrentActivation::name`], [`RecurrentActivation::code`], [`Maths::name`]).
//!
//! Every function is paired with its derivative written in terms of its *output*
//! (`σ' = s(1 - s)`, `tanh' = 1 - t²`), which is what BPTT reads back from the tape.
//! All functions saturate to their limits for huge or infinite inputs and propagate NaN
//! (they never turn NaN into a plausible value).
//!
//! | function | `f32` and SIMD lanes | `f64` |
//! |---|---|---|
//! | [`Activate::sigmoid_exact`] | one Cephes-style `e^x` (`exp_parts`), `< 3e-7` from libm | [`reference::sigmoid`] (libm) |
//! | [`Activate::tanh_exact`] | `expm1(-2|x|) / (expm1(-2|x|) + 2)`, sign restored, `< 3e-7` | libm `tanh` |
//! | [`Activate::sigmoid_fast`] | `num / (num + den)`, `e^x ≈ num / den` (`exp2_pade`), `< 7e-7` | the `f32` formula, widened |
//! | [`Activate::tanh_fast`] | `(num - den) / (num + den)`, `< 1.25e-6` | the `f32` formula, widened |
//! | [`Activate::hard_sigmoid`] | `clip(slope x + offset, 0, 1)` | same |

use crate::lane::{Lane, ROUND_MAGIC};
use crate::real::Real;

/// The activation applied to gates i, f and o.
///
/// | variant | formula | source | [`name`](Self::name) | [`code`](Self::code) |
/// |---|---|---|---|---|
/// | `Sigmoid` | `1 / (1 + e^-x)` | PyTorch `nn.LSTM`; Keras 2/3 default | `sigmoid` | 0 |
/// | `HardSigmoidKeras2` | `clip(0.2 x + 0.5, 0, 1)` | Keras 1/2 `hard_sigmoid` (the blog post's default) | `hard-sigmoid-keras2` | 1 |
/// | `HardSigmoidKeras3` | `relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)` | Keras 3 `hard_sigmoid` | `hard-sigmoid-keras3` | 2 |
///
/// The Keras 3.15 oracle in `kernel/testdata/parity/keras_lstm_forward.json` uses `HardSigmoidKeras3`; its
/// `keras1_hard_sigmoid_numpy` block checks `HardSigmoidKeras2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecurrentActivation {
    /// The logistic sigmoid.
    #[default]
    Sigmoid,
    /// Keras 1/2 hard sigmoid, slope 0.2, saturating at `|x| >= 2.5`.
    HardSigmoidKeras2,
    /// Keras 3 hard sigmoid, slope 1/6, saturating at `|x| >= 3`.
    HardSigmoidKeras3,
}

impl RecurrentActivation {
    /// Every variant, in declaration (and code) order.
    pub const ALL: [Self; 3] = [
        Self::Sigmoid,
        Self::HardSigmoidKeras2,
        Self::HardSigmoidKeras3,
    ];

    /// The name used in files (safetensors metadata), on the command line and in reports:
    /// `sigmoid`, `hard-sigmoid-keras2`, `hard-sigmoid-keras3`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::HardSigmoidKeras2 => "hard-sigmoid-keras2",
            Self::HardSigmoidKeras3 => "hard-sigmoid-keras3",
        }
    }

    /// The variant named `name` ([`Self::name`]); `None` for any other string (Keras'
    /// own `hard_sigmoid` is ambiguous between the Keras 2 and Keras 3 formulas, so it is
    /// not a name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The Rust path of the variant's name inside the enum (`Sigmoid`, ...), for generated
    /// source.
    pub const fn variant(self) -> &'static str {
        match self {
            Self::Sigmoid => "Sigmoid",
            Self::HardSigmoidKeras2 => "HardSigmoidKeras2",
            Self::HardSigmoidKeras3 => "HardSigmoidKeras3",
        }
    }

    /// The byte that stands for the variant in the binary model file ([`crate::io`]).
    pub const fn code(self) -> u8 {
        match self {
            Self::Sigmoid => 0,
            Self::HardSigmoidKeras2 => 1,
            Self::HardSigmoidKeras3 => 2,
        }
    }

    /// The variant of a file code ([`Self::code`]); `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Sigmoid),
            1 => Some(Self::HardSigmoidKeras2),
            2 => Some(Self::HardSigmoidKeras3),
            _ => None,
        }
    }

    /// `(slope, offset)` of a hard sigmoid `clip(slope x + offset, 0, 1)`; `None` for `Sigmoid`.
    #[inline]
    pub const fn hard_slope(self) -> Option<(f64, f64)> {
        match self {
            Self::Sigmoid => None,
            Self::HardSigmoidKeras2 => Some((0.2, 0.5)),
            Self::HardSigmoidKeras3 => Some((1.0 / 6.0, 0.5)),
        }
    }

    /// Applies the activation to one value, the sigmoid evaluated exactly. Output in
    /// `[0, 1]`; NaN stays NaN.
    #[inline]
    pub fn apply<A: Activate>(self, x: A) -> A {
        self.apply_with(Maths::Exact, x)
    }

    /// [`Self::apply`] with the sigmoid evaluated under `maths` (hard sigmoids are exact
    /// either way).
    #[inline]
    pub fn apply_with<A: Activate>(self, maths: Maths, x: A) -> A {
        match self.hard_slope() {
            None => maths.sigmoid(x),
            Some((slope, offset)) => x.hard_sigmoid(slope, offset),
        }
    }

    /// The derivative at the input that produced output `y = self.apply(x)`.
    ///
    /// `y(1 - y)` for the sigmoid; the slope inside `(0, 1)` and `0` in the clipped region
    /// for hard sigmoids (the subgradient TensorFlow and PyTorch use at the kinks).
    #[inline]
    pub fn derivative_from_output<F: Real>(self, y: F) -> F {
        match self.hard_slope() {
            None => y * (F::ONE - y),
            Some((slope, _)) => {
                if y > F::ZERO && y < F::ONE {
                    F::from_f64(slope)
                } else {
                    F::ZERO
                }
            }
        }
    }
}

/// How the transcendental activations (`σ`, `tanh`) are evaluated. A model choice, set per
/// layer (`Lstm::with_maths`); [`Maths::Exact`] is the default.
///
/// | variant | tanh | sigmoid | max abs error vs libm (whole `f32` range) |
/// |---|---|---|---|
/// | `Exact` | [`Activate::tanh_exact`] | [`Activate::sigmoid_exact`] | `f32`: [`EXP_ACTIVATION_MAX_ERROR`] (`< 3e-7`); `f64`: `0` |
/// | `Fast` | [`Activate::tanh_fast`] | [`Activate::sigmoid_fast`] | [`FAST_TANH_MAX_ERROR`] (`1.25e-6`), [`FAST_SIGMOID_MAX_ERROR`] (`7e-7`) |
///
/// `Exact` on `f32` is one Cephes-style `e^x` (range reduction + degree-6 polynomial, no libm
/// call) per activation, the same definition for a scalar and for each SIMD lane; the libm
/// functions in [`reference`](mod@reference) stay the specification the bounds are tested against (over
/// the whole `f32` range), and are what `Exact` means for `f64` (the gradient checks).
///
/// `Fast` writes `e^x = 2^n 2^f` (`n` an integer, `|f| <= 1/2`) and `2^f` as a tuned [2/2]
/// rational (`exp2_pade`), kept as a ratio `num / den` so each activation costs one
/// division and no polynomial beyond degree 2: about 2/3 of the instructions of `Exact` on a
/// Cortex-M4F (`docs/embedded.md`), and its absolute (not relative) error is what it bounds.
///
/// Both saturate for huge and infinite inputs (`±1` for tanh, `1` for the sigmoid at `+inf`
/// exactly; the sigmoid at `-inf` is `0` for `Exact`, below `7.6e-37` for `Fast`) and
/// propagate NaN. The scalar reference kernels implement the same `Fast` formulas, so SIMD and scalar
/// agree to rounding for either choice. Backward passes use the derivative written in terms
/// of the (approximate) output, `s (1 - s)` and `1 - t²`, for both. Hard-sigmoid recurrent
/// activations are exact piecewise-linear functions and ignore this choice; it then affects
/// only the `tanh`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Maths {
    /// Accurate activations (the default).
    #[default]
    Exact,
    /// Power-of-two range reduction and a [2/2] rational: no `exp`, no polynomial beyond
    /// degree 2, one division each.
    Fast,
}

impl Maths {
    /// Both variants, in code order.
    pub const ALL: [Self; 2] = [Self::Exact, Self::Fast];

    /// The name used in files, on the command line and in reports: `exact`, `fast`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Fast => "fast",
        }
    }

    /// The variant named `name`; `None` otherwise.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The Rust name of the variant inside the enum (`Exact`, `Fast`), for generated source.
    pub const fn variant(self) -> &'static str {
        match self {
            Self::Exact => "Exact",
            Self::Fast => "Fast",
        }
    }

    /// The byte that stands for the variant in the binary model file (0 exact, 1 fast).
    pub const fn code(self) -> u8 {
        match self {
            Self::Exact => 0,
            Self::Fast => 1,
        }
    }

    /// The variant of a file code; `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Exact),
            1 => Some(Self::Fast),
            _ => None,
        }
    }

    /// `tanh(x)` under this policy.
    #[inline]
    pub fn tanh<A: Activate>(self, x: A) -> A {
        match self {
            Self::Exact => x.tanh_exact(),
            Self::Fast => x.tanh_fast(),
        }
    }

    /// The logistic sigmoid under this policy.
    #[inline]
    pub fn sigmoid<A: Activate>(self, x: A) -> A {
        match self {
            Self::Exact => x.sigmoid_exact(),
            Self::Fast => x.sigmoid_fast(),
        }
    }
}

/// The activation functions, on a scalar (`f32`, `f64`) or on a vector of lanes (`f32x8`,
/// `f32x16`): one definition per function, shared by the scalar and SIMD kernels. Error
/// bounds (whole `f32` range, tested): see the [module docs](self) and [`Maths`].
pub trait Activate: Copy {
    /// The logistic sigmoid `1 / (1 + e^-x)` under [`Maths::Exact`]: max abs error vs libm
    /// [`EXP_ACTIVATION_MAX_ERROR`] for `f32` lanes, libm itself for `f64`; exactly 0 / 1 at
    /// -inf / +inf, NaN kept.
    fn sigmoid_exact(self) -> Self;
    /// `tanh` under [`Maths::Exact`]: for `f32` lanes `expm1(-2|x|) / (expm1(-2|x|) + 2)`
    /// with the sign of `x`, from one Cephes-style `e^x` (relative accuracy kept near 0,
    /// `-0` kept), max abs error [`EXP_ACTIVATION_MAX_ERROR`]; libm for `f64`; exactly ±1 at
    /// ±inf, NaN kept.
    fn tanh_exact(self) -> Self;
    /// The logistic sigmoid under [`Maths::Fast`]: `num / (num + den)` with `num / den` a
    /// [2/2] rational approximation of `e^x` after an exact power-of-two range reduction
    /// (`exp2_pade`), one division. Max abs error [`FAST_SIGMOID_MAX_ERROR`]; exactly `1`
    /// for `x >= 17.4` and at `+inf`, `2^-120` (about `7.5e-37`) for `x <= -83.2` and at
    /// `-inf` (the exact sigmoid gives `0` there), `sigmoid(0) = 0.5`, NaN kept; monotonic
    /// only up to rounding (a ratio of two rounded values). An `f32` formula: `f64` inputs
    /// are rounded to `f32` and the result widened (the `f64` gradient checks use `Exact`).
    fn sigmoid_fast(self) -> Self;
    /// `tanh` under [`Maths::Fast`]: `(num - den) / (num + den)` with `num / den ≈ e^2x`
    /// (`exp2_pade`): a dozen additions and multiplications, one integer add and one
    /// division, no `exp`, no branch. Max abs error [`FAST_TANH_MAX_ERROR`] (absolute: unlike
    /// `tanh_exact` it does not keep relative accuracy for tiny `|x|`, and `-0` gives `+0`);
    /// exactly `±1` for `|x| >= 9.1` and at `±inf`, `tanh(0) = 0`, NaN kept; monotonic only
    /// up to rounding. `f64` as for [`Self::sigmoid_fast`].
    fn tanh_fast(self) -> Self;
    /// `clip(slope x + offset, 0, 1)`, NaN kept (the hard sigmoids of
    /// [`RecurrentActivation`]; `slope` and `offset` rounded to the lane type).
    fn hard_sigmoid(self, slope: f64, offset: f64) -> Self;
}

impl<L: Lane> Activate for L {
    #[inline(always)]
    fn sigmoid_exact(self) -> Self {
        sigmoid_exp(self)
    }
    #[inline(always)]
    fn tanh_exact(self) -> Self {
        tanh_exp(self)
    }
    #[inline(always)]
    fn sigmoid_fast(self) -> Self {
        sigmoid_pade(self)
    }
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        tanh_pade(self)
    }
    #[inline(always)]
    fn hard_sigmoid(self, slope: f64, offset: f64) -> Self {
        self.mul_add(L::splat(slope as f32), L::splat(offset as f32))
            .clamp_keep_nan(0.0, 1.0)
    }
}

impl Activate for f64 {
    #[inline]
    fn sigmoid_exact(self) -> Self {
        reference::sigmoid(self)
    }
    #[inline]
    fn tanh_exact(self) -> Self {
        libm::tanh(self)
    }
    #[inline]
    fn sigmoid_fast(self) -> Self {
        f64::from(sigmoid_pade(self as f32))
    }
    #[inline]
    fn tanh_fast(self) -> Self {
        f64::from(tanh_pade(self as f32))
    }
    #[inline]
    fn hard_sigmoid(self, slope: f64, offset: f64) -> Self {
        // `clamp` keeps NaN.
        (slope * self + offset).clamp(0.0, 1.0)
    }
}

/// The libm-based specification the fast and exact `f32` formulas are tested against (and
/// what [`Maths::Exact`] means for `f64`).
pub mod reference {
    use crate::real::Real;

    /// Logistic sigmoid `1 / (1 + e^-x)`, computed from libm's `e^-|x|` so neither tail
    /// overflows or loses relative accuracy. `sigmoid(+inf) = 1`, `sigmoid(-inf) = 0`.
    #[inline]
    pub fn sigmoid<F: Real>(x: F) -> F {
        let e = (-x.abs()).exp();
        if x >= F::ZERO {
            F::ONE / (F::ONE + e)
        } else {
            e / (F::ONE + e)
        }
    }

    /// Hyperbolic tangent (libm). `tanh(±inf) = ±1`.
    #[inline]
    pub fn tanh<F: Real>(x: F) -> F {
        x.tanh()
    }
}

/// Derivative of `tanh` from its output `t`: `1 - t²`.
#[inline]
pub fn tanh_derivative_from_output<F: Real>(t: F) -> F {
    F::ONE - t * t
}

/// A compile-time choice of gate activation and `tanh`, so a cell kernel's inner loop has no
/// branch on the layer's run-time settings: the kernels `match` once on
/// `(RecurrentActivation, Maths)` ([`with_policy!`](crate::with_policy)) and run a copy
/// monomorphised over one of [`Logistic`], [`Hard`] (and, where one copy for both maths is
/// worth more than the branch, [`HardAnyMaths`]). Each method gives the same bits as
/// [`RecurrentActivation::apply_with`] / [`Maths::tanh`] for the pair it stands for, on a
/// scalar or on any lane type.
pub trait Policy: Copy {
    /// Whether the transcendental functions are the fast ones ([`Maths::Fast`]).
    const FAST: bool;
    /// Activation of gates i, f, o.
    fn gate<A: Activate>(self, x: A) -> A;
    /// `tanh` for the candidate and the cell output.
    fn tanh<A: Activate>(self, x: A) -> A;
}

/// Logistic-sigmoid gates; `FAST` picks [`Maths::Fast`].
#[derive(Clone, Copy, Debug)]
pub struct Logistic<const FAST: bool>;

impl<const FAST: bool> Policy for Logistic<FAST> {
    const FAST: bool = FAST;
    #[inline(always)]
    fn gate<A: Activate>(self, x: A) -> A {
        if FAST {
            x.sigmoid_fast()
        } else {
            x.sigmoid_exact()
        }
    }
    #[inline(always)]
    fn tanh<A: Activate>(self, x: A) -> A {
        if FAST { x.tanh_fast() } else { x.tanh_exact() }
    }
}

/// Hard-sigmoid gates `clip(slope x + offset, 0, 1)` (NaN kept); `FAST` picks the tanh.
#[derive(Clone, Copy, Debug)]
pub struct Hard<const FAST: bool> {
    /// Slope of the hard sigmoid.
    pub slope: f64,
    /// Offset of the hard sigmoid.
    pub offset: f64,
}

impl<const FAST: bool> Policy for Hard<FAST> {
    const FAST: bool = FAST;
    #[inline(always)]
    fn gate<A: Activate>(self, x: A) -> A {
        x.hard_sigmoid(self.slope, self.offset)
    }
    #[inline(always)]
    fn tanh<A: Activate>(self, x: A) -> A {
        if FAST { x.tanh_fast() } else { x.tanh_exact() }
    }
}

/// Hard-sigmoid gates with the `tanh` picked at run time (a branch per `tanh`, not a second
/// copy of the step loop): the scalar kernels use it, so a Cortex-M step keeps one copy of
/// the loop for hard gates (the rare choice, and cheap) and stays within 4 KB of flash.
#[derive(Clone, Copy, Debug)]
pub struct HardAnyMaths {
    /// Slope of the hard sigmoid.
    pub slope: f64,
    /// Offset of the hard sigmoid.
    pub offset: f64,
    /// How the `tanh` is evaluated.
    pub maths: Maths,
}

impl Policy for HardAnyMaths {
    const FAST: bool = false;
    #[inline(always)]
    fn gate<A: Activate>(self, x: A) -> A {
        x.hard_sigmoid(self.slope, self.offset)
    }
    #[inline(always)]
    fn tanh<A: Activate>(self, x: A) -> A {
        self.maths.tanh(x)
    }
}

/// Runs `$body` with `$p` bound to the compile-time [`Policy`] for `($act, $maths)`:
/// [`Logistic`] or [`Hard`], four monomorphised copies of `$body`.
#[macro_export]
#[doc(hidden)]
macro_rules! with_policy {
    ($act:expr, $maths:expr, |$p:ident| $body:expr) => {
        match ($act.hard_slope(), $maths) {
            (None, $crate::activation::Maths::Exact) => {
                let $p = $crate::activation::Logistic::<false>;
                $body
            }
            (None, $crate::activation::Maths::Fast) => {
                let $p = $crate::activation::Logistic::<true>;
                $body
            }
            (Some((slope, offset)), $crate::activation::Maths::Exact) => {
                let $p = $crate::activation::Hard::<false> { slope, offset };
                $body
            }
            (Some((slope, offset)), $crate::activation::Maths::Fast) => {
                let $p = $crate::activation::Hard::<true> { slope, offset };
                $body
            }
        }
    };
}

/// The fast activations clamp the power of two they evaluate, `t` in `e^x = 2^t`, to
/// `±FAST_EXP2_LIMIT`: far beyond where the results round to their limits (`|x| > 17.4` for
/// the sigmoid, `|x| > 9.1` for tanh), and small enough that `2^t` times the Padé numerator
/// (about `25`) stays a normal `f32`.
pub const FAST_EXP2_LIMIT: f32 = 120.0;

/// Maximum absolute error of [`Activate::tanh_fast`] against libm `tanh`, measured over the
/// whole `f32` range (test `fast_activations_max_abs_error_over_the_whole_f32_range`; the SIMD
/// lanes are held to the same bound). The rational approximation of `2^f` is accurate to
/// 2.3e-6 relative (`PADE_C0`), which moves `tanh` by at most half that; the rest is `f32`
/// rounding of the few operations.
pub const FAST_TANH_MAX_ERROR: f32 = 1.25e-6;

/// Maximum absolute error of [`Activate::sigmoid_fast`] against the exact sigmoid over the
/// whole `f32` range (same test).
pub const FAST_SIGMOID_MAX_ERROR: f32 = 7.0e-7;

/// Maximum absolute error of [`Activate::sigmoid_exact`] and [`Activate::tanh_exact`] on
/// `f32` (scalar and every SIMD lane) against libm ([`reference`](mod@reference)) over the whole `f32`
/// range (tests `exp_activations_max_abs_error_over_the_whole_f32_range` here and
/// `simd_*_max_abs_error_vs_libm_is_below_3e7` in the SIMD kernels).
pub const EXP_ACTIVATION_MAX_ERROR: f32 = 3.0e-7;

/// `2^f ≈ P(f) / P(-f)` on `|f| <= 1/2` with `P(f) = f² + PADE_C1 f + PADE_C0`: the form of
/// the [2/2] Padé approximant of `e^(f ln 2)` (`C1 = 6 / ln 2`, `C0 = 12 / ln²2`, max relative
/// error 7.0e-6), with the two coefficients tuned to equioscillate instead (a direct minimax
/// search over the interval): max relative error 2.3e-6 with the coefficients rounded to `f32` (test
/// `exp2_pade_relative_error_on_the_reduced_interval`). `P(-f) P(f)` symmetry keeps
/// `2^f 2^-f = 1` exactly in exact arithmetic, so `tanh` stays odd and `sigmoid(0) = 1/2`.
const PADE_C0: f32 = 24.977_17;
/// See [`PADE_C0`].
const PADE_C1: f32 = 8.656_541;

/// `2^t = num / den` for `t` in `±FAST_EXP2_LIMIT` (the caller clamps; NaN gives NaN):
/// `t = n + f` with `n` the nearest integer ([`Lane::round_split`]), `|f| <= 1/2`, and the
/// [2/2] Padé approximant of `2^f`; `num` carries the `2^n` in its exponent field (an integer
/// add, no multiply). Both are positive: `num / 2^n` and `den` lie in `[20.6, 29.6]`.
#[inline(always)]
fn exp2_pade<L: Lane>(t: L) -> (L, L) {
    let (n, k) = t.round_split();
    let f = t - n;
    let even = f.mul_add(f, L::splat(PADE_C0));
    let odd = f * L::splat(PADE_C1);
    (L::scale_by_rounded(even + odd, k), even - odd)
}

/// Fast logistic sigmoid `e^x / (e^x + 1)` with `e^x = num / den` from [`exp2_pade`]:
/// `num / (num + den)`, one division.
#[inline(always)]
fn sigmoid_pade<L: Lane>(x: L) -> L {
    let t =
        (x * L::splat(core::f32::consts::LOG2_E)).clamp_keep_nan(-FAST_EXP2_LIMIT, FAST_EXP2_LIMIT);
    let (num, den) = exp2_pade(t);
    num / (num + den)
}

/// Fast `tanh x = (e^2x - 1) / (e^2x + 1)` with `e^2x = num / den` from [`exp2_pade`]:
/// `(num - den) / (num + den)`, one division.
#[inline(always)]
fn tanh_pade<L: Lane>(x: L) -> L {
    let t = (x * L::splat(2.0 * core::f32::consts::LOG2_E))
        .clamp_keep_nan(-FAST_EXP2_LIMIT, FAST_EXP2_LIMIT);
    let (num, den) = exp2_pade(t);
    (num - den) / (num + den)
}

/// `ln 2` split in a part exact in few bits and the rest (Cephes `expf`).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Cephes `expf` polynomial: `e^r - 1 ≈ r + r² P(r)`, `P` in Horner order (highest first).
const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// `e^x = scale * (1 + q)` for `x` in `[-87.3, 88.8]` (the caller clamps): returns
/// `(scale = 2^n, q = e^r - 1)` with Cephes' `expf` reduction `x = n ln2 + r`,
/// `|r| <= ln2 / 2`, and degree-6 polynomial. `n = 128` (x above about 88.38) gives
/// `scale = +inf`.
#[inline(always)]
fn exp_parts<L: Lane>(x: L) -> (L, L) {
    let magic = L::splat(ROUND_MAGIC);
    let t = x.mul_add(L::splat(core::f32::consts::LOG2_E), magic);
    let n = t - magic;
    let r = n.mul_neg_add(L::splat(LN2_HI), x);
    let r = n.mul_neg_add(L::splat(LN2_LO), r);
    let [p0, rest @ ..] = EXP_POLY;
    let mut p = L::splat(p0);
    for c in rest {
        p = p.mul_add(r, L::splat(c));
    }
    let q = p.mul_add(r * r, r);
    (L::pow2_from_rounded(t), q)
}

/// Logistic sigmoid `1 / (1 + e^-x)` from one [`exp_parts`].
#[inline(always)]
fn sigmoid_exp<L: Lane>(x: L) -> L {
    let one = L::splat(1.0);
    let y = (-x).clamp_keep_nan(-87.3, 88.8);
    let (scale, q) = exp_parts(y);
    // (1 + q) > 0, so scale = inf gives e = inf (never inf * negative + inf = NaN).
    let e = (q + one) * scale;
    one / (one + e)
}

/// `tanh x = em / (em + 2)` with `em = expm1(-2|x|) = scale q + (scale - 1)`
/// and the sign of `x` restored. `expm1` keeps the relative accuracy near 0 (for small `|x|`,
/// `n = 0`, `scale = 1` and `em = q` is the polynomial itself, odd to first order), so no
/// second branch is needed.
#[inline(always)]
fn tanh_exp<L: Lane>(x: L) -> L {
    let one = L::splat(1.0);
    let y = (x.abs() * L::splat(-2.0)).max_keep_nan(-87.3);
    let (scale, q) = exp_parts(y);
    let em = q.mul_add(scale, scale - one);
    let t = em / (em + L::splat(2.0));
    t.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::reference::{sigmoid, tanh};
    use super::*;

    fn fast_tanh(x: f32) -> f32 {
        x.tanh_fast()
    }
    fn fast_sigmoid(x: f32) -> f32 {
        x.sigmoid_fast()
    }
    fn exp_tanh(x: f32) -> f32 {
        x.tanh_exact()
    }
    fn exp_sigmoid(x: f32) -> f32 {
        x.sigmoid_exact()
    }

    #[test]
    fn activations_saturate_for_infinite_inputs() {
        for act in RecurrentActivation::ALL {
            assert_eq!(act.apply(f32::INFINITY), 1.0, "{act:?}");
            assert_eq!(act.apply(f32::NEG_INFINITY), 0.0, "{act:?}");
            assert_eq!(act.apply(1e30_f32), 1.0, "{act:?}");
            assert_eq!(act.apply(-1e30_f32), 0.0, "{act:?}");
            assert!(act.apply(f32::NAN).is_nan(), "{act:?} must propagate NaN");
        }
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert!((1.0_f64.hard_sigmoid(0.2, 0.5) - 0.7).abs() < 1e-15);
        assert!(f64::NAN.hard_sigmoid(0.2, 0.5).is_nan());
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
    }

    #[test]
    fn hard_sigmoids_follow_their_keras_formulas() {
        // Values at the kinks: Keras 2 clips at |x| = 2.5, Keras 3 at |x| = 3.
        let k2 = RecurrentActivation::HardSigmoidKeras2;
        let k3 = RecurrentActivation::HardSigmoidKeras3;
        assert_eq!(k2.apply(2.5_f64), 1.0);
        assert!((k2.apply(1.0_f64) - 0.7).abs() < 1e-15);
        assert!((k3.apply(1.0_f64) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(k3.apply(3.0_f64), 1.0);
        assert_eq!(k3.derivative_from_output(1.0_f64), 0.0);
        assert!((k3.derivative_from_output(0.5_f64) - 1.0 / 6.0).abs() < 1e-15);
    }

    /// Every 61st bit pattern of each sign over the finite range, plus edge values.
    fn whole_f32_range() -> impl Iterator<Item = f32> {
        (0..0x7f80_0000_u32)
            .step_by(61)
            .flat_map(|b| [f32::from_bits(b), f32::from_bits(b | 0x8000_0000)])
            .chain([0.0, -0.0, 9.1, -9.1, 17.4, -17.4, 83.2, -83.2, f32::MAX])
    }

    #[test]
    // ~70 M activations (every 61st f32 of each sign): over a day under Miri.
    #[cfg_attr(miri, ignore = "whole-f32-range sweep: too slow under Miri")]
    fn fast_activations_max_abs_error_over_the_whole_f32_range() {
        // Reference: f64 libm (correctly rounded to well below f32 precision).
        let mut worst_t = 0.0_f64;
        let mut worst_s = 0.0_f64;
        for x in whole_f32_range() {
            let xd = f64::from(x);
            let t = f64::from(fast_tanh(x));
            let s = f64::from(fast_sigmoid(x));
            worst_t = worst_t.max((t - libm::tanh(xd)).abs());
            worst_s = worst_s.max((s - sigmoid(xd)).abs());
            assert!(
                (-1.0..=1.0).contains(&t) && (0.0..=1.0).contains(&s),
                "x={x}"
            );
        }
        assert!(worst_t < f64::from(FAST_TANH_MAX_ERROR), "tanh {worst_t:e}");
        assert!(
            worst_s < f64::from(FAST_SIGMOID_MAX_ERROR),
            "sigmoid {worst_s:e}"
        );
        // The bound is tight (within 10%), so the documented figure is the real one.
        assert!(
            worst_t > 0.9 * f64::from(FAST_TANH_MAX_ERROR),
            "tanh {worst_t:e}"
        );
    }

    #[test]
    // ~70 M activations (every 61st f32 of each sign): over a day under Miri.
    #[cfg_attr(miri, ignore = "whole-f32-range sweep: too slow under Miri")]
    fn exp_activations_max_abs_error_over_the_whole_f32_range() {
        // Reference: the libm specification (`expf`-based sigmoid, `tanhf`).
        let mut worst_t = 0.0_f32;
        let mut worst_s = 0.0_f32;
        for x in whole_f32_range().chain([87.3, -87.3, 88.8, -88.8, 1e-30, -1e-30, 0.625]) {
            let t = exp_tanh(x);
            let s = exp_sigmoid(x);
            worst_t = worst_t.max((t - tanh(x)).abs());
            worst_s = worst_s.max((s - sigmoid(x)).abs());
            assert!(
                (-1.0..=1.0).contains(&t) && (0.0..=1.0).contains(&s),
                "x={x}"
            );
        }
        assert!(worst_t < EXP_ACTIVATION_MAX_ERROR, "tanh {worst_t:e}");
        assert!(worst_s < EXP_ACTIVATION_MAX_ERROR, "sigmoid {worst_s:e}");
    }

    #[test]
    fn exp_activations_keep_relative_accuracy_near_zero_and_their_symmetries() {
        for x in [1e-30_f32, 1e-10, 1e-6, 1e-3, 0.01, 0.1] {
            let t = exp_tanh(x);
            let r = f64::from(libm::tanhf(x));
            assert!(
                (f64::from(t) - r).abs() <= 4.0 * f64::EPSILON.max(r * 3e-7),
                "x={x}"
            );
            assert_eq!(exp_tanh(-x), -t, "x={x}");
        }
        assert_eq!(exp_tanh(-0.0_f32).to_bits(), (-0.0_f32).to_bits());
        assert_eq!(exp_sigmoid(0.0_f32), 0.5);
        assert_eq!(
            (exp_sigmoid(100.0_f32), exp_sigmoid(-200.0_f32)),
            (1.0, 0.0)
        );
        assert_eq!((exp_tanh(20.0_f32), exp_tanh(-20.0_f32)), (1.0, -1.0));
    }

    /// `Maths::Exact` is the exp-based pair for `f32` and libm for `f64` (the gradient checks).
    #[test]
    fn exact_maths_is_exp_based_for_f32_and_libm_for_f64() {
        for x in [-9.0_f32, -1.5, -0.2, 0.0, 0.3, 2.0, 17.0] {
            assert_eq!(Maths::Exact.tanh(x).to_bits(), exp_tanh(x).to_bits());
            assert_eq!(Maths::Exact.sigmoid(x).to_bits(), exp_sigmoid(x).to_bits());
            let xd = f64::from(x);
            assert_eq!(Maths::Exact.tanh(xd).to_bits(), libm::tanh(xd).to_bits());
            assert_eq!(Maths::Exact.sigmoid(xd).to_bits(), sigmoid(xd).to_bits());
        }
    }

    #[test]
    fn activations_saturate_and_keep_nan() {
        for m in [Maths::Exact, Maths::Fast] {
            assert_eq!(m.tanh(f32::INFINITY), 1.0, "{m:?}");
            assert_eq!(m.tanh(f32::NEG_INFINITY), -1.0, "{m:?}");
            assert_eq!(m.tanh(1e30_f32), 1.0, "{m:?}");
            assert_eq!(m.tanh(-1e30_f32), -1.0, "{m:?}");
            assert_eq!(m.sigmoid(f32::INFINITY), 1.0, "{m:?}");
            assert_eq!(m.sigmoid(1e30_f32), 1.0, "{m:?}");
            assert_eq!(m.sigmoid(0.0_f32), 0.5, "{m:?}");
            assert_eq!(m.tanh(0.0_f32), 0.0, "{m:?}");
            assert!(
                m.tanh(f32::NAN).is_nan() && m.sigmoid(f32::NAN).is_nan(),
                "{m:?}"
            );
            assert!(
                m.tanh(f64::NAN).is_nan() && m.sigmoid(f64::NAN).is_nan(),
                "{m:?}"
            );
        }
        assert_eq!(Maths::Exact.sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(Maths::Exact.sigmoid(-1e30_f32), 0.0);
    }

    /// The limits `fast_tanh` and `fast_sigmoid` document: exactly `±1` / `1` from `|x| = 9.1`
    /// / `x = 17.4` on, and `2^-120` times a ratio near 1 at the clamped negative end.
    #[test]
    fn fast_activations_reach_their_documented_limits() {
        for x in [9.1_f32, 9.5, 20.0, 1e10, f32::MAX, f32::INFINITY] {
            assert_eq!((fast_tanh(x), fast_tanh(-x)), (1.0, -1.0), "x={x}");
        }
        for x in [17.4_f32, 30.0, 1e10, f32::INFINITY] {
            assert_eq!(fast_sigmoid(x), 1.0, "x={x}");
        }
        for x in [-83.2_f32, -100.0, -1e30, f32::NEG_INFINITY] {
            let s = fast_sigmoid(x);
            assert!(s > 0.0 && s < 7.6e-37, "x={x}: {s:e}");
        }
        // Nearly odd (the ratio num / den is inverted exactly in exact arithmetic).
        for x in [0.3_f32, 1.7, 4.0] {
            assert!(
                (fast_tanh(x) + fast_tanh(-x)).abs() <= 2.0 * f32::EPSILON,
                "x={x}"
            );
        }
    }

    /// The tuned rational `P(f) / P(-f)` against `2^f` on the reduced interval `|f| <= 1/2`,
    /// evaluated in `f64` with the `f32` coefficients: the documented `2.3e-6` relative.
    #[test]
    // 100,001 libm `exp2` calls in f64: about 4 CPU minutes under Miri.
    #[cfg_attr(miri, ignore = "100,001-point f64 sweep: too slow under Miri")]
    fn exp2_pade_relative_error_on_the_reduced_interval() {
        let (c0, c1) = (f64::from(PADE_C0), f64::from(PADE_C1));
        let mut worst = 0.0_f64;
        for i in 0..=100_000 {
            let f = f64::from(i) / 100_000.0 - 0.5;
            let r = (f * f + c1 * f + c0) / (f * f - c1 * f + c0);
            worst = worst.max((r / libm::exp2(f) - 1.0).abs());
        }
        assert!(worst < 2.3e-6 && worst > 2.2e-6, "{worst:e}");
    }

    #[test]
    fn sigmoid_is_accurate_in_both_tails() {
        // Relative accuracy in the left tail: sigmoid(-30) = e^-30 / (1 + e^-30).
        let s = sigmoid(-30.0_f64);
        let expected = (-30.0_f64).exp() / (1.0 + (-30.0_f64).exp());
        assert!((s - expected).abs() / expected < 1e-15);
        assert_eq!(sigmoid(0.0_f32), 0.5);
    }
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn names_and_codes_round_trip_and_are_distinct() {
        for (i, a) in RecurrentActivation::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(a.code()), i);
            assert_eq!(RecurrentActivation::from_code(a.code()), Some(a));
            assert_eq!(RecurrentActivation::from_name(a.name()), Some(a));
        }
        assert_eq!(RecurrentActivation::from_code(3), None);
        assert_eq!(RecurrentActivation::from_name("hard_sigmoid"), None);
        for m in Maths::ALL {
            assert_eq!(Maths::from_code(m.code()), Some(m));
            assert_eq!(Maths::from_name(m.name()), Some(m));
        }
    }
}

#[cfg(test)]
mod lanes {
    use wide::f32x8;

    use super::reference::{sigmoid, tanh};
    use super::*;

    fn simd_sigmoid(x: f32x8) -> f32x8 {
        x.sigmoid_exact()
    }
    fn simd_tanh(x: f32x8) -> f32x8 {
        x.tanh_exact()
    }
    fn simd_fast_sigmoid(x: f32x8) -> f32x8 {
        x.sigmoid_fast()
    }
    fn simd_fast_tanh(x: f32x8) -> f32x8 {
        x.tanh_fast()
    }

    /// Walks the whole finite f32 range (every 97th bit pattern of each sign, plus edge
    /// values) and returns the maximum absolute error of `simd` vs the libm reference.
    fn max_abs_error(simd: fn(f32x8) -> f32x8, reference: fn(f32) -> f32) -> f32 {
        let mut worst = 0.0_f32;
        let mut check = |xs: [f32; 8]| {
            let got = simd(f32x8::new(xs)).to_array();
            for (x, y) in xs.iter().zip(got) {
                let e = (reference(*x) - y).abs();
                assert!(e.is_finite(), "x={x} got {y}");
                worst = worst.max(e);
            }
        };
        let mut buf = [0.0_f32; 8];
        let mut n = 0;
        let mut bits = 0_u32;
        while bits < 0x7f80_0000 {
            for sign in [0, 0x8000_0000] {
                buf[n] = f32::from_bits(bits | sign);
                n += 1;
                if n == 8 {
                    check(buf);
                    n = 0;
                }
            }
            bits += 97;
        }
        check([0.0, -0.0, 1e-30, 0.625, -0.625, 87.0, -87.0, 88.8]);
        worst
    }

    #[test]
    // ~44 M lanes (every 97th f32 of each sign): over a day under Miri.
    #[cfg_attr(miri, ignore = "whole-f32-range sweep: too slow under Miri")]
    fn simd_sigmoid_max_abs_error_vs_libm_is_below_3e7() {
        let worst = max_abs_error(simd_sigmoid, sigmoid::<f32>);
        assert!(worst < 3e-7, "sigmoid max abs error {worst:e}");
    }

    #[test]
    // ~44 M lanes (every 97th f32 of each sign): over a day under Miri.
    #[cfg_attr(miri, ignore = "whole-f32-range sweep: too slow under Miri")]
    fn simd_tanh_max_abs_error_vs_libm_is_below_3e7() {
        let worst = max_abs_error(simd_tanh, tanh::<f32>);
        assert!(worst < 3e-7, "tanh max abs error {worst:e}");
    }

    /// The exact activations are one definition for a scalar and a lane: without FMA (the
    /// default x86-64 build, and every Cortex-M; AArch64 always fuses) each lane is bit-identical to the scalar
    /// `exp_sigmoid` / `exp_tanh` that `Maths::Exact` runs in the scalar kernels; with FMA
    /// they differ by the fused roundings only.
    #[test]
    // Two whole-range sweeps (~44 M lanes each): days under Miri.
    #[cfg_attr(miri, ignore = "whole-f32-range sweeps: too slow under Miri")]
    fn simd_exact_lanes_are_the_scalar_exp_activations() {
        let exp_sigmoid = |x: f32| x.sigmoid_exact();
        let exp_tanh = |x: f32| x.tanh_exact();
        let fused = crate::lane::FUSED_LANES;
        // With FMA the lanes fuse the polynomial's multiply-adds; outputs are in [-1, 1], so
        // the differing roundings move a result by at most 2 ulp of 1.0 (measured: 1 ulp).
        let tol = if fused { 2.0 * f32::EPSILON } else { 0.0 };
        let worst = max_abs_error(simd_sigmoid, exp_sigmoid);
        assert!(worst <= tol, "sigmoid lanes vs scalar {worst:e}");
        let worst = max_abs_error(simd_tanh, exp_tanh);
        assert!(worst <= tol, "tanh lanes vs scalar {worst:e}");
    }

    #[test]
    // Four whole-range sweeps (~44 M lanes each): days under Miri.
    #[cfg_attr(miri, ignore = "whole-f32-range sweeps: too slow under Miri")]
    fn simd_fast_activations_stay_within_their_documented_bounds_and_match_scalar() {
        let fast_sigmoid = |x: f32| x.sigmoid_fast();
        let fast_tanh = |x: f32| x.tanh_fast();
        // Against libm: the documented bounds (the approximation error dominates).
        let worst = max_abs_error(simd_fast_tanh, tanh::<f32>);
        assert!(worst < FAST_TANH_MAX_ERROR, "fast tanh {worst:e}");
        let worst = max_abs_error(simd_fast_sigmoid, sigmoid::<f32>);
        assert!(worst < FAST_SIGMOID_MAX_ERROR, "fast sigmoid {worst:e}");
        // Against the scalar reference of the same formula: only rounding differs (FMA vs
        // separate multiply and add in the degree-2 rational, one division: a few ulp of 1).
        let worst = max_abs_error(simd_fast_tanh, fast_tanh);
        assert!(worst < 5e-7, "fast tanh vs scalar {worst:e}");
        let worst = max_abs_error(simd_fast_sigmoid, fast_sigmoid);
        assert!(worst < 5e-7, "fast sigmoid vs scalar {worst:e}");
    }

    #[test]
    fn simd_activations_saturate_and_keep_nan() {
        let x = f32x8::new([
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
            -1e30,
            f32::NAN,
            0.0,
            200.0,
            -200.0,
        ]);
        let s = simd_sigmoid(x).to_array();
        let t = simd_tanh(x).to_array();
        assert_eq!(&s[..4], &[1.0, 0.0, 1.0, 0.0]);
        assert!(s[4].is_nan());
        assert_eq!(s[5], 0.5);
        assert_eq!(&t[..4], &[1.0, -1.0, 1.0, -1.0]);
        assert!(t[4].is_nan());
        assert_eq!(t[5], 0.0);
        assert_eq!((t[6], t[7]), (1.0, -1.0));
        let s = simd_fast_sigmoid(x).to_array();
        let t = simd_fast_tanh(x).to_array();
        // The fast sigmoid's negative limit is 2^-120 times a ratio near 1, not 0.
        assert_eq!((s[0], s[2], s[6]), (1.0, 1.0, 1.0));
        for v in [s[1], s[3], s[7]] {
            assert!(v > 0.0 && v < 7.6e-37, "{v:e}");
        }
        assert!(s[4].is_nan() && t[4].is_nan());
        assert_eq!((s[5], t[5]), (0.5, 0.0));
        assert_eq!(&t[..4], &[1.0, -1.0, 1.0, -1.0]);
        assert_eq!((t[6], t[7]), (1.0, -1.0));
    }
}
