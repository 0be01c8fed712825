//! Integer inference for microcontrollers without an FPU: int8 weights, int16 state, no
//! float operation in a step.
//!
//! # The scheme, next to TFLite's integer LSTM
//! Post-training quantization of a trained float model ([`QModel::quantize`]) with ranges
//! from a [`Calibration`] pass over representative inputs:
//!
//! | value | here | TFLite int8 LSTM (8x8_16) / int16x8 |
//! |---|---|---|
//! | weights `W_ih`, `W_hh`, head | int8 symmetric, **one scale per output row** (per gate and unit) | int8 symmetric, one scale per tensor |
//! | bias | `i32` in each row's accumulator units | `i32` |
//! | inputs `x_t` of the bottom layer | int16 symmetric, **one scale per channel**, folded into the weights | int8 asymmetric (int16 symmetric in 16x8), one scale |
//! | hidden state `h_t` (and the inputs of upper layers) | int16 Q0.15 (fixed scale `2^-15`: `h` is in `(-1, 1)`) | int8 asymmetric, calibrated (int16 in 16x8) |
//! | gate pre-activations `z` | int16 Q3.12 | int16 Q3.12 |
//! | gate outputs, `tanh` | int16 Q0.15 | int16 Q0.15 |
//! | GRU `W_hn h + b_hn` (reset-after) | int16 Q3.12, then `r ⊙` it | (no integer GRU in TFLite Micro) |
//! | cell state `c_t` | int16, power-of-two scale from calibration ([`CellFormat`]) | int16, power-of-two scale |
//! | accumulation | `i32` (exact: [`linear::MAX_INPUTS`] bounds the row length) | `i32` |
//! | rescaling | [`Multiplier`]: Q0.31 mantissa and shift; the product's high word rounded, then the rest of the shift, both half up | the same two steps (rounding half away from zero) |
//! | dot products | `i32`, two multiply-accumulates per `SMLAD` on cores with the DSP extension, four adjacent rows per pass over the inputs ([`dot`], [`dsp`]) | the same instructions (CMSIS-NN kernels) |
//! | σ, tanh | 513-entry tables over `[0, 8]` with symmetry, interpolated ([`act`]) | 513-entry tables over `[-8, 8]` (int16) or gemmlowp fixed point |
//! | head outputs | `i32` Q19.12 | int8 asymmetric |
//!
//! Where it differs, it is for accuracy at the same cost per step: per-row weight scales
//! (an LSTM's gates have very different weight ranges; one scale per tensor wastes bits on
//! the small ones), per-channel input scales (sensor channels differ by orders of
//! magnitude; folding their scales into the weights costs nothing per step), and a 16-bit
//! `h` (the recurrent product reads `h` every step, and int8 `h` is the largest error
//! source in TFLite's 8x8 scheme). Weights take a quarter of the float model's flash.
//!
//! # Accuracy (tests)
//! Activations: σ within [`act::SIGMOID_MAX_ERROR`] and tanh within
//! [`act::TANH_MAX_ERROR`] units of `2^-15`, hard sigmoids within 1 unit, over every input
//! (exhaustive). Models: `tests/kernel/quant.rs` bounds the outputs against the float
//! model's on the blog post's task and on stacks.
//!
//! # Guarantees
//! A step is integer arithmetic only (`i8`, `i16`, `i32`, and one `i64` product per
//! rescale), so every target gives the same bits: the DSP form of [`dot`] and its portable
//! twin sum the same products (integer addition is associative), and the firmware under
//! QEMU (M4F with `SMLAD`, M55, M0, RISC-V) matches the host bit for bit (scripts/embedded.sh).
//! No allocation, no panic path for valid sizes (row lengths above [`linear::MAX_INPUTS`]
//! are refused at compile time).
//! Quantizing (on the host, or once on the device: `QModel::quantize_into`) uses `f64`,
//! software on every Cortex-M and bit-identical to the host.
//!
//! # Files
//! [`file`](mod@file) writes and reads a [`QModel`] as an int8 model file (the binary format of
//! [`crate::io`] with dtype 2), bit-exact and without allocation; `lstm-harness quantize`
//! makes one from a float model file and calibration data.

pub mod act;
pub mod dot;
pub mod dsp;
pub mod file;
pub mod fixed;
pub mod gru;
pub mod layer;
pub mod linear;
pub mod lstm;
pub mod model;
pub mod pairs;

pub use fixed::Multiplier;
pub use gru::{QGru, QGruState};
pub use layer::{LayerQuantError, QCellMut, QLayer, QLayerMut, QRecurrent, Quantize};
pub use linear::{QLinear, QRows, QRowsMut, QuantError};
pub use lstm::{CellFormat, QLstm, QLstmState};
pub use model::{Calibration, QModel, QModelError};
