//! Recurrent state: [`LstmState`] for one stream of one LSTM layer, [`GruState`] for a GRU
//! layer, the [`StreamState`]
//! interface every layer's (and stack's) state implements, [`BatchState`] for `B`
//! independent streams (one state per row), and [`LstmStreams`] for `B` streams of one LSTM
//! layer held stream-minor (the layout [`crate::StepStreams`] steps in SIMD lanes).

use core::fmt::Debug;

use crate::error::RowOutOfRange;
use crate::real::Real;

/// The state of one stream of a recurrent layer or stack (one value per stream, owned by
/// the caller). The zero state is Keras' and PyTorch's default initial state; the same type
/// holds the gradient of a loss w.r.t. the state (what backward returns for a window's
/// initial state). Plain data (`Send + Sync`), so a host may run streams on threads.
pub trait StreamState: Copy + Debug + PartialEq + Send + Sync {
    /// The zero state (every `h`, `c` zero).
    fn zeroed() -> Self;
    /// Resets to zero (Keras `reset_states()` for one stream).
    fn reset(&mut self) {
        *self = Self::zeroed();
    }
}

/// The recurrent state of one stream of one LSTM layer: hidden state `h` and cell state
/// `c`, each `[H]`.
///
/// Also used for the gradients `dL/dh`, `dL/dc` that backward returns for a window's
/// initial state (so truncated BPTT can be chained window to window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmState<const H: usize, F = f32> {
    /// Hidden state `h_t`, `[H]`; also the LSTM's output at step t.
    pub h: [F; H],
    /// Cell state `c_t`, `[H]`.
    pub c: [F; H],
}

impl<const H: usize, F: Real> LstmState<H, F> {
    /// The zero state (Keras' and PyTorch's default initial state).
    pub const fn zeroed() -> Self {
        Self {
            h: [F::ZERO; H],
            c: [F::ZERO; H],
        }
    }

    /// Resets `h` and `c` to zero (Keras `reset_states()` for one stream).
    pub fn reset(&mut self) {
        *self = Self::zeroed();
    }
}

impl<const H: usize, F: Real> StreamState for LstmState<H, F> {
    fn zeroed() -> Self {
        Self::zeroed()
    }
}

impl<const H: usize, F: Real> Default for LstmState<H, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// The recurrent state of one stream of one GRU layer: the hidden state `h` `[H]` (a GRU
/// has one state vector; Keras' `GRU.states` is `[h]`). Also the gradient `dL/dh` that
/// backward returns for a window's initial state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruState<const H: usize, F = f32> {
    /// Hidden state `h_t`, `[H]`; also the GRU's output at step t.
    pub h: [F; H],
}

impl<const H: usize, F: Real> GruState<H, F> {
    /// The zero state (Keras' and PyTorch's default initial state).
    pub const fn zeroed() -> Self {
        Self { h: [F::ZERO; H] }
    }

    /// Resets `h` to zero (Keras `reset_states()` for one stream).
    pub fn reset(&mut self) {
        *self = Self::zeroed();
    }
}

impl<const H: usize, F: Real> StreamState for GruState<H, F> {
    fn zeroed() -> Self {
        Self::zeroed()
    }
}

impl<const H: usize, F: Real> Default for GruState<H, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// `B` independent recurrent states, one per batch row (`S` is the layer's or stack's
/// [`StreamState`], e.g. `LstmState<H>`).
///
/// Keras stateful semantics: within a batch every row has its own state; stepping a batch
/// carries row i's final state into row i of the next batch until it is reset. Unlike Keras
/// (which can only reset the whole layer), rows can be reset one at a time, so streams of
/// different lengths can share a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchState<const B: usize, S> {
    /// The per-row states, `[B]`.
    pub rows: [S; B],
}

impl<const B: usize, S: StreamState> BatchState<B, S> {
    /// All rows zero.
    pub fn zeroed() -> Self {
        Self {
            rows: [S::zeroed(); B],
        }
    }

    /// Resets every row to zero (Keras `reset_states()`).
    pub fn reset_all(&mut self) {
        *self = Self::zeroed();
    }

    /// Resets one row to zero, leaving the others untouched.
    ///
    /// # Errors
    /// [`RowOutOfRange`] if `row >= B`; nothing is changed.
    pub fn reset_row(&mut self, row: usize) -> Result<(), RowOutOfRange> {
        match self.rows.get_mut(row) {
            Some(s) => {
                s.reset();
                Ok(())
            }
            None => Err(RowOutOfRange { row, batch: B }),
        }
    }
}

