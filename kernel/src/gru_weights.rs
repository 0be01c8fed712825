//! GRU parameters `W_ih`, `W_hh`, `b`, `b_hn`, stored gate-major (gate order r, z, n) for
//! broadcast multiply-add, plus import from and export to the PyTorch and Keras layouts and
//! the Keras/PyTorch default initialisations; and the [`GruVariant`] that says how `b_hn`
//! enters the candidate (equations in [`crate::cell::gru`]).

use crate::error::ShapeError;
use crate::real::Real;
use crate::tensors::{TensorInfo, Tensors, layer_tensor};
use crate::weights::{check, fill_uniform, orthonormalize_rows, transpose_into};

/// Where the GRU's reset gate acts: after the recurrent product (PyTorch, Keras
/// `reset_after=True`) or before it (Keras `reset_after=False`). Equations in the
/// [`crate::cell::gru`] docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GruVariant {
    /// `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`: PyTorch `nn.GRU`, Keras
    /// `GRU(reset_after=True)` (the default since TF2 / Keras 3), cuDNN.
    #[default]
    ResetAfter,
    /// `n = tanh(W_in x + b_in + b_hn + W_hn (r ⊙ h))`: Keras `GRU(reset_after=False)`.
    ResetBefore,
}

impl GruVariant {
    /// Both variants.
    pub const ALL: [Self; 2] = [Self::ResetAfter, Self::ResetBefore];

    /// The Rust name of the variant (`ResetAfter`, `ResetBefore`), for generated source.
    pub const fn variant(self) -> &'static str {
        match self {
            Self::ResetAfter => "ResetAfter",
            Self::ResetBefore => "ResetBefore",
        }
    }

    /// Keras' name of the setting: `reset_after` or `reset_before` (`reset_after=False`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::ResetAfter => "reset_after",
            Self::ResetBefore => "reset_before",
        }
    }
}

/// The three GRU gates in the kernel's storage order (PyTorch's r, z, n; Keras stores
/// z, r, h, with `h` for the candidate `n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GruGate {
    /// Reset gate `r = σ(a_r)`.
    Reset = 0,
    /// Update gate `z = σ(a_z)` (weights the old state: `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`).
    Update = 1,
    /// Candidate `n = tanh(a_n)` (Keras `h`).
    New = 2,
}

/// For each of the kernel's gates r, z, n: the index of the same gate's block in Keras'
/// z, r, h order.
pub const KERAS_BLOCK: [usize; 3] = [1, 0, 2];

/// Parameters of one GRU layer with `IN` inputs and `H` hidden units.
///
/// Layout (row-major, gate order r, z, n):
/// - `w_ih[k][gate][j]`: weight from input `k` to unit `j` of `gate`. Flattened `[IN, 3H]`:
///   Keras' `kernel` with its z, r blocks swapped; PyTorch's `weight_ih_l0` `[3H, IN]` is
///   its transpose.
/// - `w_hh[k][gate][j]`: weight from `h_{t-1}[k]`, `[H, 3H]` (Keras `recurrent_kernel`,
///   PyTorch `weight_hh_l0` transposed).
/// - `b[gate][j]`, `[3H]`: `b_ir + b_hr`, `b_iz + b_hz`, `b_in` (the r and z biases sum;
///   the n gate's input bias alone).
/// - `b_hn[j]`, `[H]`: the n gate's recurrent bias, inside `r ⊙ (W_hn h + b_hn)` under
///   [`GruVariant::ResetAfter`]; under [`GruVariant::ResetBefore`] it adds to `b_in`
///   (Keras' one bias is their sum), so every stored value means something in both. The
///   reset-before cell has one n bias, so there `b_hn` is not trained: its gradient is
///   zero (it stays as loaded, 0 from Keras), and an update moves the n bias as Keras'
///   would, not twice as fast.
///
/// The same type holds gradients and optimizer moments. Equations: [`crate::cell::gru`].
/// Alignment as [`crate::LstmWeights`] (64 bytes on x86, x86-64 and AArch64).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"),
    repr(C, align(64))
)]
pub struct GruWeights<const IN: usize, const H: usize, F = f32> {
    /// Input kernel, `[IN][3][H]`.
    pub w_ih: [[[F; H]; 3]; IN],
    /// Recurrent kernel, `[H][3][H]`.
    pub w_hh: [[[F; H]; 3]; H],
    /// Bias, `[3][H]` (r and z: input + recurrent; n: input).
    pub b: [[F; H]; 3],
    /// Recurrent bias of the n gate, `[H]`.
    pub b_hn: [F; H],
}

