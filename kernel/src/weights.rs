//! LSTM parameters `W_ih`, `W_hh`, `b`, stored gate-major for broadcast multiply-add, plus
//! import from PyTorch and Keras layouts and the Keras/PyTorch default initialisations.

use crate::error::ShapeError;
use crate::real::Real;
use crate::tensors::{TensorInfo, Tensors, layer_tensor};

/// The four gates, in the kernel's storage order (PyTorch's i, f, g, o; Keras calls the
/// candidate gate `c`: i, f, c, o is the same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gate {
    /// Input gate `i = σ(z_i)`.
    Input = 0,
    /// Forget gate `f = σ(z_f)`.
    Forget = 1,
    /// Candidate `g = tanh(z_g)` (Keras `c`).
    Cell = 2,
    /// Output gate `o = σ(z_o)`.
    Output = 3,
}

/// Parameters of one LSTM layer with `IN` inputs and `H` hidden units.
///
/// Layout (row-major, gate order i, f, g, o):
/// - `w_ih[k][gate][j]`: weight from input `k` to unit `j` of `gate`. Flattened this is
///   Keras' `kernel` `[IN, 4H]`; PyTorch's `weight_ih_l0` `[4H, IN]` is its transpose.
/// - `w_hh[k][gate][j]`: weight from `h_{t-1}[k]`. Flattened: Keras `recurrent_kernel`
///   `[H, 4H]`; PyTorch `weight_hh_l0` `[4H, H]` transposed.
/// - `b[gate][j]`: one bias `[4H]` = Keras `bias` = PyTorch `bias_ih_l0 + bias_hh_l0`.
///
/// The same type holds gradients (`dL/dW`) and optimizer moments.
///
/// Equations (PyTorch `nn.LSTM` docs): `z = W_ih x_t + W_hh h_{t-1} + b`,
/// `i, f, o = σ(z_i, z_f, z_o)`, `g = tanh(z_g)`, `c_t = f ⊙ c_{t-1} + i ⊙ g`,
/// `h_t = o ⊙ tanh(c_t)`.
///
/// On x86, x86-64 and AArch64 the struct is `repr(C)` (fields in the order above) and
/// aligned to 64 bytes, one cache line: when `H % 16 == 0` (one gate's slice of a row, `4 H`
/// bytes, a multiple of 64) every 16-float vector load of the AVX-512 kernel then stays
/// inside one line instead of straddling two. With 4-byte alignment the large-layer steps
/// measured up to 22 % slower (docs/performance.md: (1, 32) 200 against 164 ns, (32, 128)
/// 3.69 against 3.08-3.29 us). Other architectures (Cortex-M: no data cache lines to split,
/// no padding in flash) keep the natural 4-byte alignment.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"),
    repr(C, align(64))
)]
pub struct LstmWeights<const IN: usize, const H: usize, F = f32> {
    /// Input kernel, `[IN][4][H]`.
    pub w_ih: [[[F; H]; 4]; IN],
    /// Recurrent kernel, `[H][4][H]`.
    pub w_hh: [[[F; H]; 4]; H],
    /// Bias, `[4][H]`.
    pub b: [[F; H]; 4],
}

impl<const IN: usize, const H: usize, F: Real> LstmWeights<IN, H, F> {
    /// All zeros (the starting value of a gradient accumulator).
    pub const fn zeroed() -> Self {
        Self {
            w_ih: [[[F::ZERO; H]; 4]; IN],
            w_hh: [[[F::ZERO; H]; 4]; H],
            b: [[F::ZERO; H]; 4],
        }
    }

    /// Number of scalar parameters: `4H (IN + H + 1)`.
    pub const PARAMS: usize = 4 * H * (IN + H + 1);

