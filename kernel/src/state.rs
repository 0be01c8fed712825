//! Recurrent state: [`LstmState`] for one stream of one LSTM layer, [`GruState`] for a GRU
//! layer, the [`StreamState`]
//! interface every layer's (and stack's) state implements, and [`BatchState`] for `B`
//! independent streams.

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
