//! In-place optimizers: Adam (Keras or PyTorch epsilon placement) and plain SGD, over any
//! set of parameter tensors exposed through [`Tensors`].

use crate::backend::{Float, Primitives};
use crate::error::NonFiniteGradient;
pub use crate::primitives::AdamUpdate;
use crate::real::Real;
use crate::tensors::Tensors;

/// Where Adam adds `eps` (the two frameworks differ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpsPlacement {
    /// Keras (`keras.optimizers.Adam`): `α = lr·sqrt(1-β2^t)/(1-β1^t)`,
    /// `p -= α·m / (sqrt(v) + eps)`: eps on the **uncorrected** `sqrt(v)`.
    #[default]
    Keras,
    /// PyTorch (`torch.optim.Adam`): `p -= lr·m̂ / (sqrt(v̂) + eps)` with
    /// `m̂ = m/(1-β1^t)`, `v̂ = v/(1-β2^t)`: eps on the bias-corrected `sqrt(v̂)`.
    PyTorch,
}

/// Adam hyper-parameters. [`Default`] gives Keras' defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig<F = f32> {
    /// Learning rate. Keras default `0.001`.
    pub lr: F,
    /// First-moment decay β1. Default `0.9`.
    pub beta1: F,
    /// Second-moment decay β2. Default `0.999`.
    pub beta2: F,
    /// Denominator epsilon. Keras default `1e-7` (PyTorch's is `1e-8`).
    pub eps: F,
    /// Where `eps` is added. Default [`EpsPlacement::Keras`].
    pub eps_placement: EpsPlacement,
}

impl<F: Real> AdamConfig<F> {
    /// Keras defaults: `lr 1e-3, β1 0.9, β2 0.999, eps 1e-7`, Keras placement.
    pub fn keras() -> Self {
        Self {
            lr: F::from_f64(1e-3),
            beta1: F::from_f64(0.9),
            beta2: F::from_f64(0.999),
            eps: F::from_f64(1e-7),
            eps_placement: EpsPlacement::Keras,
        }
    }

    /// PyTorch defaults: `lr 1e-3, β1 0.9, β2 0.999, eps 1e-8`, PyTorch placement.
    pub fn pytorch() -> Self {
        Self {
            eps: F::from_f64(1e-8),
            eps_placement: EpsPlacement::PyTorch,
            ..Self::keras()
        }
    }
}

impl<F: Real> Default for AdamConfig<F> {
    fn default() -> Self {
        Self::keras()
    }
}

/// Adam (Kingma & Ba 2015) with state `m`, `v` shaped like the gradients `G`, and the step
/// count `t`. Updates: `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`, then the
/// placement-specific parameter update of [`EpsPlacement`].
#[derive(Clone, Debug)]
pub struct Adam<G, F = f32> {
    /// Hyper-parameters.
    pub config: AdamConfig<F>,
    /// First moment.
    pub m: G,
    /// Second moment.
    pub v: G,
    /// Steps taken so far.
    pub t: u32,
}

impl<G: Tensors<F>, F: Float> Adam<G, F> {
    /// A fresh optimizer; `zero` must be an all-zero value of the gradient type.
    pub fn new(config: AdamConfig<F>, zero: G) -> Self
    where
        G: Clone,
    {
        Self {
            config,
            m: zero.clone(),
            v: zero,
            t: 0,
        }
    }

    /// One update of `params` from `grads` (which must be `params`' own gradient type).
    ///
    /// ```
    /// use lstm_kernel::{Adam, AdamConfig, LstmGrads, LstmModel, RecurrentActivation};
    /// let mut model = LstmModel::<1, 10, 1>::zeroed(RecurrentActivation::Sigmoid);
    /// let mut adam = Adam::new(AdamConfig::keras(), LstmGrads::<1, 10, 1>::zeroed());
    /// let mut grads = LstmGrads::zeroed();
    /// grads.head.b[0] = 0.5;
    /// adam.step(&mut model, &grads).unwrap();
    /// // Adam's first step moves every parameter with a non-zero gradient by about lr.
    /// assert!((model.head.b[0] + 1e-3).abs() < 1e-6);
    /// ```
    ///
    /// Gradients of another model's shape do not compile:
    ///
    /// ```compile_fail
    /// use lstm_kernel::{Adam, AdamConfig, LstmGrads, LstmModel, RecurrentActivation};
    /// let mut model = LstmModel::<1, 10, 1>::zeroed(RecurrentActivation::Sigmoid);
    /// let mut adam = Adam::new(AdamConfig::keras(), LstmGrads::<1, 4, 1>::zeroed());
    /// adam.step(&mut model, &LstmGrads::<1, 4, 1>::zeroed()).unwrap();
    /// ```
    ///
    /// The hyper-parameters are not validated: a NaN or negative `lr` is the caller's
    /// responsibility (it would make every parameter NaN or ascend the loss).
    ///
    /// # Errors
    /// [`NonFiniteGradient`] if any gradient is NaN or infinite; then nothing changes
    /// (parameters, moments and `t` are untouched).
    pub fn step<P: Tensors<F, Grads = G>>(
        &mut self,
        params: &mut P,
        grads: &G,
    ) -> Result<(), NonFiniteGradient> {
        check_finite(grads)?;
        self.t = self.t.saturating_add(1);
        let c = &self.config;
        let t = F::from_f64(f64::from(self.t));
        let bc1 = F::ONE - c.beta1.powf(t);
        let bc2 = F::ONE - c.beta2.powf(t);
        // p -= step * m / (sqrt(v) * v_scale + eps)
        let (step, v_scale) = match c.eps_placement {
            EpsPlacement::Keras => (c.lr * bc2.sqrt() / bc1, F::ONE),
            EpsPlacement::PyTorch => (c.lr / bc1, F::ONE / bc2.sqrt()),
        };
        let update = AdamUpdate {
            beta1: c.beta1,
            beta2: c.beta2,
            step,
            v_scale,
            eps: c.eps,
        };
        for i in 0..G::COUNT.min(P::COUNT) {
            F::Kernels::adam_update(
                params.tensor_mut(i),
                grads.tensor(i),
                self.m.tensor_mut(i),
                self.v.tensor_mut(i),
                update,
            );
        }
        Ok(())
    }
}

/// Plain stochastic gradient descent: `p -= lr · g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<F = f32> {
    /// Learning rate.
    pub lr: F,
}

impl<F: Float> Sgd<F> {
    /// One update of `params` from `grads`.
    ///
    /// # Errors
    /// [`NonFiniteGradient`] if any gradient is NaN or infinite; then nothing changes.
    pub fn step<P: Tensors<F>>(
        &self,
        params: &mut P,
        grads: &P::Grads,
    ) -> Result<(), NonFiniteGradient> {
        check_finite(grads)?;
        for i in 0..P::COUNT {
            for (p, &g) in params.tensor_mut(i).iter_mut().zip(grads.tensor(i)) {
                *p -= self.lr * g;
            }
        }
        Ok(())
    }
}

fn check_finite<F: Float, G: Tensors<F>>(grads: &G) -> Result<(), NonFiniteGradient> {
    for tensor in 0..G::COUNT {
        let g = grads.tensor(tensor);
        if F::Kernels::all_finite(g) {
            continue;
        }
        if let Some(index) = g.iter().position(|g| !g.is_finite()) {
            return Err(NonFiniteGradient { tensor, index });
        }
    }
    Ok(())
}