    /// `W_ih` as a flat row-major `[IN, 4H]` slice.
    pub fn w_ih_flat(&self) -> &[F] {
        self.w_ih.as_flattened().as_flattened()
    }
    /// `W_hh` as a flat row-major `[H, 4H]` slice.
    pub fn w_hh_flat(&self) -> &[F] {
        self.w_hh.as_flattened().as_flattened()
    }
    /// `b` as a flat `[4H]` slice.
    pub fn b_flat(&self) -> &[F] {
        self.b.as_flattened()
    }
    /// Mutable flat `W_ih`, `[IN, 4H]`.
    pub fn w_ih_flat_mut(&mut self) -> &mut [F] {
        self.w_ih.as_flattened_mut().as_flattened_mut()
    }
    /// Mutable flat `W_hh`, `[H, 4H]`.
    pub fn w_hh_flat_mut(&mut self) -> &mut [F] {
        self.w_hh.as_flattened_mut().as_flattened_mut()
    }
    /// Mutable flat `b`, `[4H]`.
    pub fn b_flat_mut(&mut self) -> &mut [F] {
        self.b.as_flattened_mut()
    }

    /// Builds the weights from Keras tensors (flat, row-major): `kernel` `[IN, 4H]`,
    /// `recurrent_kernel` `[H, 4H]`, `bias` `[4H]`, gate order i, f, c, o.
    ///
    /// # Errors
    /// [`ShapeError`] naming the first tensor whose length is wrong.
    pub fn from_keras(
        kernel: &[F],
        recurrent_kernel: &[F],
        bias: &[F],
    ) -> Result<Self, ShapeError> {
        check("kernel", kernel, IN * 4 * H)?;
        check("recurrent_kernel", recurrent_kernel, H * 4 * H)?;
        check("bias", bias, 4 * H)?;
        let mut w = Self::zeroed();
        w.w_ih_flat_mut().copy_from_slice(kernel);
        w.w_hh_flat_mut().copy_from_slice(recurrent_kernel);
        w.b_flat_mut().copy_from_slice(bias);
        Ok(w)
    }

    /// Builds the weights from PyTorch `nn.LSTM` tensors (flat, row-major):
    /// `weight_ih` `[4H, IN]`, `weight_hh` `[4H, H]`, `bias_ih` `[4H]`, `bias_hh` `[4H]`,
    /// gate order i, f, g, o. The two biases are summed.
    ///
    /// # Errors
    /// [`ShapeError`] naming the first tensor whose length is wrong.
    pub fn from_torch(
        weight_ih: &[F],
        weight_hh: &[F],
        bias_ih: &[F],
        bias_hh: &[F],
    ) -> Result<Self, ShapeError> {
        check("weight_ih", weight_ih, 4 * H * IN)?;
        check("weight_hh", weight_hh, 4 * H * H)?;
        check("bias_ih", bias_ih, 4 * H)?;
        check("bias_hh", bias_hh, 4 * H)?;
        let mut w = Self::zeroed();
        transpose_into(weight_ih, IN, w.w_ih_flat_mut());
        transpose_into(weight_hh, H, w.w_hh_flat_mut());
        for ((d, &a), &b) in w.b_flat_mut().iter_mut().zip(bias_ih).zip(bias_hh) {
            *d = a + b;
        }
        Ok(w)
    }

    /// Writes PyTorch-layout tensors: `weight_ih` `[4H, IN]`, `weight_hh` `[4H, H]` and the
    /// bias `[4H]` (export it as `bias_ih` with a zero `bias_hh`).
    ///
    /// # Errors
    /// [`ShapeError`] naming the first output slice whose length is wrong.
    pub fn to_torch(
        &self,
        weight_ih: &mut [F],
        weight_hh: &mut [F],
        bias: &mut [F],
    ) -> Result<(), ShapeError> {
        check("weight_ih", weight_ih, 4 * H * IN)?;
        check("weight_hh", weight_hh, 4 * H * H)?;
        check("bias", bias, 4 * H)?;
        transpose_into(self.w_ih_flat(), 4 * H, weight_ih);
        transpose_into(self.w_hh_flat(), 4 * H, weight_hh);
        bias.copy_from_slice(self.b_flat());
        Ok(())
    }