impl<const B: usize, S: StreamState> Default for BatchState<B, S> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// `B` independent streams of one LSTM layer, stream-minor: `h[j][b]` and `c[j][b]` are unit
/// `j` of stream `b` (so the streams of one unit are contiguous: the lanes
/// [`crate::StepStreams`] computes in). Holds what a [`BatchState<B, LstmState<H>>`]
/// holds, transposed; [`Self::stream`] / [`Self::set_stream`] and the `From` conversions
/// move between the two, bit for bit (stream `b` is the batch's row `b`).
///
/// Keras stateful semantics as [`BatchState`]: stream `b`'s final state is its initial
/// state at the next step until it is reset ([`Self::reset_stream`], one stream at a time;
/// [`Self::reset_all`], all of them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmStreams<const H: usize, const B: usize, F = f32> {
    /// Hidden states, `[H][B]` (unit-major, stream-minor): `h[j]` is unit `j` of every
    /// stream, `h[j][b]` unit `j` of stream `b`.
    pub h: [[F; B]; H],
    /// Cell states, `[H][B]`, as `h`.
    pub c: [[F; B]; H],
}

impl<const H: usize, const B: usize, F: Real> LstmStreams<H, B, F> {
    /// Every stream zero (Keras' and PyTorch's default initial state).
    pub const fn zeroed() -> Self {
        Self {
            h: [[F::ZERO; B]; H],
            c: [[F::ZERO; B]; H],
        }
    }

    /// Stream `b`'s state, or `None` if `b >= B`.
    pub fn stream(&self, b: usize) -> Option<LstmState<H, F>> {
        if b >= B {
            return None;
        }
        let at = |m: &[[F; B]; H], j: usize| m[j].get(b).copied().unwrap_or(F::ZERO);
        Some(LstmState {
            h: core::array::from_fn(|j| at(&self.h, j)),
            c: core::array::from_fn(|j| at(&self.c, j)),
        })
    }

    /// Sets stream `b`'s state, leaving the others untouched.
    ///
    /// # Errors
    /// [`RowOutOfRange`] (`row` = the stream, `batch` = `B`) if `b >= B`; nothing is
    /// changed.
    pub fn set_stream(&mut self, b: usize, s: &LstmState<H, F>) -> Result<(), RowOutOfRange> {
        if b >= B {
            return Err(RowOutOfRange { row: b, batch: B });
        }
        for (m, v) in [(&mut self.h, &s.h), (&mut self.c, &s.c)] {
            for (unit, &x) in m.iter_mut().zip(v) {
                if let Some(d) = unit.get_mut(b) {
                    *d = x;
                }
            }
        }
        Ok(())
    }

    /// Resets every stream to zero (Keras `reset_states()`).
    pub fn reset_all(&mut self) {
        *self = Self::zeroed();
    }

    /// Resets stream `b` to zero, leaving the others untouched.
    ///
    /// # Errors
    /// As [`Self::set_stream`].
    pub fn reset_stream(&mut self, b: usize) -> Result<(), RowOutOfRange> {
        self.set_stream(b, &LstmState::zeroed())
    }
}

impl<const H: usize, const B: usize, F: Real> Default for LstmStreams<H, B, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<const H: usize, const B: usize, F: Real> From<&BatchState<B, LstmState<H, F>>>
    for LstmStreams<H, B, F>
{
    /// Row `b` of the batch becomes stream `b`.
    fn from(batch: &BatchState<B, LstmState<H, F>>) -> Self {
        Self {
            h: core::array::from_fn(|j| core::array::from_fn(|b| batch.rows[b].h[j])),
            c: core::array::from_fn(|j| core::array::from_fn(|b| batch.rows[b].c[j])),
        }
    }
}

impl<const H: usize, const B: usize, F: Real> From<&LstmStreams<H, B, F>>
    for BatchState<B, LstmState<H, F>>
{
    /// Stream `b` becomes row `b` of the batch.
    fn from(s: &LstmStreams<H, B, F>) -> Self {
        Self {
            rows: core::array::from_fn(|b| LstmState {
                h: core::array::from_fn(|j| s.h[j][b]),
                c: core::array::from_fn(|j| s.c[j][b]),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stream `b` of `LstmStreams` is row `b` of the `BatchState` it came from, both ways,
    /// and row access past `B` is refused without a change.
    #[test]
    fn streams_and_batches_hold_the_same_states() {
        let mut batch = BatchState::<3, LstmState<2>>::zeroed();
        for (b, row) in batch.rows.iter_mut().enumerate() {
            row.h = [b as f32, -(b as f32)];
            row.c = [10.0 + b as f32, 0.5];
        }
        let mut s = LstmStreams::from(&batch);
        assert_eq!(s.h, [[0.0, 1.0, 2.0], [0.0, -1.0, -2.0]]);
        assert_eq!(s.stream(2), Some(batch.rows[2]));
        assert_eq!(BatchState::from(&s), batch);
        assert_eq!(s.stream(3), None);
        let before = s;
        assert_eq!(
            s.set_stream(3, &LstmState::zeroed()),
            Err(RowOutOfRange { row: 3, batch: 3 })
        );
        assert_eq!(s, before);
        s.reset_stream(1).unwrap();
        assert_eq!(s.stream(1), Some(LstmState::zeroed()));
        assert_eq!(s.stream(0), before.stream(0));
        assert_eq!(s.stream(2), before.stream(2));
    }
}
