//! The dense head `logits = W h + b` (PyTorch `nn.Linear` layout) and its backward pass.

use crate::backend::{Float, Kernels};
use crate::real::Real;
use crate::tensors::{TensorInfo, Tensors, head_tensor};
use crate::weights::fill_uniform;

/// A dense layer from `H` features to `OUT` logits.
///
/// `w` is `[OUT][H]` (PyTorch `Linear.weight`; Keras' `Dense.kernel` `[H, OUT]` is its
/// transpose), `b` is `[OUT]`. The same type holds gradients and optimizer moments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dense<const H: usize, const OUT: usize, F = f32> {
    /// Weight, `[OUT][H]`.
    pub w: [[F; H]; OUT],
    /// Bias, `[OUT]`.
    pub b: [F; OUT],
}

impl<const H: usize, const OUT: usize, F: Real> Dense<H, OUT, F> {
    /// All zeros.
    pub const fn zeroed() -> Self {
        Self {
            w: [[F::ZERO; H]; OUT],
            b: [F::ZERO; OUT],
        }
    }

    /// Keras' default `Dense` initialisation: Glorot-uniform kernel
    /// (`l = sqrt(6 / (H + OUT))`), zero bias. `uniform` returns `U[0, 1)` samples.
    pub fn init_keras(&mut self, uniform: &mut impl FnMut() -> F) {
        let limit = F::from_f64(libm::sqrt(6.0 / (H + OUT) as f64));
        fill_uniform(self.w.as_flattened_mut(), limit, uniform);
        self.b = [F::ZERO; OUT];
    }
}

impl<const H: usize, const OUT: usize, F: Float> Dense<H, OUT, F> {
    /// `logits = W h + b`, `[OUT]`.
    #[inline]
    pub fn forward(&self, h: &[F; H]) -> [F; OUT] {
        self.forward_with::<F::Kernels>(h)
    }

    /// [`Self::forward`] with explicit kernels.
    #[inline]
    pub fn forward_with<K: Kernels<F>>(&self, h: &[F; H]) -> [F; OUT] {
        let mut out = self.b;
        K::gemv_acc(&mut out, self.w.as_flattened(), h);
        out
    }

    /// Backward: accumulates `grads.w += dlogits ⊗ h`, `grads.b += dlogits` and
    /// `dh += Wᵀ dlogits` (all `+=`).
    #[inline]
    pub fn backward(&self, h: &[F; H], dlogits: &[F; OUT], grads: &mut Self, dh: &mut [F; H]) {
        for (o, &d) in dlogits.iter().enumerate() {
            grads.b[o] += d;
            for j in 0..H {
                grads.w[o][j] += d * h[j];
                dh[j] += d * self.w[o][j];
            }
        }
    }
}

impl<const H: usize, const OUT: usize, F: Real> Default for Dense<H, OUT, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Tensor order: head `W` `[OUT][H]`, head `b` `[OUT]`.
impl<const H: usize, const OUT: usize, F: Real> Tensors<F> for Dense<H, OUT, F> {
    type Grads = Self;
    const COUNT: usize = 2;
    const LAYERS: usize = 0;
    fn info(i: usize) -> Option<TensorInfo> {
        head_tensor(i, H, OUT)
    }
    fn tensor(&self, i: usize) -> &[F] {
        match i {
            0 => self.w.as_flattened(),
            1 => &self.b,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        match i {
            0 => self.w.as_flattened_mut(),
            1 => &mut self.b,
            _ => &mut [],
        }
    }
}
