//! The interface every recurrent layer and every stack of layers implements
//! ([`Recurrent`]), and the caller-owned [`Tape`] that records a window for BPTT.
//!
//! A layer maps `x_t` (`[IN]`) and its per-stream state to `h_t` (`[H]`, read from the
//! state with [`Recurrent::output`]). Forward, backward and update:
//! - [`Recurrent::step`] streams one step in place (inference);
//! - [`Recurrent::forward_window`] records up to `T` steps on a [`Tape`];
//! - [`Recurrent::backward_window`] runs BPTT over it, accumulating into gradients shaped
//!   like the parameters, and returns the gradient w.r.t. the window's initial state (so
//!   truncated BPTT chains window to window);
//!   [`Recurrent::backward_window_dx`] also writes `dL/dx_t` for every step, so a layer can
//!   sit on another (a [`crate::Stack`] does exactly that, step by step).
//!
//! Layer: above [`crate::backend`]; implemented by [`crate::Lstm`], [`crate::Gru`] and
//! [`crate::Stack`].

use heapless::Vec;

use crate::activation::{Maths, RecurrentActivation};
use crate::backend::{Float, Kernels};
use crate::error::WindowTooLong;
use crate::gru_weights::GruVariant;
use crate::state::{BatchState, StreamState};
use crate::tensors::{TensorInfo, Tensors, layer_tensor};

/// A caller-owned record of up to `T` forward steps of a layer or stack whose per-step
/// record type is `R` ([`Recurrent::Record`]), for BPTT.
///
/// Size: `T · size_of::<R>()` bytes plus one `usize` (an LSTM layer's record is
/// `(IN + 7H)` scalars: `T = 20, IN = 1, H = 10`, `f32`: 5,680 bytes). Lives wherever the
/// caller puts it (stack or `static`).
#[derive(Clone, Debug)]
pub struct Tape<const T: usize, R> {
    steps: Vec<R, T>,
}

impl<const T: usize, R> Tape<T, R> {
    /// An empty tape.
    pub const fn new() -> Self {
        Self { steps: Vec::new() }
    }
    /// The recorded steps, oldest first.
    pub fn steps(&self) -> &[R] {
        &self.steps
    }
    /// Number of recorded steps (`<= T`).
    pub fn len(&self) -> usize {
        self.steps.len()
    }
    /// True if nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
    /// Forgets all recorded steps.
    pub fn clear(&mut self) {
        self.steps.clear();
    }
    /// Makes the tape `min(steps, T)` records long, keeping the records it has and adding
    /// `zero` records (what a lock-step forward pass does before it writes step `t` of every
    /// row; every step overwrites its whole record, so a reused tape is not rewritten
    /// first).
    pub(crate) fn resize(&mut self, steps: usize, zero: R)
    where
        R: Copy,
    {
        self.steps.truncate(steps);
        while self.steps.len() < steps {
            if self.steps.push(zero).is_err() {
                break;
            }
        }
    }
    /// The record of step `t`, mutable (`None` past the recorded steps).
    pub(crate) fn step_mut(&mut self, t: usize) -> Option<&mut R> {
        self.steps.get_mut(t)
    }
}

impl<const T: usize, R> Default for Tape<T, R> {
    fn default() -> Self {
        Self::new()
    }
}

/// The run-time choices of one recurrent layer (what a model file stores per layer besides
/// its sizes and weights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct LayerSettings {
    /// Activation of the gates (`σ` of i, f, o for the LSTM).
    pub activation: RecurrentActivation,
    /// How the transcendental activations are evaluated.
    pub maths: Maths,
}

/// The cell type of a recurrent layer (with the GRU's variant): what a model file's layer
/// table stores as the layer kind, and the names the harness's `--cell` takes. The one
/// list of cell kinds, with their file codes, names and gate counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// LSTM, 4 gates i, f, g, o (file code `0`, name `lstm`).
    Lstm,
    /// GRU, 3 gates r, z, n: [`GruVariant::ResetAfter`] is code `1`, name `gru` (PyTorch,
    /// Keras `reset_after=True`); [`GruVariant::ResetBefore`] code `2`, name
    /// `gru-reset-before` (Keras `reset_after=False`).
    Gru(GruVariant),
}

impl LayerKind {
    /// Every kind, in code order.
    pub const ALL: [Self; 3] = [
        Self::Lstm,
        Self::Gru(GruVariant::ResetAfter),
        Self::Gru(GruVariant::ResetBefore),
    ];

