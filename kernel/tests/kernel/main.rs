//! The kernel's correctness tests, one binary (`cargo test -p lstm-kernel --test kernel`; add
//! `-- --nocapture` to see the worst error of every comparison).
//!
//! - [`forward_parity`]: every `h_t`, `c_t` against the PyTorch and Keras float64 oracles
//!   in `testdata/parity/` (sigmoid, Keras 3 and Keras 1/2 hard sigmoids); f64 scalar and
//!   f32 scalar + SIMD, through `step` and `forward_window`.
//! - [`grad_parity`]: LSTM + dense + BCE gradients (parameters, `h0`, `c0`) against torch
//!   autograd and TF GradientTape, then two Adam steps each against `torch.optim.Adam`
//!   and `keras.optimizers.Adam`.
//! - [`stateful`]: Keras `stateful=True` batches, `reset_all`, `reset_row`.
//! - [`gradcheck`]: central finite differences of every parameter and of `h0`, `c0`, for
//!   every recurrent activation; many-to-one, many-to-many and chained truncated BPTT.
//! - [`simd_vs_scalar`]: SIMD == scalar over a matrix of sizes; huge, infinite and NaN
//!   inputs.
//! - [`alloc_free`]: zero heap allocations in every hot operation.
//! - [`refusals`]: typed errors that change nothing.
//! - [`stack_parity`]: 2-layer forward against torch/Keras; 2-layer softmax CE and
//!   many-to-many MSE gradients (every parameter, every layer's `h0`, `c0`).
//! - [`stack_gradcheck`]: finite differences through a 3-layer stack (parameters, initial
//!   states, inputs) and chained truncated BPTT through it.
//! - [`gru_parity`]: the GRU against torch `nn.GRU`, Keras 3 `GRU` (both `reset_after`
//!   variants, hard sigmoid), Keras stateful batches, and the BCE / many-to-many MSE
//!   gradients of `grads_v2.json` (a), (d) in both layouts.
//! - [`gru_checks`]: GRU finite differences (both variants, every activation, mixed
//!   GRU/LSTM stacks), chained TBPTT, SIMD == scalar up to (32, 128), edge inputs, no
//!   allocation.
//! - [`lockstep`]: lock-step mini-batches (`forward_batch`, `backward_batch`) against
//!   each row alone: LSTM (grouped kernels), GRU and stack (row-by-row defaults).
//! - [`quant`]: the integer path against the float model it was quantized from (LSTM,
//!   GRU both variants, stacks, mixed stacks), and its refusals.
//! - [`quant_source`]: the int8 Rust source `lstm-harness export` writes compiles and is
//!   the int8 file it came from, bit for bit (and its `predict_step` the decoded model's).
//! - [`properties`]: property tests (`proptest`), one layer and a 2-layer stack: windows
//!   cut anywhere == one stream, independent and permutable batch rows, reset == fresh,
//!   bit-exact model-file round trip, no panic on random or corrupted files.

mod alloc_free;
mod common;
mod forward_parity;
mod grad_parity;
mod gradcheck;
mod gru_checks;
mod gru_parity;
mod lockstep;
mod properties;
mod quant;
mod quant_source;
mod refusals;
mod simd_vs_scalar;
mod stack_gradcheck;
mod stack_parity;
mod stateful;
