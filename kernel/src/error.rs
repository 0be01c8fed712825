//! The kernel's small error types. Each is `Copy`, implements `Display` and
//! `core::error::Error`, and says what was expected and what was found.

use core::fmt;

/// A flat tensor handed to an importer has the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeError {
    /// Name of the offending tensor (PyTorch or Keras name, e.g. `"weight_ih"`).
    pub tensor: &'static str,
    /// Expected number of elements.
    pub expected: usize,
    /// Number of elements found.
    pub found: usize,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tensor `{}` has {} elements, expected {}",
            self.tensor, self.found, self.expected
        )
    }
}

impl core::error::Error for ShapeError {}

/// A window has more time steps than the tape's capacity `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowTooLong {
    /// Steps in the window.
    pub steps: usize,
    /// The tape's capacity `T`.
    pub capacity: usize,
}

impl fmt::Display for WindowTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "window of {} steps does not fit a tape of {} steps; use a Tape with T >= {}",
            self.steps, self.capacity, self.steps
        )
    }
}

impl core::error::Error for WindowTooLong {}

/// A batch row index is not below the batch size `B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowOutOfRange {
    /// The requested row.
    pub row: usize,
    /// The batch size `B`.
    pub batch: usize,
}

impl fmt::Display for RowOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {} is out of range for a batch of {}",
            self.row, self.batch
        )
    }
}

impl core::error::Error for RowOutOfRange {}

/// An optimizer refused a gradient containing NaN or infinity; no parameter was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonFiniteGradient {
    /// Index of the first offending tensor in [`crate::Tensors`] order.
    pub tensor: usize,
    /// Flat index of the first offending element inside that tensor.
    pub index: usize,
}

impl fmt::Display for NonFiniteGradient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradient tensor {} element {} is not finite; parameters left unchanged",
            self.tensor, self.index
        )
    }
}

impl core::error::Error for NonFiniteGradient {}

/// The slices of a lock-step mini-batch ([`crate::Model::forward_batch`],
/// [`crate::Model::backward_batch`]) disagree, or a sequence does not fit its tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// The per-row slices have different lengths (inputs or output gradients, states,
    /// tapes: one entry per batch row each).
    Rows {
        /// Rows of inputs (forward) or of output gradients (backward).
        data: usize,
        /// Rows of states (or state gradients).
        states: usize,
        /// Tapes.
        tapes: usize,
    },
    /// Row `row`'s sequence is longer than the tapes' capacity; nothing was changed.
    TooLong {
        /// The batch row.
        row: usize,
        /// Its steps, and the capacity `T`.
        window: WindowTooLong,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rows {
                data,
                states,
                tapes,
            } => write!(
                f,
                "a batch needs one entry per row in each slice: {data} data rows, {states} states, {tapes} tapes"
            ),
            Self::TooLong { row, window } => write!(f, "batch row {row}: {window}"),
        }
    }
}

impl core::error::Error for BatchError {}