    /// The kind's file code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Lstm => 0,
            Self::Gru(GruVariant::ResetAfter) => 1,
            Self::Gru(GruVariant::ResetBefore) => 2,
        }
    }

    /// The kind of a file code; `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Lstm),
            1 => Some(Self::Gru(GruVariant::ResetAfter)),
            2 => Some(Self::Gru(GruVariant::ResetBefore)),
            _ => None,
        }
    }

    /// The kind's name: `lstm`, `gru`, `gru-reset-before`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Lstm => "lstm",
            Self::Gru(GruVariant::ResetAfter) => "gru",
            Self::Gru(GruVariant::ResetBefore) => "gru-reset-before",
        }
    }

    /// The kind of a name ([`Self::name`]); `None` for any other string.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Gates per unit (the `G` of `[K][G][H]`): 4 for the LSTM, 3 for the GRU.
    pub const fn gates(self) -> usize {
        match self {
            Self::Lstm => 4,
            Self::Gru(_) => 3,
        }
    }

    /// Whether two kinds are the same cell type (a GRU of either variant is a GRU).
    pub const fn same_cell(self, other: Self) -> bool {
        matches!(
            (self, other),
            (Self::Lstm, Self::Lstm) | (Self::Gru(_), Self::Gru(_))
        )
    }

    /// Tensor `j` of a layer of this kind at run-time sizes: the walk its weights
    /// ([`crate::LstmWeights`], [`crate::GruWeights`]) have at const sizes
    /// ([`crate::layer_tensor`]); `None` past the last (LSTM 3 tensors, GRU 4).
    pub const fn tensor_info(self, j: usize, input: usize, hidden: usize) -> Option<TensorInfo> {
        layer_tensor(j, self.gates(), input, hidden, matches!(self, Self::Gru(_)))
    }

    /// Parameters of a layer of this kind: `G·H·(input + H + 1)`, plus `H` for the GRU's
    /// `b_hn`; `None` on overflow.
    pub const fn params(self, input: usize, hidden: usize) -> Option<usize> {
        let extra = match self {
            Self::Lstm => 0,
            Self::Gru(_) => hidden,
        };
        match input.checked_add(hidden) {
            Some(s) => match s.checked_add(1) {
                Some(s) => match s.checked_mul(hidden) {
                    Some(p) => match p.checked_mul(self.gates()) {
                        Some(p) => p.checked_add(extra),
                        None => None,
                    },
                    None => None,
                },
                None => None,
            },
            None => None,
        }
    }
}

/// A recurrent layer (or a stack of them) from `IN` inputs to `H` outputs per step, over the
/// scalar type `F`. Its parameters are a [`Tensors`] walk; `Grads` holds their gradients.
///
/// Every operation comes in two forms: `name` runs the [`crate::backend::DefaultBackend`]
/// kernels and `name_with::<K>` takes the kernels explicitly (tests run both).
pub trait Recurrent<const IN: usize, const H: usize, F: Float>: Tensors<F> {
    /// One stream's state; the same type carries the gradient w.r.t. that state.
    type State: StreamState;
    /// What backward needs from one forward step (plain data, like the state).
    type Record: Copy + core::fmt::Debug + Send + Sync;

    /// A record with every value zero (what a [`Tape`] slot starts as before a step fills it).
    fn zero_record() -> Self::Record;

    /// The layer's output `h_t` in a state.
    fn output(state: &Self::State) -> &[F; H];

    /// The output `h_t` of a recorded step (recomputed from the record where needed).
    fn record_output(record: &Self::Record) -> [F; H];

    /// One stateful step: reads `x_t` (`[IN]`) and the state at `t - 1`, leaves the state at
    /// `t` (whose [`Self::output`] is `h_t`).
    fn step_with<K: Kernels<F>>(&self, x: &[F; IN], state: &mut Self::State);

    /// [`Self::step_with`], also filling `record` with what backward needs.
    fn step_record_with<K: Kernels<F>>(
        &self,
        x: &[F; IN],
        state: &mut Self::State,
        record: &mut Self::Record,
    );

    /// Backward through one recorded step (steps are taken newest first).
    ///
    /// - `dh`: `dL/dh_t` from above (the loss, or the layer on top); `None` for zero.
    /// - `d`: on entry the gradient w.r.t. the state at `t` flowing from later steps; on exit
    ///   the gradient w.r.t. the state at `t - 1`.
    /// - `grads`: accumulated (`+=`).
    /// - `dx`: if given, set to `dL/dx_t` (written, not accumulated).
    fn backward_step_with<K: Kernels<F>>(
        &self,
        record: &Self::Record,
        dh: Option<&[F; H]>,
        d: &mut Self::State,
        grads: &mut Self::Grads,
        dx: Option<&mut [F; IN]>,
    );

