//! Compile-time stacks of recurrent layers: [`Stack`] puts one [`Recurrent`] on another
//! (`IN -> MID -> H`), and is itself [`Recurrent`], so any depth nests
//! (`Stack<L1, Stack<L2, L3, H2>, H1>`; aliases [`Lstm2`], [`Lstm3`]). The same struct pairs
//! the layers' states, tape records and gradients, so each of them nests the same way.
//!
//! A stack's step runs the lower layer, then the upper on the lower's `h_t`. Its backward
//! step runs the upper layer's backward (which returns `dL/dx_t` of the upper layer, i.e.
//! `dL/dh_t` of the lower), then the lower's: BPTT through the whole stack, newest step
//! first. Its state holds every layer's state, so truncated BPTT chains every layer's
//! `(h, c)` gradient across windows. PyTorch's `nn.LSTM(num_layers = L)` (dropout 0) and
//! `L` stacked Keras `LSTM(return_sequences=True)` layers compute exactly this.

use crate::backend::{Float, Kernels};
use crate::lstm::Lstm;
use crate::recurrent::{LayerKind, LayerSettings, Recurrent};
use crate::state::StreamState;
use crate::tensors::{TensorInfo, Tensors};

/// Two things, one per part of a stack: the lower (fed by `x_t`) and the upper (fed by the
/// lower's output, `MID` wide). Used for layers, states, records and gradients alike.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stack<A, B, const MID: usize> {
    /// The lower part (layer 0 and up).
    pub lower: A,
    /// The upper part, fed by the lower part's output.
    pub upper: B,
}

impl<A, B, const MID: usize> Stack<A, B, MID> {
    /// The pair `(lower, upper)`.
    pub const fn new(lower: A, upper: B) -> Self {
        Self { lower, upper }
    }
}

/// Two LSTM layers, `IN -> H1 -> H2` (PyTorch `nn.LSTM(num_layers=2)` when `H1 = H2`).
pub type Lstm2<const IN: usize, const H1: usize, const H2: usize, F = f32> =
    Stack<Lstm<IN, H1, F>, Lstm<H1, H2, F>, H1>;

/// Three LSTM layers, `IN -> H1 -> H2 -> H3`.
pub type Lstm3<const IN: usize, const H1: usize, const H2: usize, const H3: usize, F = f32> =
    Stack<Lstm<IN, H1, F>, Lstm2<H1, H2, H3, F>, H1>;

impl<A: StreamState, B: StreamState, const MID: usize> StreamState for Stack<A, B, MID> {
    fn zeroed() -> Self {
        Self::new(A::zeroed(), B::zeroed())
    }
}

/// The lower part's tensors, then the upper part's (layer indices shifted up).
impl<F, A: Tensors<F>, B: Tensors<F>, const MID: usize> Tensors<F> for Stack<A, B, MID> {
    type Grads = Stack<A::Grads, B::Grads, MID>;
    const COUNT: usize = A::COUNT + B::COUNT;
    const LAYERS: usize = A::LAYERS + B::LAYERS;
    fn info(i: usize) -> Option<TensorInfo> {
        if i < A::COUNT {
            A::info(i)
        } else {
            B::info(i - A::COUNT).map(|t| t.shifted(A::LAYERS))
        }
    }
    fn tensor(&self, i: usize) -> &[F] {
        if i < A::COUNT {
            self.lower.tensor(i)
        } else {
            self.upper.tensor(i - A::COUNT)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        if i < A::COUNT {
            self.lower.tensor_mut(i)
        } else {
            self.upper.tensor_mut(i - A::COUNT)
        }
    }
}

impl<const IN: usize, const MID: usize, const H: usize, F, A, B> Recurrent<IN, H, F>
    for Stack<A, B, MID>
where
    F: Float,
    A: Recurrent<IN, MID, F>,
    B: Recurrent<MID, H, F>,
{
    type State = Stack<A::State, B::State, MID>;
    type Record = Stack<A::Record, B::Record, MID>;

    #[inline]
    fn zero_record() -> Self::Record {
        Stack::new(A::zero_record(), B::zero_record())
    }

    #[inline]
    fn output(state: &Self::State) -> &[F; H] {
        B::output(&state.upper)
    }

    #[inline]
    fn record_output(record: &Self::Record) -> [F; H] {
        B::record_output(&record.upper)
    }

    #[inline]
    fn step_with<K: Kernels<F>>(&self, x: &[F; IN], state: &mut Self::State) {
        self.lower.step_with::<K>(x, &mut state.lower);
        self.upper
            .step_with::<K>(A::output(&state.lower), &mut state.upper);
    }

    #[inline]
    fn step_record_with<K: Kernels<F>>(
        &self,
        x: &[F; IN],
        state: &mut Self::State,
        record: &mut Self::Record,
    ) {
        self.lower
            .step_record_with::<K>(x, &mut state.lower, &mut record.lower);
        self.upper.step_record_with::<K>(
            A::output(&state.lower),
            &mut state.upper,
            &mut record.upper,
        );
    }

    fn backward_step_with<K: Kernels<F>>(
        &self,
        record: &Self::Record,
        dh: Option<&[F; H]>,
        d: &mut Self::State,
        grads: &mut Self::Grads,
        dx: Option<&mut [F; IN]>,
    ) {
        let mut dmid = [F::ZERO; MID];
        self.upper.backward_step_with::<K>(
            &record.upper,
            dh,
            &mut d.upper,
            &mut grads.upper,
            Some(&mut dmid),
        );
        self.lower.backward_step_with::<K>(
            &record.lower,
            Some(&dmid),
            &mut d.lower,
            &mut grads.lower,
            dx,
        );
    }

    fn settings(&self, layer: usize) -> Option<LayerSettings> {
        match layer.checked_sub(A::LAYERS) {
            None => self.lower.settings(layer),
            Some(k) => self.upper.settings(k),
        }
    }

    fn set_settings(&mut self, layer: usize, s: LayerSettings) -> bool {
        match layer.checked_sub(A::LAYERS) {
            None => self.lower.set_settings(layer, s),
            Some(k) => self.upper.set_settings(k, s),
        }
    }

    fn kind(&self, layer: usize) -> Option<LayerKind> {
        match layer.checked_sub(A::LAYERS) {
            None => self.lower.kind(layer),
            Some(k) => self.upper.kind(k),
        }
    }

    fn set_kind(&mut self, layer: usize, kind: LayerKind) -> bool {
        match layer.checked_sub(A::LAYERS) {
            None => self.lower.set_kind(layer, kind),
            Some(k) => self.upper.set_kind(k, kind),
        }
    }

    fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        self.lower.init_keras(uniform, normal);
        self.upper.init_keras(uniform, normal);
    }
}
