//! The kernel's correctness tests, one binary (`cargo test --test kernel`).
//!
//! - [`forward_parity`]: every `h_t`, `c_t` against the PyTorch and Keras float64 oracles
//!   (`testdata/parity/`), f64 scalar and f32 scalar + SIMD.
//!
//! Run with `-- --nocapture` to see the worst error of every comparison.

mod common;
mod forward_parity;
mod grad_parity;