    /// [`Self::step_with`] for `R` streams in lock step (inference): stream `r` reads
    /// `xs[r]` and advances `states[r]`. Bit for bit `R` single-stream steps (the default;
    /// [`crate::Lstm`] overrides it as [`Self::step_record_rows_with`]).
    #[inline]
    fn step_rows_with<K: Kernels<F>, const R: usize>(
        &self,
        xs: [&[F; IN]; R],
        states: [&mut Self::State; R],
    ) {
        for (x, s) in xs.into_iter().zip(states) {
            self.step_with::<K>(x, s);
        }
    }

    /// [`Self::step_record_with`] for `R` streams in lock step (one step of `R` rows of a
    /// mini-batch): stream `r` reads `xs[r]` (`[IN]`), advances `states[r]` and fills
    /// `records[r]`. Bit for bit `R` single-stream calls, which is the default; a layer
    /// overrides it to read each weight once per `R` streams ([`crate::Lstm`] does, through
    /// [`crate::primitives::Primitives::gemm_t_acc_rows`]).
    #[inline]
    fn step_record_rows_with<K: Kernels<F>, const R: usize>(
        &self,
        xs: [&[F; IN]; R],
        states: [&mut Self::State; R],
        records: [&mut Self::Record; R],
    ) {
        for ((x, s), r) in xs.into_iter().zip(states).zip(records) {
            self.step_record_with::<K>(x, s, r);
        }
    }

    /// [`Self::backward_step_with`] for `R` streams at the same step: row `r` takes
    /// `records[r]`, `dh[r]`, `d[r]` and `dx[r]` as the single-stream call takes them, and
    /// the rows' gradients are accumulated into `grads` in row order. Bit for bit `R`
    /// single-stream calls in row order (the default; [`crate::Lstm`] overrides it with
    /// rank-`R` weight-gradient updates).
    #[inline]
    fn backward_step_rows_with<K: Kernels<F>, const R: usize>(
        &self,
        records: [&Self::Record; R],
        dh: [Option<&[F; H]>; R],
        d: [&mut Self::State; R],
        grads: &mut Self::Grads,
        dx: [Option<&mut [F; IN]>; R],
    ) {
        for (((r, dh), d), dx) in records.into_iter().zip(dh).zip(d).zip(dx) {
            self.backward_step_with::<K>(r, dh, d, grads, dx);
        }
    }

    /// The settings of recurrent layer `layer` (0 = bottom; `None` past the top).
    fn settings(&self, layer: usize) -> Option<LayerSettings>;

    /// Sets the settings of recurrent layer `layer`; `false` (nothing changed) past the top.
    fn set_settings(&mut self, layer: usize, settings: LayerSettings) -> bool;

    /// The cell kind of recurrent layer `layer` (0 = bottom; `None` past the top).
    fn kind(&self, layer: usize) -> Option<LayerKind>;

    /// Sets the kind of recurrent layer `layer` where the layer can be it (a GRU layer
    /// takes either GRU variant); `false` (nothing changed) for another cell type or past
    /// the top.
    fn set_kind(&mut self, layer: usize, kind: LayerKind) -> bool;