impl<const IN: usize, const H: usize, F: Real> GruWeights<IN, H, F> {
    /// All zeros (the starting value of a gradient accumulator).
    pub const fn zeroed() -> Self {
        Self {
            w_ih: [[[F::ZERO; H]; 3]; IN],
            w_hh: [[[F::ZERO; H]; 3]; H],
            b: [[F::ZERO; H]; 3],
            b_hn: [F::ZERO; H],
        }
    }

    /// Number of scalar parameters: `3H (IN + H + 1) + H`.
    pub const PARAMS: usize = 3 * H * (IN + H + 1) + H;

    /// `W_ih` as a flat row-major `[IN, 3H]` slice.
    pub fn w_ih_flat(&self) -> &[F] {
        self.w_ih.as_flattened().as_flattened()
    }
    /// `W_hh` as a flat row-major `[H, 3H]` slice.
    pub fn w_hh_flat(&self) -> &[F] {
        self.w_hh.as_flattened().as_flattened()
    }
    /// `b` as a flat `[3H]` slice.
    pub fn b_flat(&self) -> &[F] {
        self.b.as_flattened()
    }
    /// Mutable flat `W_ih`, `[IN, 3H]`.
    pub fn w_ih_flat_mut(&mut self) -> &mut [F] {
        self.w_ih.as_flattened_mut().as_flattened_mut()
    }
    /// Mutable flat `W_hh`, `[H, 3H]`.
    pub fn w_hh_flat_mut(&mut self) -> &mut [F] {
        self.w_hh.as_flattened_mut().as_flattened_mut()
    }
    /// Mutable flat `b`, `[3H]`.
    pub fn b_flat_mut(&mut self) -> &mut [F] {
        self.b.as_flattened_mut()
    }

    /// Builds the weights from PyTorch `nn.GRU` tensors (flat, row-major): `weight_ih`
    /// `[3H, IN]`, `weight_hh` `[3H, H]`, `bias_ih` `[3H]`, `bias_hh` `[3H]`, gate order
    /// r, z, n. The r and z biases are summed; `bias_hh`'s n block becomes `b_hn`. The
    /// layer is PyTorch's, i.e. [`GruVariant::ResetAfter`].
    ///
    /// # Errors
    /// [`ShapeError`] naming the first tensor whose length is wrong.
    pub fn from_torch(
        weight_ih: &[F],
        weight_hh: &[F],
        bias_ih: &[F],
        bias_hh: &[F],
    ) -> Result<Self, ShapeError> {
        check("weight_ih", weight_ih, 3 * H * IN)?;
        check("weight_hh", weight_hh, 3 * H * H)?;
        check("bias_ih", bias_ih, 3 * H)?;
        check("bias_hh", bias_hh, 3 * H)?;
        let mut w = Self::zeroed();
        transpose_into(weight_ih, IN, w.w_ih_flat_mut());
        transpose_into(weight_hh, H, w.w_hh_flat_mut());
        for (i, ((d, &a), &b)) in w
            .b_flat_mut()
            .iter_mut()
            .zip(bias_ih)
            .zip(bias_hh)
            .enumerate()
        {
            *d = if i < 2 * H { a + b } else { a };
        }
        for (d, &b) in w.b_hn.iter_mut().zip(bias_hh.iter().skip(2 * H)) {
            *d = b;
        }
        Ok(w)
    }

    /// Writes PyTorch-layout tensors: `weight_ih` `[3H, IN]`, `weight_hh` `[3H, H]`,
    /// `bias_ih` `[3H]` (= `b`) and `bias_hh` `[3H]` (zero r and z blocks, `b_hn`). Loading
    /// them with [`Self::from_torch`] gives back the same bits. Only meaningful for a
    /// [`GruVariant::ResetAfter`] layer (PyTorch has no other).
    ///
    /// # Errors
    /// [`ShapeError`] naming the first output slice whose length is wrong.
    pub fn to_torch(
        &self,
        weight_ih: &mut [F],
        weight_hh: &mut [F],
        bias_ih: &mut [F],
        bias_hh: &mut [F],
    ) -> Result<(), ShapeError> {
        check("weight_ih", weight_ih, 3 * H * IN)?;
        check("weight_hh", weight_hh, 3 * H * H)?;
        check("bias_ih", bias_ih, 3 * H)?;
        check("bias_hh", bias_hh, 3 * H)?;
        transpose_into(self.w_ih_flat(), 3 * H, weight_ih);
        transpose_into(self.w_hh_flat(), 3 * H, weight_hh);
        bias_ih.copy_from_slice(self.b_flat());
        bias_hh.fill(F::ZERO);
        for (d, &b) in bias_hh.iter_mut().skip(2 * H).zip(&self.b_hn) {
            *d = b;
        }
        Ok(())
    }

