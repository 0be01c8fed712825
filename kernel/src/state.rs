//! Recurrent state `(h, c)` for one stream and for a batch of `B` independent streams.

use crate::error::RowOutOfRange;
use crate::real::Real;

/// The recurrent state of one stream: hidden state `h` and cell state `c`, each `[H]`.
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

impl<const H: usize, F: Real> Default for LstmState<H, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// `B` independent recurrent states, one per batch row.
///
/// Keras stateful semantics: within a batch every row has its own state; stepping a batch
/// carries row i's final state into row i of the next batch until it is reset. Unlike Keras
/// (which can only reset the whole layer), rows can be reset one at a time, so streams of
/// different lengths can share a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchState<const B: usize, const H: usize, F = f32> {
    /// The per-row states, `[B]`.
    pub rows: [LstmState<H, F>; B],
}

impl<const B: usize, const H: usize, F: Real> BatchState<B, H, F> {
    /// All rows zero.
    pub const fn zeroed() -> Self {
        Self {
            rows: [LstmState::zeroed(); B],
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

impl<const B: usize, const H: usize, F: Real> Default for BatchState<B, H, F> {
    fn default() -> Self {
        Self::zeroed()
    }
}