    /// Keras' default initialisation for `keras.layers.LSTM`:
    /// `kernel` Glorot-uniform (`U(-l, l)`, `l = sqrt(6 / (IN + 4H))`), `recurrent_kernel`
    /// orthogonal (its `H` rows of length `4H` orthonormal, Gram-Schmidt of Gaussian rows,
    /// which equals Keras' sign-corrected QR), bias zero except the forget gate at 1
    /// (`unit_forget_bias=True`).
    ///
    /// `uniform` must return samples of `U[0, 1)`, `normal` of `N(0, 1)`; the caller owns
    /// the RNG and its seed.
    pub fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        let limit = F::from_f64(libm::sqrt(6.0 / (IN + 4 * H) as f64));
        fill_uniform(self.w_ih_flat_mut(), limit, uniform);
        let rows = self.w_hh_flat_mut();
        for r in rows.iter_mut() {
            *r = normal();
        }
        orthonormalize_rows(rows, 4 * H);
        self.b = [[F::ZERO; H]; 4];
        self.b[Gate::Forget as usize] = [F::ONE; H];
    }

    /// PyTorch's default `nn.LSTM` initialisation: every weight and both biases
    /// `U(-k, k)`, `k = 1/sqrt(H)`; the stored bias is the sum `b_ih + b_hh`.
    /// `uniform` must return samples of `U[0, 1)`.
    pub fn init_pytorch(&mut self, uniform: &mut impl FnMut() -> F) {
        let k = F::from_f64(1.0 / libm::sqrt(H as f64));
        fill_uniform(self.w_ih_flat_mut(), k, uniform);
        fill_uniform(self.w_hh_flat_mut(), k, uniform);
        for b in self.b_flat_mut() {
            let two = F::ONE + F::ONE;
            *b = (two * uniform() - F::ONE) * k + (two * uniform() - F::ONE) * k;
        }
    }
}

impl<const IN: usize, const H: usize, F: Real> Default for LstmWeights<IN, H, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Tensor order: `W_ih` `[IN][4][H]`, `W_hh` `[H][4][H]`, `b` `[4][H]` (layouts in
/// [`crate::TensorKind`]).
impl<const IN: usize, const H: usize, F: Real> Tensors<F> for LstmWeights<IN, H, F> {
    type Grads = Self;
    const COUNT: usize = 3;
    const LAYERS: usize = 1;
    fn info(i: usize) -> Option<TensorInfo> {
        layer_tensor(i, 4, IN, H, false)
    }
    fn tensor(&self, i: usize) -> &[F] {
        match i {
            0 => self.w_ih_flat(),
            1 => self.w_hh_flat(),
            2 => self.b_flat(),
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        match i {
            0 => self.w_ih_flat_mut(),
            1 => self.w_hh_flat_mut(),
            2 => self.b_flat_mut(),
            _ => &mut [],
        }
    }
}

pub(crate) fn check<F>(tensor: &'static str, s: &[F], expected: usize) -> Result<(), ShapeError> {
    if s.len() == expected {
        Ok(())
    } else {
        Err(ShapeError {
            tensor,
            expected,
            found: s.len(),
        })
    }
}

/// `dst[c][r] = src[r][c]` for `src` with `cols` columns (row-major both).
pub(crate) fn transpose_into<F: Copy>(src: &[F], cols: usize, dst: &mut [F]) {
    if cols == 0 {
        return;
    }
    let rows = src.len() / cols;
    for (r, row) in src.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            if let Some(d) = dst.get_mut(c * rows + r) {
                *d = v;
            }
        }
    }
}

/// Fills with `U(-limit, limit)` from a `U[0, 1)` source.
pub(crate) fn fill_uniform<F: Real>(dst: &mut [F], limit: F, uniform: &mut impl FnMut() -> F) {
    let two = F::ONE + F::ONE;
    for d in dst {
        *d = (two * uniform() - F::ONE) * limit;
    }
}