    /// Builds the weights from Keras `GRU` tensors (flat, row-major, gate order z, r, h):
    /// `kernel` `[IN, 3H]`, `recurrent_kernel` `[H, 3H]` and `bias`, whose length says the
    /// variant: `[2, 3H]` (input bias, recurrent bias) is `reset_after=True`
    /// ([`GruVariant::ResetAfter`]), `[3H]` is `reset_after=False`
    /// ([`GruVariant::ResetBefore`], `b_hn` zero).
    ///
    /// # Errors
    /// [`ShapeError`] naming the first tensor whose length is wrong (for `bias`, the
    /// expected length reported is `6H`; `3H` is accepted too).
    pub fn from_keras(
        kernel: &[F],
        recurrent_kernel: &[F],
        bias: &[F],
    ) -> Result<(Self, GruVariant), ShapeError> {
        check("kernel", kernel, IN * 3 * H)?;
        check("recurrent_kernel", recurrent_kernel, H * 3 * H)?;
        let variant = if bias.len() == 3 * H {
            GruVariant::ResetBefore
        } else {
            check("bias", bias, 6 * H)?;
            GruVariant::ResetAfter
        };
        let mut w = Self::zeroed();
        permute_keras_rows(kernel, &mut w.w_ih_flat_mut().chunks_exact_mut(3 * H), H);
        permute_keras_rows(
            recurrent_kernel,
            &mut w.w_hh_flat_mut().chunks_exact_mut(3 * H),
            H,
        );
        let (input, recurrent) = bias.split_at(3 * H);
        for (q, &kb) in KERAS_BLOCK.iter().enumerate() {
            for (j, d) in w.b[q].iter_mut().enumerate() {
                let at = kb * H + j;
                let rec = if q < 2 { recurrent.get(at) } else { None };
                *d = input[at] + rec.copied().unwrap_or(F::ZERO);
            }
        }
        if let Some(rec_n) = recurrent.get(2 * H..3 * H) {
            w.b_hn.copy_from_slice(rec_n);
        }
        Ok((w, variant))
    }

    /// Writes Keras-layout tensors (gate order z, r, h): `kernel` `[IN, 3H]`,
    /// `recurrent_kernel` `[H, 3H]` and `bias`: `[2, 3H]` for [`GruVariant::ResetAfter`]
    /// (input bias `b`, recurrent bias zero but `b_hn`), `[3H]` for
    /// [`GruVariant::ResetBefore`] (`b` with `b_hn` added to the n block).
    /// [`Self::from_keras`] reads them back to the same values (bit-exact for reset-after;
    /// reset-before keeps the sum `b_in + b_hn`, its only meaning, with `b_hn` zero).
    ///
    /// # Errors
    /// [`ShapeError`] naming the first output slice whose length is wrong.
    pub fn to_keras(
        &self,
        variant: GruVariant,
        kernel: &mut [F],
        recurrent_kernel: &mut [F],
        bias: &mut [F],
    ) -> Result<(), ShapeError> {
        check("kernel", kernel, IN * 3 * H)?;
        check("recurrent_kernel", recurrent_kernel, H * 3 * H)?;
        let bias_len = match variant {
            GruVariant::ResetAfter => 6 * H,
            GruVariant::ResetBefore => 3 * H,
        };
        check("bias", bias, bias_len)?;
        for (dst, src) in kernel
            .chunks_exact_mut(3 * H)
            .zip(self.w_ih_flat().chunks_exact(3 * H))
            .chain(
                recurrent_kernel
                    .chunks_exact_mut(3 * H)
                    .zip(self.w_hh_flat().chunks_exact(3 * H)),
            )
        {
            for (q, &kb) in KERAS_BLOCK.iter().enumerate() {
                dst[kb * H..(kb + 1) * H].copy_from_slice(&src[q * H..(q + 1) * H]);
            }
        }
        bias.fill(F::ZERO);
        for (q, &kb) in KERAS_BLOCK.iter().enumerate() {
            for (j, &v) in self.b[q].iter().enumerate() {
                bias[kb * H + j] = v;
            }
        }
        for (j, &v) in self.b_hn.iter().enumerate() {
            match variant {
                GruVariant::ResetAfter => bias[3 * H + 2 * H + j] = v,
                GruVariant::ResetBefore => bias[2 * H + j] += v,
            }
        }
        Ok(())
    }

