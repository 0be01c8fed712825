//! The SIMD LSTM cell's tuning constants and the predicates that pick a path, in one place.
//! Every figure quoted was measured with criterion on the project's 2-vCPU Zen 4 VM
//! (docs/performance.md); the table of which path runs for which (target features, IN, H)
//! is in the [parent module](super) docs.

pub(super) use crate::cell::lanes::LANES;

/// 8-unit blocks per group in the fused step: `4 * GROUP` accumulators (8 of the 16 `ymm`
/// registers with AVX; 4 `f32x8` = 8 of 16 `xmm` on SSE2). Measured on Zen 4 with
/// AVX-512's 32 registers, 3 or 4 blocks per group were slower (2x at `H = 32`).
pub(super) const GROUP: usize = if cfg!(target_feature = "avx") { 2 } else { 1 };

/// Vectors per column group of the tiled step (accumulators in registers).
#[cfg(not(target_feature = "avx512f"))]
pub(super) const COLS: usize = if cfg!(target_feature = "avx") { 8 } else { 4 };

/// Rows per tile of the tiled step: that many sequential row streams are read at once.
/// Measured (interleaved A/B, Zen 4): 4 beats 8 by 3 % at (8, 64) and ties at (32, 128);
/// 2 loses 4 % at (32, 128); 16 columns per group instead of 8 lose 20 % at (32, 128).
#[cfg(not(target_feature = "avx512f"))]
pub(super) const TILE: usize = 4;

/// Whether the tiled step's cell pass computes two 8-unit blocks before storing either, so
/// their independent activation chains interleave: with AVX (3.83 -> 3.73 us at (32, 128) on
/// Zen 4; four blocks spill, 5.3 us), not on SSE2 (16 registers: two blocks spill).
pub(super) const PAIR_CELLS: bool = cfg!(target_feature = "avx");

/// Weights above this many bytes (`16 K H`) take the tiled step, whose row-sequential
/// reads the hardware prefetchers follow (the fused step reads each row at a 4H-float
/// stride, which they do not follow across pages).
pub(super) const TILED_ABOVE_BYTES: usize = 24 * 1024;

/// Whether a layer's weights (`4 H (IN + H)` floats) exceed [`TILED_ABOVE_BYTES`].
pub(super) const fn streams_weights(inputs: usize, h: usize) -> bool {
    16 * (inputs + h) * h > TILED_ABOVE_BYTES
}

/// Whether the fused step (`fused.rs`, [`super::fused::preact_acc`]) runs the recurrent rows
/// of an `h`-unit layer as two accumulator chains: with fast activations (`fast`, the
/// policy's `FAST`) and [`split_chains`]. The many-streams step asks the same (`streams.rs`).
pub(super) const fn splits_recurrent_rows(fast: bool, h: usize) -> bool {
    fast && split_chains(h)
}

/// Whether [`super::fused::preact_acc`] may split the recurrent rows into two chains for this `H`: a
/// single block group whose doubled accumulators (`8` per 8-unit block) fit in half the
/// vector registers (AVX-512: 32, AVX: 16; never on SSE2, where `f32x8` is a register
/// pair).
pub(super) const fn split_chains(h: usize) -> bool {
    let regs = if cfg!(target_feature = "avx512f") {
        32
    } else if cfg!(target_feature = "avx") {
        16
    } else {
        0
    };
    8 * h.div_ceil(LANES) <= regs / 2
}

/// Chunks of 8 streams the many-streams step (`streams.rs`) advances per pass over the
/// weights: `4 C` accumulators, each broadcast weight used `C` times. 2 with AVX and
/// AVX-512 (8 `ymm` accumulators; at (1, 10), B = 110 on Zen 4, 3 measured the same on the
/// AVX2 build and 4 the same on the AVX-512 build: 3.81 against 3.83 us), 1 on SSE2 (each
/// `f32x8` is a register pair).
pub(super) const STREAM_CHUNKS: usize = if cfg!(target_feature = "avx") { 2 } else { 1 };
