//! The floating-point scalar the kernel is generic over (`f32` for deployment, `f64` for
//! gradient checks and for parity with the float64 PyTorch/Keras oracles).

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::kernels::Kernels;

/// A real number type: `f32` or `f64`.
///
/// Transcendentals come from `libm` (the same pure-Rust code on every target, so host and
/// microcontroller agree bit for bit). [`Real::Kernels`] names the kernels used by default:
/// for `f32` the SIMD kernels on targets with vector registers (the scalar kernels on
/// targets without, such as Cortex-M, and whenever the `scalar-reference` feature is on),
/// and the scalar reference kernels for `f64`.
pub trait Real:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// The kernels used by the type's default entry points.
    type Kernels: Kernels<Self>;
    /// Conversion from `f64` (rounding to nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Conversion to `f64` (exact).
    fn to_f64(self) -> f64;
    /// `e^x`.
    fn exp(self) -> Self;
    /// Hyperbolic tangent; `±1` for `±inf`.
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`.
    fn ln_1p(self) -> Self;
    /// `x^y`.
    fn powf(self, y: Self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// The larger of `self` and `other` (the non-NaN one if one is NaN).
    fn max(self, other: Self) -> Self;
    /// The smaller of `self` and `other` (the non-NaN one if one is NaN).
    fn min(self, other: Self) -> Self;
    /// The logistic sigmoid under [`Maths::Exact`](crate::Maths::Exact): by default the
    /// libm-based [`crate::activation::sigmoid`]; `f32` overrides it with
    /// [`crate::activation::exp_sigmoid`] (one Cephes-style `e^x`, `< 3e-7` from libm).
    #[inline]
    fn sigmoid_exact(self) -> Self {
        crate::activation::sigmoid(self)
    }
    /// `tanh` under [`Maths::Exact`](crate::Maths::Exact): by default libm ([`Self::tanh`]);
    /// `f32` overrides it with [`crate::activation::exp_tanh`].
    #[inline]
    fn tanh_exact(self) -> Self {
        self.tanh()
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    /// [`Simd`](crate::kernels::Simd) where `wide` has vector registers to use (x86 with
    /// SSE2, AArch64/Arm with NEON, WebAssembly with simd128); [`Scalar`](crate::kernels::Scalar)
    /// elsewhere (e.g. Cortex-M, where `wide` falls back to plain arrays and the vector code
    /// only costs flash, stack and instructions), or when the `scalar-reference` feature is on.
    #[cfg(all(
        not(feature = "scalar-reference"),
        any(
            target_feature = "sse2",
            target_feature = "neon",
            target_feature = "simd128"
        )
    ))]
    type Kernels = crate::kernels::Simd;
    /// See above.
    #[cfg(not(all(
        not(feature = "scalar-reference"),
        any(
            target_feature = "sse2",
            target_feature = "neon",
            target_feature = "simd128"
        )
    )))]
    type Kernels = crate::kernels::Scalar;
    #[inline]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn exp(self) -> Self {
        libm::expf(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        libm::tanhf(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        libm::sqrtf(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        libm::log1pf(self)
    }
    #[inline]
    fn powf(self, y: Self) -> Self {
        libm::powf(self, y)
    }
    #[inline]
    fn abs(self) -> Self {
        libm::fabsf(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        libm::fmaxf(self, other)
    }
    #[inline]
    fn min(self, other: Self) -> Self {
        libm::fminf(self, other)
    }
    #[inline]
    fn sigmoid_exact(self) -> Self {
        crate::activation::exp_sigmoid(self)
    }
    #[inline]
    fn tanh_exact(self) -> Self {
        crate::activation::exp_tanh(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    type Kernels = crate::kernels::Scalar;
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn exp(self) -> Self {
        libm::exp(self)
    }
    #[inline]
    fn tanh(self) -> Self {
        libm::tanh(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        libm::sqrt(self)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        libm::log1p(self)
    }
    #[inline]
    fn powf(self, y: Self) -> Self {
        libm::pow(self, y)
    }
    #[inline]
    fn abs(self) -> Self {
        libm::fabs(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline]
    fn max(self, other: Self) -> Self {
        libm::fmax(self, other)
    }
    #[inline]
    fn min(self, other: Self) -> Self {
        libm::fmin(self, other)
    }
}
