//! 8-lane block helpers shared by the cells' SIMD kernels: bounds-proof loads and stores
//! of 8 consecutive units of a fixed-size array (`f32x8`).

use wide::f32x8;

/// Lanes of the cells' SIMD blocks (`f32x8`).
pub(crate) const LANES: usize = 8;

/// The vector of an 8-element array.
#[inline(always)]
pub(crate) fn load8(s: &[f32; 8]) -> f32x8 {
    f32x8::new(*s)
}

/// The 8 values at `s[j..j + 8]` of a fixed-size array, for `j <= H - 8` (larger `j` are
/// clamped to `H - 8`). The clamp lets the compiler prove the range in bounds, so the load
/// has no check and no padding path; `H < 8` gives zeros (those sizes never come here).
#[inline(always)]
pub(crate) fn load_blk<const H: usize>(s: &[f32; H], j: usize) -> f32x8 {
    let j = j.min(H.saturating_sub(LANES));
    s.get(j..j + LANES)
        .and_then(|t| t.first_chunk::<LANES>())
        .map_or(f32x8::ZERO, load8)
}

/// Stores `v` to `s[j..j + 8]` (`j` clamped like [`load_blk`]).
#[inline(always)]
pub(crate) fn store_blk<const H: usize>(s: &mut [f32; H], j: usize, v: f32x8) {
    let j = j.min(H.saturating_sub(LANES));
    if let Some(t) = s
        .get_mut(j..j + LANES)
        .and_then(|t| t.first_chunk_mut::<LANES>())
    {
        *t = v.to_array();
    }
}