/// Modified Gram-Schmidt on the rows (each `cols` long) of a row-major matrix with
/// `rows <= cols`. A row that collapses to (near) zero is left as is.
pub(crate) fn orthonormalize_rows<F: Real>(m: &mut [F], cols: usize) {
    if cols == 0 {
        return;
    }
    let rows = m.len() / cols;
    for r in 0..rows {
        let (done, rest) = m.split_at_mut(r * cols);
        let Some(row) = rest.get_mut(..cols) else {
            return;
        };
        for prev in done.chunks_exact(cols) {
            let dot = prev
                .iter()
                .zip(row.iter())
                .fold(F::ZERO, |s, (&a, &b)| s + a * b);
            for (x, &p) in row.iter_mut().zip(prev) {
                *x -= dot * p;
            }
        }
        let norm = row.iter().fold(F::ZERO, |s, &x| s + x * x).sqrt();
        if norm > F::from_f64(1e-12) {
            for x in row.iter_mut() {
                *x = *x / norm;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"))]
    fn weights_start_on_a_cache_line_and_gate_slices_stay_on_lines_when_h_is_a_multiple_of_16() {
        type W = LstmWeights<8, 64, f32>;
        assert_eq!(core::mem::align_of::<W>(), 64);
        let w = W::zeroed();
        let base = core::ptr::from_ref(&w) as usize;
        assert_eq!(base % 64, 0);
        // repr(C): w_ih, then w_hh, then b, each a whole number of 1 KB rows.
        assert_eq!(core::ptr::from_ref(&w.w_hh) as usize - base, 8 * 4 * 64 * 4);
        assert_eq!(core::ptr::from_ref(&w.b) as usize % 64, 0);
    }

    /// A tiny deterministic generator (xorshift) for tests; the harness uses `rand`.
    fn xorshift(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn keras_init_gives_orthonormal_recurrent_rows_and_forget_bias_one() {
        let mut u = xorshift(7);
        let mut u2 = xorshift(99);
        // Box-Muller from two uniforms.
        let mut normal = move || {
            let a: f64 = u2().max(1e-300);
            let b: f64 = u2();
            libm::sqrt(-2.0 * libm::log(a)) * libm::cos(core::f64::consts::TAU * b)
        };
        let mut w = LstmWeights::<1, 10, f64>::zeroed();
        w.init_keras(&mut u, &mut normal);
        let m = w.w_hh_flat();
        for a in 0..10 {
            for b in 0..10 {
                let dot: f64 = (0..40).map(|k| m[a * 40 + k] * m[b * 40 + k]).sum();
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-12, "rows {a},{b}: {dot}");
            }
        }
        assert_eq!(w.b[Gate::Forget as usize], [1.0; 10]);
        assert_eq!(w.b[Gate::Input as usize], [0.0; 10]);
        let limit = libm::sqrt(6.0 / 41.0);
        assert!(w.w_ih_flat().iter().all(|x| x.abs() <= limit));
    }

    #[test]
    fn torch_import_transposes_and_sums_biases_and_export_inverts_it() {
        // weight_ih[r][k] = r * 10 + k for a [4H, IN] = [8, 3] matrix.
        let wih: [f64; 24] = core::array::from_fn(|i| (i / 3 * 10 + i % 3) as f64);
        let whh: [f64; 16] = core::array::from_fn(|i| i as f64);
        let bi = [1.0; 8];
        let bh: [f64; 8] = core::array::from_fn(|i| i as f64);
        let w = LstmWeights::<3, 2, f64>::from_torch(&wih, &whh, &bi, &bh).unwrap();
        // Row r = gate * H + j, column k -> w_ih[k][gate][j].
        assert_eq!(w.w_ih[2][3][1], 72.0);
        assert_eq!(w.b[1][0], 3.0);
        let (mut a, mut b, mut c) = ([0.0; 24], [0.0; 16], [0.0; 8]);
        w.to_torch(&mut a, &mut b, &mut c).unwrap();
        assert_eq!(a, wih);
        assert_eq!(b, whh);
    }

    #[test]
    fn importers_name_the_tensor_with_the_wrong_length() {
        let e =
            LstmWeights::<3, 2, f32>::from_keras(&[0.0; 24], &[0.0; 15], &[0.0; 8]).unwrap_err();
        assert_eq!(
            e,
            ShapeError {
                tensor: "recurrent_kernel",
                expected: 16,
                found: 15
            }
        );
    }
}