    /// Keras' default initialisation for `keras.layers.GRU`: `kernel` Glorot-uniform
    /// (`U(-l, l)`, `l = sqrt(6 / (IN + 3H))`), `recurrent_kernel` orthogonal (its `H` rows
    /// of length `3H` orthonormal), every bias zero. `uniform` returns `U[0, 1)` samples,
    /// `normal` `N(0, 1)`; the caller owns the RNG and its seed.
    pub fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        let limit = F::from_f64(libm::sqrt(6.0 / (IN + 3 * H) as f64));
        fill_uniform(self.w_ih_flat_mut(), limit, uniform);
        let rows = self.w_hh_flat_mut();
        for r in rows.iter_mut() {
            *r = normal();
        }
        orthonormalize_rows(rows, 3 * H);
        self.b = [[F::ZERO; H]; 3];
        self.b_hn = [F::ZERO; H];
    }

    /// PyTorch's default `nn.GRU` initialisation: every weight and both biases `U(-k, k)`,
    /// `k = 1/sqrt(H)`; the stored r and z biases are the sums `b_i + b_h`.
    /// `uniform` must return samples of `U[0, 1)`.
    pub fn init_pytorch(&mut self, uniform: &mut impl FnMut() -> F) {
        let k = F::from_f64(1.0 / libm::sqrt(H as f64));
        fill_uniform(self.w_ih_flat_mut(), k, uniform);
        fill_uniform(self.w_hh_flat_mut(), k, uniform);
        let two = F::ONE + F::ONE;
        let mut u = || (two * uniform() - F::ONE) * k;
        for (i, b) in self.b_flat_mut().iter_mut().enumerate() {
            *b = if i < 2 * H { u() + u() } else { u() };
        }
        for b in &mut self.b_hn {
            *b = u();
        }
    }
}

/// Copies Keras rows (z, r, h blocks of `h` columns each) into kernel rows (r, z, n).
fn permute_keras_rows<'a, F: Copy + 'a>(
    src: &[F],
    dst: &mut impl Iterator<Item = &'a mut [F]>,
    h: usize,
) {
    for (d, s) in dst.zip(src.chunks_exact(3 * h)) {
        for (q, &kb) in KERAS_BLOCK.iter().enumerate() {
            d[q * h..(q + 1) * h].copy_from_slice(&s[kb * h..(kb + 1) * h]);
        }
    }
}