    /// Keras' default initialisation of every layer, bottom first (for an LSTM layer:
    /// [`crate::LstmWeights::init_keras`]). `uniform` returns `U[0, 1)` samples, `normal`
    /// `N(0, 1)`; the caller owns the RNG and its seed.
    fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F);

    /// [`Self::step_with`] on the default backend.
    #[inline]
    fn step(&self, x: &[F; IN], state: &mut Self::State) {
        self.step_with::<F::Kernels>(x, state);
    }

    /// One step for `B` independent streams: row `r` reads `xs[r]` (`[B][IN]`) and advances
    /// `batch.rows[r]`.
    #[inline]
    fn step_batch<const B: usize>(
        &self,
        xs: &[[F; IN]; B],
        batch: &mut BatchState<B, Self::State>,
    ) {
        self.step_batch_with::<F::Kernels, B>(xs, batch);
    }

    /// [`Self::step_batch`] with explicit kernels.
    fn step_batch_with<K: Kernels<F>, const B: usize>(
        &self,
        xs: &[[F; IN]; B],
        batch: &mut BatchState<B, Self::State>,
    ) {
        for (x, s) in xs.iter().zip(batch.rows.iter_mut()) {
            self.step_with::<K>(x, s);
        }
    }

    /// Runs a window of steps from `state`, recording each step on `tape` (cleared first)
    /// for [`Self::backward_window`]. `xs` is `[steps][IN]` with `steps <= T`; `state`
    /// ends as the state after the last step.
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; then neither `state` nor `tape` is touched.
    fn forward_window<const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut Self::State,
        tape: &mut Tape<T, Self::Record>,
    ) -> Result<(), WindowTooLong> {
        self.forward_window_with::<F::Kernels, T>(xs, state, tape)
    }

    /// [`Self::forward_window`] with explicit kernels.
    fn forward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut Self::State,
        tape: &mut Tape<T, Self::Record>,
    ) -> Result<(), WindowTooLong> {
        if xs.len() > T {
            return Err(WindowTooLong {
                steps: xs.len(),
                capacity: T,
            });
        }
        tape.steps.clear();
        for x in xs {
            // Capacity was checked above, so the push cannot fail.
            if tape.steps.push(Self::zero_record()).is_err() {
                break;
            }
            if let Some(r) = tape.steps.last_mut() {
                self.step_record_with::<K>(x, state, r);
            }
        }
        Ok(())
    }

    /// BPTT through the steps recorded on `tape`, accumulating (`+=`) into `grads`.
    ///
    /// - `dh_out`: `dL/dh_t` from the loss for the **last** `dh_out.len()` steps of the
    ///   window (`[steps][H]`; one row for a many-to-one loss, one per step for
    ///   many-to-many). Extra leading rows beyond the tape length are ignored.
    /// - `d_final`: the gradient w.r.t. the window's final state, flowing in from the
    ///   future (from the next window in truncated BPTT; zeros otherwise).
    ///
    /// Returns the gradient w.r.t. the window's initial state, so windows chain.
    fn backward_window<const T: usize>(
        &self,
        tape: &Tape<T, Self::Record>,
        dh_out: &[[F; H]],
        d_final: &Self::State,
        grads: &mut Self::Grads,
    ) -> Self::State {
        self.backward_window_with::<F::Kernels, T>(tape, dh_out, d_final, grads)
    }

    /// [`Self::backward_window`] with explicit kernels.
    fn backward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, Self::Record>,
        dh_out: &[[F; H]],
        d_final: &Self::State,
        grads: &mut Self::Grads,
    ) -> Self::State {
        self.backward_window_dx_with::<K, T>(tape, dh_out, d_final, grads, &mut [])
    }

    /// [`Self::backward_window`] that also writes `dxs[t] = dL/dx_t` for the window's
    /// steps (`dxs`: `[steps][IN]`; rows beyond the tape length are left alone, and a
    /// shorter `dxs` gets the first `dxs.len()` steps).
    fn backward_window_dx<const T: usize>(
        &self,
        tape: &Tape<T, Self::Record>,
        dh_out: &[[F; H]],
        d_final: &Self::State,
        grads: &mut Self::Grads,
        dxs: &mut [[F; IN]],
    ) -> Self::State {
        self.backward_window_dx_with::<F::Kernels, T>(tape, dh_out, d_final, grads, dxs)
    }

    /// [`Self::backward_window_dx`] with explicit kernels.
    fn backward_window_dx_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, Self::Record>,
        dh_out: &[[F; H]],
        d_final: &Self::State,
        grads: &mut Self::Grads,
        dxs: &mut [[F; IN]],
    ) -> Self::State {
        let steps = tape.steps.len();
        let skip = steps.saturating_sub(dh_out.len());
        let dh_rows = dh_out
            .get(dh_out.len().saturating_sub(steps)..)
            .unwrap_or(&[]);
        self.backward_by_with::<K, T>(
            tape,
            |t, _| t.checked_sub(skip).and_then(|i| dh_rows.get(i)).copied(),
            d_final,
            grads,
            dxs,
        )
    }

    /// BPTT with the output gradient of step `t` computed on demand: `dh_at(t, record)`
    /// returns `dL/dh_t` from above (or `None`), called newest step first. What the model's
    /// many-to-many losses use (the head's backward runs inside). Otherwise as
    /// [`Self::backward_window_dx_with`].
    fn backward_by_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, Self::Record>,
        mut dh_at: impl FnMut(usize, &Self::Record) -> Option<[F; H]>,
        d_final: &Self::State,
        grads: &mut Self::Grads,
        dxs: &mut [[F; IN]],
    ) -> Self::State {
        let mut d = *d_final;
        for (t, r) in tape.steps.iter().enumerate().rev() {
            let dh = dh_at(t, r);
            self.backward_step_with::<K>(r, dh.as_ref(), &mut d, grads, dxs.get_mut(t));
        }
        d
    }
}
