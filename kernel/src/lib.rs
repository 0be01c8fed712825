//! A `no_std`, allocation-free family of stateful recurrent layers (LSTM, GRU, stacks of
//! them) whose sizes are const generics.
//!
//! # Alphabet (used in every doc comment)
//! - `IN`: inputs per time step, `H`: hidden units, `OUT`: head outputs (logits),
//!   `T`: time steps in a recorded window, `B`: batch rows.
//! - Gates i, f, g, o in that order (PyTorch's order; Keras' i, f, c, o is the same, with
//!   `c` for the candidate `g`). Shapes are row-major and written `[rows, cols]`.
//!
//! # Equations (PyTorch `nn.LSTM` documentation)
//! ```text
//! z   = W_ih x_t + W_hh h_{t-1} + b        (b = b_ih + b_hh = Keras bias)
//! i   = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g
//! h_t = o ⊙ tanh(c_t)
//! ```
//! `σ` is the model's [`RecurrentActivation`] (sigmoid, or Keras 2/3 hard sigmoid).
//!
//! The [`Gru`] (gates r, z, n, PyTorch's order; one state vector `h`) follows PyTorch's
//! `nn.GRU` (= Keras `reset_after=True`) or Keras `reset_after=False` ([`GruVariant`]);
//! its equations are in [`cell::gru`]. Every layer implements [`Recurrent`], so stacks
//! ([`Stack`]) may mix them.
//!
//! # Stateful semantics (Keras' contract)
//! Every stream (batch row) has its own [`LstmState`]. Stepping never resets it; a stream's
//! final state is its next input's initial state until the caller resets it
//! ([`LstmState::reset`], [`BatchState::reset_row`], [`BatchState::reset_all`]). Many
//! streams of an LSTM layer or stack can also be held stream-minor ([`LstmStreams`],
//! `reset_stream`, `reset_all`) and stepped together in SIMD lanes ([`StepStreams`]), each
//! with the bits it gets alone.
//!
//! # Forward, backward, update
//! [`Lstm::step`] streams one step in place. [`Lstm::forward_window`] records up to `T`
//! steps on a caller-owned [`Tape`]; [`Lstm::backward_window`] runs BPTT over it into
//! gradients shaped like the weights and returns the gradient w.r.t. the window's initial
//! `(h, c)`, so truncated BPTT chains window to window. [`Model::forward_batch`] and
//! [`Model::backward_batch`] ([`lockstep`]) run a mini-batch of sequences of their own
//! lengths in lock step, reading each weight once per [`lockstep::GROUP`] rows (same bits
//! per row as running it alone; weight gradients equal up to summation order). [`Adam`]
//! and [`Sgd`] update in place.
//!
//! # Kernels and backends
//! The module tree has one-way arrows (docs/architecture.md): numerics ([`real`], [`lane`])
//! -> activation maths ([`activation`]) -> slice primitives ([`primitives`]: gemv, ger,
//! axpy, Adam, with scalar and SIMD twins) -> cells ([`cell`]: each cell type's fused step
//! and backward, scalar and SIMD) -> [`backend`] (the one place that maps the target to
//! the default backend) -> layers ([`lstm`]) -> heads, losses, optimizers, model files.
//! [`backend::Simd`] (`wide` vectors, `f32`) is the default on vector targets,
//! [`backend::Scalar`] (the plain-loop reference over any [`Real`]) elsewhere and with the
//! `scalar-reference` feature. Dispatch is at compile time: build with
//! `-C target-cpu=native` (or `x86-64-v3`) for AVX2/FMA on x86-64; the default x86-64
//! target is SSE2 (figures in `docs/performance.md`). Activations are exact by default;
//! [`Lstm::with_maths`] with [`Maths::Fast`] opts into rational approximations with
//! documented error bounds (see [`activation`]).
//!
//! # Guarantees
//! No allocation, no global state, no panics for valid sizes (`H >= 1` and `OUT >= 1` are
//! checked at compile time; the slice kernels in [`primitives`] `debug_assert!` their length
//! contracts, which the typed API always meets). Invalid inputs at the boundary get typed
//! errors: weight files ([`io::FormatError`]), tensor shapes ([`ShapeError`]), windows
//! longer than the tape ([`WindowTooLong`]), batch rows ([`RowOutOfRange`]), NaN or
//! infinite gradients ([`NonFiniteGradient`], nothing updated).
//!
//! A NaN in `x_t` is not an error the step can report (it returns nothing, to stay
//! branch-free): it propagates into `h` and `c` as NaN (never into a plausible value) and
//! stays in that stream's state until the stream is reset; check `h[0].is_nan()` where
//! inputs are untrusted. Hyper-parameters (`AdamConfig`, `Sgd::lr`) are not validated.
#![no_std]
#![deny(missing_docs)]

pub mod activation;
pub mod backend;
pub mod cell;
pub mod dense;
pub mod error;
pub mod gru;
pub mod gru_weights;
pub mod io;
pub mod lane;
pub mod lockstep;
pub mod loss;
pub mod lstm;
pub mod model;
pub mod optim;
pub mod pipeline;
pub mod primitives;
pub mod quant;
pub mod real;
pub mod recurrent;
pub mod stack;
pub mod state;
pub mod streams;
pub mod tensors;
pub mod weights;

pub use activation::{Activate, Maths, RecurrentActivation};
pub use backend::Float;
pub use dense::Dense;
pub use error::{BatchError, NonFiniteGradient, RowOutOfRange, ShapeError, WindowTooLong};
pub use gru::{Gru, GruRecord, GruTape};
pub use gru_weights::{GruGate, GruVariant, GruWeights};
pub use io::FormatError;
pub use loss::{Loss, SampleLoss, bce_loss};
pub use lstm::{Lstm, LstmTape, StepRecord};
pub use model::{Grads, LstmGrads, LstmModel, Model};
pub use optim::{Adam, AdamConfig, AdamUpdate, EpsPlacement, Sgd};
pub use pipeline::{Differencer, HeadActivation, Scaling};
pub use real::Real;
pub use recurrent::{LayerKind, LayerSettings, Recurrent, Tape};
pub use stack::{Lstm2, Lstm3, Stack};
pub use state::{BatchState, GruState, LstmState, LstmStreams, StreamState};
pub use streams::StepStreams;
pub use tensors::{TensorInfo, TensorKind, Tensors, head_tensor, layer_tensor};
pub use weights::{Gate, LstmWeights};