impl<const IN: usize, const H: usize, F: Real> Default for GruWeights<IN, H, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// Tensor order: `W_ih` `[IN][3][H]`, `W_hh` `[H][3][H]`, `b` `[3][H]`, `b_hn` `[1][H]`
/// (layouts in [`crate::TensorKind`]).
impl<const IN: usize, const H: usize, F: Real> Tensors<F> for GruWeights<IN, H, F> {
    type Grads = Self;
    const COUNT: usize = 4;
    const LAYERS: usize = 1;
    fn info(i: usize) -> Option<TensorInfo> {
        layer_tensor(i, 3, IN, H, true)
    }
    fn tensor(&self, i: usize) -> &[F] {
        match i {
            0 => self.w_ih_flat(),
            1 => self.w_hh_flat(),
            2 => self.b_flat(),
            3 => &self.b_hn,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        match i {
            0 => self.w_ih_flat_mut(),
            1 => self.w_hh_flat_mut(),
            2 => self.b_flat_mut(),
            3 => &mut self.b_hn,
            _ => &mut [],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LayerKind, LstmWeights};

    #[test]
    fn the_run_time_walk_of_each_layer_kind_is_its_weights_walk() {
        fn check<W: Tensors<f32>>(kind: LayerKind, input: usize, hidden: usize) {
            for j in 0..=W::COUNT {
                assert_eq!(
                    kind.tensor_info(j, input, hidden),
                    W::info(j),
                    "{kind:?} {j}"
                );
            }
            let total: usize = (0..W::COUNT)
                .filter_map(|j| kind.tensor_info(j, input, hidden))
                .map(|t| t.len())
                .sum();
            assert_eq!(Some(total), kind.params(input, hidden));
        }
        check::<LstmWeights<3, 5, f32>>(LayerKind::Lstm, 3, 5);
        check::<GruWeights<7, 2, f32>>(LayerKind::Gru(GruVariant::ResetBefore), 7, 2);
        check::<GruWeights<1, 1, f32>>(LayerKind::Gru(GruVariant::ResetAfter), 1, 1);
    }

    #[test]
    fn torch_import_sums_r_z_biases_keeps_b_hn_and_export_inverts_it() {
        // weight_ih[r][k] = r * 10 + k for a [3H, IN] = [6, 3] matrix.
        let wih: [f64; 18] = core::array::from_fn(|i| (i / 3 * 10 + i % 3) as f64);
        let whh: [f64; 12] = core::array::from_fn(|i| i as f64);
        let bi: [f64; 6] = core::array::from_fn(|i| 100.0 + i as f64);
        let bh: [f64; 6] = core::array::from_fn(|i| i as f64);
        let w = GruWeights::<3, 2, f64>::from_torch(&wih, &whh, &bi, &bh).unwrap();
        // Row r = gate * H + j, column k -> w_ih[k][gate][j].
        assert_eq!(w.w_ih[2][2][1], 52.0);
        assert_eq!(w.b[0], [100.0, 102.0]);
        assert_eq!(w.b[1], [104.0, 106.0]);
        assert_eq!(w.b[2], [104.0, 105.0]);
        assert_eq!(w.b_hn, [4.0, 5.0]);
        let (mut a, mut b, mut c, mut d) = ([0.0; 18], [0.0; 12], [0.0; 6], [0.0; 6]);
        w.to_torch(&mut a, &mut b, &mut c, &mut d).unwrap();
        assert_eq!(a, wih);
        assert_eq!(b, whh);
        let back = GruWeights::<3, 2, f64>::from_torch(&a, &b, &c, &d).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn keras_blocks_are_permuted_and_the_bias_length_names_the_variant() {
        const H: usize = 2;
        // kernel[k][col]: col = block * H + j, value = 10 * block + j (+ 100 k).
        let kernel: [f64; 6] = core::array::from_fn(|c| (10 * (c / H) + c % H) as f64);
        let rec: [f64; 12] =
            core::array::from_fn(|i| (100 * (i / 6) + 10 * (i % 6 / H) + i % H) as f64);
        let bias2: [f64; 12] = core::array::from_fn(|i| i as f64);
        let (w, v) = GruWeights::<1, H, f64>::from_keras(&kernel, &rec, &bias2).unwrap();
        assert_eq!(v, GruVariant::ResetAfter);
        // Our r (q = 0) is Keras block 1, our z Keras block 0.
        assert_eq!(w.w_ih[0][0], [10.0, 11.0]);
        assert_eq!(w.w_ih[0][1], [0.0, 1.0]);
        assert_eq!(w.w_hh[1][2], [120.0, 121.0]);
        // b_r = b_in_r + b_rec_r (Keras block 1 of each row): (2 + 8, 3 + 9).
        assert_eq!(w.b[0], [10.0, 12.0]);
        assert_eq!(w.b[2], [4.0, 5.0]);
        assert_eq!(w.b_hn, [10.0, 11.0]);
        let (mut k2, mut r2, mut b2) = ([0.0; 6], [0.0; 12], [0.0; 12]);
        w.to_keras(v, &mut k2, &mut r2, &mut b2).unwrap();
        assert_eq!((k2, r2), (kernel, rec));
        let (again, _) = GruWeights::<1, H, f64>::from_keras(&k2, &r2, &b2).unwrap();
        assert_eq!(again, w);
        let (w1, v1) = GruWeights::<1, H, f64>::from_keras(&kernel, &rec, &bias2[..6]).unwrap();
        assert_eq!(v1, GruVariant::ResetBefore);
        assert_eq!((w1.b[1], w1.b_hn), ([0.0, 1.0], [0.0; H]));
        let e = GruWeights::<1, H, f64>::from_keras(&kernel, &rec, &bias2[..5]).unwrap_err();
        assert_eq!(
            e,
            ShapeError {
                tensor: "bias",
                expected: 12,
                found: 5
            }
        );
    }
}
