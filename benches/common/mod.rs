//! Shared bench helpers: deterministic weights and the naive scalar baseline.
//!
//! The naive baseline is the "obvious code" the kernel is measured against: weights as
//! `[[f32; K]; G]` (`K = IN + H` inputs per gate row, `G = 4H` gate rows), one sequential
//! dot product per row, `f32::exp` / `f32::tanh` from std. It is bench-only code: it never
//! ships in the kernel.
#![allow(dead_code)]

use lstm_kernel::{
    Dense, Gru, GruVariant, GruWeights, LstmModel, LstmWeights, Model, RecurrentActivation,
};

/// A xorshift64 stream of `U[0, 1)` samples (deterministic, no dependency on `rand`'s API).
pub fn uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed.max(1);
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 40) as f32) / (1u64 << 24) as f32
    }
}

/// PyTorch-initialised weights (`U(-1/sqrt(H), 1/sqrt(H))`) from a fixed seed.
pub fn weights<const IN: usize, const H: usize>(seed: u64) -> LstmWeights<IN, H, f32> {
    let mut w = LstmWeights::zeroed();
    w.init_pytorch(&mut uniform(seed));
    w
}

/// `LSTM(IN -> H) + Dense(H -> 1)` with PyTorch-style random weights, sigmoid gates.
pub fn model<const IN: usize, const H: usize>(seed: u64) -> LstmModel<IN, H, 1, f32> {
    let mut m = Model::zeroed(RecurrentActivation::Sigmoid);
    m.rnn.weights = weights(seed);
    m.head = head(seed);
    m
}

/// `GRU(IN -> H)` (reset-after, sigmoid gates) `+ Dense(H -> 1)`, PyTorch-style random
/// weights, the head drawn as [`model`]'s.
pub fn gru_model<const IN: usize, const H: usize>(seed: u64) -> Model<Gru<IN, H>, IN, H, 1> {
    let gru = Gru::new(
        gru_weights(seed),
        GruVariant::ResetAfter,
        RecurrentActivation::Sigmoid,
    );
    Model::new(gru, head(seed))
}

/// A `Dense(H -> 1)` head with weights `U(-1, 1)` and a zero bias (a random head keeps
/// the gradients of a training bench away from zero, so Adam's moments stay normal
/// floats; a zero head makes them decay into subnormals).
fn head<const H: usize>(seed: u64) -> Dense<H, 1> {
    let mut d = Dense::zeroed();
    let mut u = uniform(seed ^ 0x5eed);
    for w in d.w.as_flattened_mut() {
        *w = 2.0 * u() - 1.0;
    }
    d
}

/// A smooth test input in `[-1, 1]` for step `t`.
pub fn input<const IN: usize>(t: usize) -> [f32; IN] {
    core::array::from_fn(|k| (0.1 * t as f32 + k as f32).sin())
}

/// The naive scalar LSTM: `w[r]` is gate row `r` over `[x; h]` (`K = IN + H` columns,
/// `G = 4H` rows, gate order i, f, g, o).
pub struct Naive<const IN: usize, const H: usize, const K: usize, const G: usize> {
    /// Gate rows, `[G][K]`.
    pub w: [[f32; K]; G],
    /// Bias, `[G]`.
    pub b: [f32; G],
}

impl<const IN: usize, const H: usize, const K: usize, const G: usize> Naive<IN, H, K, G> {
    /// The same parameters as `w`, transposed into gate rows.
    pub fn from_weights(w: &LstmWeights<IN, H, f32>) -> Self {
        assert_eq!(K, IN + H);
        assert_eq!(G, 4 * H);
        let mut n = Self {
            w: [[0.0; K]; G],
            b: [0.0; G],
        };
        for r in 0..G {
            let (gate, j) = (r / H, r % H);
            for k in 0..IN {
                n.w[r][k] = w.w_ih[k][gate][j];
            }
            for k in 0..H {
                n.w[r][IN + k] = w.w_hh[k][gate][j];
            }
            n.b[r] = w.b[gate][j];
        }
        n
    }

    /// One stateful step, the obvious way.
    pub fn step(&self, x: &[f32; IN], h: &mut [f32; H], c: &mut [f32; H]) {
        let mut xh = [0.0_f32; K];
        xh[..IN].copy_from_slice(x);
        xh[IN..].copy_from_slice(h);
        let mut z = [0.0_f32; G];
        for r in 0..G {
            let mut s = self.b[r];
            for k in 0..K {
                s += self.w[r][k] * xh[k];
            }
            z[r] = s;
        }
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        for j in 0..H {
            let i = sig(z[j]);
            let f = sig(z[H + j]);
            let g = z[2 * H + j].tanh();
            let o = sig(z[3 * H + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * c[j].tanh();
        }
    }
}

/// PyTorch-initialised GRU weights (`U(-1/sqrt(H), 1/sqrt(H))`, both biases) from a seed.
pub fn gru_weights<const IN: usize, const H: usize>(seed: u64) -> GruWeights<IN, H, f32> {
    let mut w = GruWeights::zeroed();
    w.init_pytorch(&mut uniform(seed));
    w
}

/// The naive scalar GRU (PyTorch's equations, reset-after): `wi[r]`, `wh[r]` are gate row
/// `r` (`G = 3H` rows, order r, z, n) over `x` and over `h`, one sequential dot product per
/// row, std `exp` / `tanh`.
pub struct NaiveGru<const IN: usize, const H: usize, const G: usize> {
    /// Input rows, `[G][IN]`.
    pub wi: [[f32; IN]; G],
    /// Recurrent rows, `[G][H]`.
    pub wh: [[f32; H]; G],
    /// Input bias, `[G]`.
    pub bi: [f32; G],
    /// Recurrent bias, `[G]`.
    pub bh: [f32; G],
}

impl<const IN: usize, const H: usize, const G: usize> NaiveGru<IN, H, G> {
    /// The same parameters as `w` in PyTorch's layout.
    pub fn from_weights(w: &GruWeights<IN, H, f32>) -> Self {
        assert_eq!(G, 3 * H);
        let mut n = Self {
            wi: [[0.0; IN]; G],
            wh: [[0.0; H]; G],
            bi: [0.0; G],
            bh: [0.0; G],
        };
        for r in 0..G {
            let (gate, j) = (r / H, r % H);
            for k in 0..IN {
                n.wi[r][k] = w.w_ih[k][gate][j];
            }
            for k in 0..H {
                n.wh[r][k] = w.w_hh[k][gate][j];
            }
            n.bi[r] = w.b[gate][j];
            n.bh[r] = if gate == 2 { w.b_hn[j] } else { 0.0 };
        }
        n
    }

    /// One stateful step, the obvious way.
    pub fn step(&self, x: &[f32; IN], h: &mut [f32; H]) {
        let (mut ai, mut ah) = ([0.0_f32; G], [0.0_f32; G]);
        for r in 0..G {
            let (mut s, mut t) = (self.bi[r], self.bh[r]);
            for k in 0..IN {
                s += self.wi[r][k] * x[k];
            }
            for k in 0..H {
                t += self.wh[r][k] * h[k];
            }
            ai[r] = s;
            ah[r] = t;
        }
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        for j in 0..H {
            let r = sig(ai[j] + ah[j]);
            let z = sig(ai[H + j] + ah[H + j]);
            let n = (ai[2 * H + j] + r * ah[2 * H + j]).tanh();
            h[j] = (1.0 - z) * n + z * h[j];
        }
    }
}
