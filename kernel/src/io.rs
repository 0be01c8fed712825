//! A self-describing binary model file for any [`Model`] (`f32`): a stack of recurrent
//! layers and a dense head. Export into a caller's `&mut [u8]`, import from a `&[u8]` (e.g.
//! `include_bytes!`), no allocation. Version 3 (written) describes every layer in a table
//! and may carry the model's input normalisation, output de-normalisation and head
//! activation ([`crate::pipeline`]); version 2 files (the same without them) and version 1
//! files (one LSTM layer, written before the layer family) still load.
//!
//! # Format, version 3, byte by byte
//! All integers are little-endian. Offsets are in bytes; `L` is the number of recurrent
//! layers.
//!
//! | offset | size | field | value |
//! |---|---|---|---|
//! | 0 | 8 | magic | [`MAGIC`] = `89 4C 53 54 4D 0D 0A 1A` (`\x89LSTM\r\n\x1a`, PNG-style: the high byte catches 7-bit channels, `\r\n` catches newline conversion) |
//! | 8 | 4 | format version, `u32` | [`VERSION`] = 3 |
//! | 12 | 4 | `IN`, `u32` | inputs per step of layer 0 |
//! | 16 | 4 | `OUT`, `u32` | head outputs |
//! | 20 | 4 | `L`, `u32` | recurrent layers, `1 ..= MAX_LAYERS` ([`MAX_LAYERS`] = 8) |
//! | 24 | 1 | dtype | `1` = IEEE-754 `f32`, little-endian ([`Dtype`]); `2` = an int8 model, whose payload (in place of the weights below) [`crate::quant::file`] describes |
//! | 25 | 1 | head activation | [`HeadActivation::code`]: `0` unspecified (raw logits), `1` sigmoid, `2` softmax, `3` identity (regression) |
//! | 26 | 1 | flags | bit 0: a scaling block follows the layer table; bit 1: the model forecasts one series' first differences (`IN = 1`; [`crate::pipeline::Differencer`]); other bits must be `0` |
//! | 27 | 1 | reserved | written `0`, ignored |
//! | 28 + 16k | 16 | layer `k` (bottom first) | kind `u8` ([`LayerKind::code`]: `0` = LSTM, `1` = GRU reset-after, `2` = GRU reset-before), gate order `u8` (`0` = PyTorch's: i, f, g, o or r, z, n, [`GateOrder`]), recurrent activation `u8` ([`RecurrentActivation::code`]), maths `u8` ([`Maths::code`]), input `u32` (`IN` for layer 0, the hidden size of layer `k - 1` above it), hidden `u32` (>= 1), reserved `u32` (written 0, ignored) |
//! | 28 + 16L | `S = 8 (IN + OUT)` if flag bit 0, else 0 | scaling ([`Scaling`]) | `f32` `input_mean [IN]`, `input_scale [IN]`, `output_scale [OUT]`, `output_mean [OUT]`: the device feeds `(x - input_mean) · input_scale` to the model and reports `z · output_scale + output_mean` |
//! | 28 + 16L + S | `4 P` | weights | `P` values in the model's [`Tensors`] walk order: per LSTM layer `W_ih` `[in][4][h]` (Keras `kernel` layout), `W_hh` `[h][4][h]` (Keras `recurrent_kernel`), `b` `[4][h]` (= PyTorch `bias_ih + bias_hh`); per GRU layer `W_ih` `[in][3][h]`, `W_hh` `[h][3][h]`, `b` `[3][h]`, `b_hn` `[h]` ([`crate::GruWeights`]); then head `W` `[OUT][H]` (PyTorch `Linear.weight`, `H` the top layer's hidden size), head `b` `[OUT]` |
//! | 28 + 16L + S + 4P | 4 | CRC-32, `u32` | over every byte before it (IEEE 802.3 / zlib / PNG CRC: reflected polynomial `0xEDB88320`, initial `0xFFFFFFFF`, final XOR `0xFFFFFFFF`) |
//!
//! Total length: `32 + 16 L + S + 4 P` bytes; for one LSTM layer without scaling
//! [`encoded_len`]`(IN, H, OUT)`, e.g. 2,012 bytes for `IN = 1, H = 10, OUT = 1`
//! (P = 491). The weights start at a multiple of 4.
//!
//! # Version 2 (read only)
//! As version 3 with bytes 25 to 27 reserved (read as head activation unspecified, no
//! scaling).
//!
//! # Version 1 (read only)
//! One LSTM layer: bytes 12, 16, 20 are `IN`, `H`, `OUT` (`u32`), 24 dtype, 25 gate order,
//! 26 recurrent activation, 27 reserved, then the weights from offset 28 in the same order
//! and the CRC-32 over everything before it (`32 + 4P` bytes, 1,996 for the post's model).
//! Version 1 has no maths byte: such a file loads with [`Maths::Exact`].
//!
//! # Checks on import, in this order
//! [`parse`] (and the decoders, which call it) checks: length >= 12 and magic, version,
//! header complete (for version 2, the layer count first), dtype, the exact length implied
//! by the file's own sizes ([`FormatError::Truncated`] / [`FormatError::TrailingBytes`]),
//! the CRC, then per layer the kind, gate order, activation and maths codes, `hidden >= 1`
//! and that each layer's input is the hidden size of the layer below; finally that every
//! weight and scaling value is finite. Version 3 adds the head activation code and the flags
//! (after the dtype; the scaling block's length enters the exact length). The CRC is
//! checked before the codes, so a corrupted file reports
//! [`FormatError::ChecksumMismatch`] rather than a confusing "unknown activation". The
//! decoders then compare the file's layers with the model type's; [`decode`] and
//! [`decode_into`] refuse a file with a scaling block ([`FormatError::ScalingNotRead`]: the
//! device would feed raw inputs to a model trained on normalised ones), which
//! [`decode_scaled_into`] reads. Decoding any byte string
//! returns a typed error or a model, never a panic (fuzzed: `kernel/fuzz`).
//!
//! # Where the weights live (flash or RAM)
//! - [`decode`] (one LSTM layer, [`LstmModel`]) is a `const fn`. In a `static` initialiser,
//!   `static MODEL: LstmModel<1, 10, 1> = match decode(include_bytes!("model.bin")) { .. }`
//!   runs **at compile time**: every check above (CRC included) becomes a build error,
//!   and the decoded weights are placed in `.rodata`, i.e. **flash**, with no RAM copy
//!   and no import code in the firmware. For stacks, the generated Rust source written by
//!   `lstm-harness export --format rust` (a `static` built by a `const fn`) does the same
//!   without the binary file; [`decode_into`] decodes any model at run time.
//! - Called at run time (e.g. on bytes received over a radio), the decoders fill a model in
//!   **RAM**. The kernel's step functions take the model by reference, so they run from
//!   either.
//! - [`ModelBytes`] is the zero-copy view: [`parse`] validates the bytes in place and
//!   [`ModelBytes::values`] reads the weights lazily, one `f32` at a time, straight from
//!   the slice (flash, if the slice is in flash).

use core::fmt;

use crate::activation::{Maths, RecurrentActivation};
use crate::model::{LstmModel, Model};
use crate::pipeline::{HeadActivation, Scaling};
pub use crate::recurrent::LayerKind;
use crate::recurrent::{LayerSettings, Recurrent};
use crate::tensors::{TensorKind, Tensors};

/// The file's first 8 bytes: `\x89LSTM\r\n\x1a`.
pub const MAGIC: [u8; 8] = *b"\x89LSTM\r\n\x1a";
/// The format version this module writes (it reads 1, 2 and 3).
pub const VERSION: u32 = 3;
/// The most recurrent layers a file may describe.
pub const MAX_LAYERS: usize = 8;
/// Bytes of a version-2 header before the layer table.
pub const HEADER_LEN: usize = 28;
/// Bytes of one layer-table entry.
pub const LAYER_ENTRY_LEN: usize = 16;
/// Bytes of the trailing CRC-32.
pub const CRC_LEN: usize = 4;
/// Bytes before the weights in a version-1 file.
pub const V1_HEADER_LEN: usize = 28;
/// Bit of the flags byte (offset 26) saying a scaling block follows the layer table.
pub const FLAG_SCALING: u8 = 1;
/// Bit of the flags byte saying the model forecasts first differences of one series
/// ([`crate::pipeline::Differencer`]).
pub const FLAG_DIFFERENCED: u8 = 2;

/// Element type of the weights (byte 24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// IEEE-754 binary32, little-endian (code `1`): the weights of this module's format.
    F32Le,
    /// int8 weights with one scale per row, int16 state (code `2`, version 3 only): an
    /// integer model of [`crate::quant`], whose payload [`crate::quant::file`] describes.
    I8PerRow,
}

impl Dtype {
    /// The dtype of a code (`1`, `2`); `None` for another.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::F32Le),
            2 => Some(Self::I8PerRow),
            _ => None,
        }
    }

    /// The file's code of this dtype.
    pub const fn code(self) -> u8 {
        match self {
            Self::F32Le => 1,
            Self::I8PerRow => 2,
        }
    }
}

/// Order of the gate blocks inside every `G·H` axis of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GateOrder {
    /// PyTorch's order of the layer's cell (code `0`): i, f, g, o for the LSTM (equal to
    /// Keras' i, f, c, o), r, z, n for the GRU (Keras stores z, r, h).
    Pytorch,
}

/// One entry of the layer table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LayerEntry {
    /// Cell type.
    pub kind: LayerKind,
    /// Gate order of the `G·H` axes.
    pub gate_order: GateOrder,
    /// Recurrent activation and maths.
    pub settings: LayerSettings,
    /// Inputs per step.
    pub input: u32,
    /// Hidden units (>= 1).
    pub hidden: u32,
}

const EMPTY_ENTRY: LayerEntry = LayerEntry {
    kind: LayerKind::Lstm,
    gate_order: GateOrder::Pytorch,
    settings: LayerSettings {
        activation: RecurrentActivation::Sigmoid,
        maths: Maths::Exact,
    },
    input: 0,
    hidden: 0,
};

/// The decoded header of a valid file (see the [module docs](self) for the bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (1, 2 or 3).
    pub version: u32,
    /// `IN`: inputs per step of layer 0.
    pub input: u32,
    /// `OUT`: head outputs.
    pub output: u32,
    /// Element type.
    pub dtype: Dtype,
    /// What the head's outputs mean ([`HeadActivation::Unspecified`] before version 3).
    pub head: HeadActivation,
    /// Whether the file holds a scaling block ([`Scaling`]; never before version 3).
    pub scaled: bool,
    /// Whether the model forecasts first differences of one series: feed it
    /// `v[t] - v[t-1]` and add `v[t]` to its outputs ([`crate::pipeline::Differencer`]).
    pub differenced: bool,
    layer_count: usize,
    layers: [LayerEntry; MAX_LAYERS],
}

impl Header {
    /// The layer table, bottom layer first (`1 ..= MAX_LAYERS` entries).
    pub fn layers(&self) -> &[LayerEntry] {
        self.layers.get(..self.layer_count).unwrap_or(&[])
    }
    /// Number of recurrent layers.
    pub const fn layer_count(&self) -> usize {
        self.layer_count
    }
    /// Hidden units of the top layer (the head's input size).
    pub const fn hidden(&self) -> u32 {
        self.layers[self.layer_count - 1].hidden
    }
}

/// Why bytes could not be imported or a model could not be exported.
///
/// Every variant says what was expected and what was found; [`fmt::Display`] adds a hint.
/// Layer indices count from 0 at the bottom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The first 8 bytes are not [`MAGIC`]: not a model file (or a text-mode copy).
    BadMagic,
    /// The version is not 1 or [`VERSION`].
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
    },
    /// The dtype code is not one of [`Dtype`]'s.
    UnknownDtype {
        /// Code in the file.
        found: u8,
    },
    /// The layer count is 0 or above [`MAX_LAYERS`].
    UnsupportedLayerCount {
        /// Count in the file.
        found: u32,
    },
    /// A layer's kind code is not one of [`LayerKind`]'s.
    UnknownLayerKind {
        /// The layer.
        layer: u32,
        /// Code in the file.
        found: u8,
    },
    /// A layer's gate-order code is not one of [`GateOrder`]'s.
    UnknownGateOrder {
        /// The layer.
        layer: u32,
        /// Code in the file.
        found: u8,
    },
    /// A layer's activation code is not one of [`RecurrentActivation`]'s.
    UnknownActivation {
        /// The layer.
        layer: u32,
        /// Code in the file.
        found: u8,
    },
    /// A layer's maths code is not one of [`Maths`]'.
    UnknownMaths {
        /// The layer.
        layer: u32,
        /// Code in the file.
        found: u8,
    },
    /// A layer's input size is not the hidden size of the layer below (or `IN` for layer 0),
    /// or its hidden size is 0.
    BrokenLayerChain {
        /// The layer.
        layer: u32,
        /// Its `(input, hidden)` in the file.
        found: [u32; 2],
        /// The input it must have (the size below it).
        below: u32,
    },
    /// The file's `(IN, H, OUT)` differ from the sizes the caller asked for (one-layer
    /// [`decode`]).
    DimensionMismatch {
        /// `(IN, H, OUT)` expected by the caller.
        expected: [u32; 3],
        /// `(IN, H, OUT)` in the file.
        found: [u32; 3],
    },
    /// The file has another number of recurrent layers than the model type.
    LayerCountMismatch {
        /// Layers of the model type.
        expected: u32,
        /// Layers in the file.
        found: u32,
    },
    /// A layer's kind or `(input, hidden)` differ from the model type's.
    LayerMismatch {
        /// The layer.
        layer: u32,
        /// `(kind code, input, hidden)` of the model type.
        expected: [u32; 3],
        /// `(kind code, input, hidden)` in the file.
        found: [u32; 3],
    },
    /// The head's `OUT` differs from the model type's.
    OutputMismatch {
        /// `OUT` of the model type.
        expected: u32,
        /// `OUT` in the file.
        found: u32,
    },
    /// The bytes end before the header or the data the header announces (`needed`
    /// saturates at `usize::MAX` for absurd dimensions).
    Truncated {
        /// Bytes a complete file needs.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// There are bytes after the CRC (e.g. two files concatenated).
    TrailingBytes {
        /// Length of the file the header describes.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The file holds an int8 model (dtype `2`) and the caller asked for `f32` weights:
    /// read it with [`crate::quant::file::parse`].
    Quantized,
    /// The file holds `f32` weights (dtype `1`) and the caller asked for an int8 model:
    /// quantize it first ([`crate::quant::QModel::quantize`], `lstm-harness quantize`).
    NotQuantized,
    /// A value of an int8 file's payload is out of its range ([`crate::quant::file`]).
    QuantValue {
        /// Where it is.
        block: QuantBlock,
        /// What it is.
        field: QuantField,
        /// `[row, column]` in the block (column 0 for a per-row value; for
        /// [`QuantBlock::InputScales`] `[channel, 0]`).
        at: [u32; 2],
        /// The value found (for an input scale, its `f32` bits).
        found: i64,
    },
    /// The stored CRC-32 does not match the bytes: the file is corrupted.
    ChecksumMismatch {
        /// CRC stored in the file.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// A weight is NaN or infinite (on import: in the file; on export: in the model).
    NonFinite {
        /// Flat index of the first offending weight in file order (0 = layer 0's
        /// `W_ih[0][0][0]`).
        index: usize,
    },
    /// The output buffer given to [`encode`] is too short.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// The model type cannot be written (more than [`MAX_LAYERS`] layers, or a layer the
    /// format has no kind for), or a [`FileSpec`] contradicts itself (its layers do not
    /// chain, its scaling or its values have other lengths than its sizes need).
    Unrepresentable,
    /// The head activation code (byte 25, version 3) is not one of [`HeadActivation`]'s.
    UnknownHeadActivation {
        /// Code in the file.
        found: u8,
    },
    /// The flags byte (byte 26, version 3) has a bit this kernel does not know.
    UnknownFlags {
        /// The byte in the file.
        found: u8,
    },
    /// A scaling value is NaN or infinite.
    NonFiniteScaling {
        /// Index into the block (`input_mean`, `input_scale`, `output_scale`,
        /// `output_mean`, concatenated).
        index: usize,
    },
    /// The file has a scaling block and the caller asked for the weights only
    /// ([`decode`], [`decode_into`]): inputs would reach the model un-normalised.
    ScalingNotRead,
    /// The file says the model forecasts first differences and the caller asked for the
    /// weights only ([`decode`], [`decode_into`]); or a differenced file has `IN != 1`.
    Differenced {
        /// `IN` in the file.
        input: u32,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadMagic => write!(
                f,
                "not an LSTM model file: bad magic (expected \\x89LSTM\\r\\n\\x1a; was it copied in text mode?)"
            ),
            Self::UnsupportedVersion { found } => write!(
                f,
                "model file format version {found} is not supported (this kernel reads versions 1 and {VERSION}); re-export it"
            ),
            Self::UnknownDtype { found } => {
                write!(
                    f,
                    "unknown dtype code {found} (1 = f32 little-endian; 2 = int8 per-row, from version 3)"
                )
            }
            Self::UnsupportedLayerCount { found } => write!(
                f,
                "model file describes {found} recurrent layers (this kernel reads 1 to {MAX_LAYERS})"
            ),
            Self::UnknownLayerKind { layer, found } => {
                write!(
                    f,
                    "layer {layer}: unknown layer kind code {found} (known: 0 = lstm, 1 = gru, 2 = gru-reset-before)"
                )
            }
            Self::UnknownGateOrder { layer, found } => write!(
                f,
                "layer {layer}: unknown gate order code {found} (only 0: PyTorch's, i, f, g, o for an LSTM, r, z, n for a GRU)"
            ),
            Self::UnknownActivation { layer, found } => write!(
                f,
                "layer {layer}: unknown recurrent activation code {found} (0 sigmoid, 1 hard sigmoid Keras 2, 2 hard sigmoid Keras 3)"
            ),
            Self::UnknownMaths { layer, found } => {
                write!(
                    f,
                    "layer {layer}: unknown maths code {found} (0 exact, 1 fast)"
                )
            }
            Self::BrokenLayerChain {
                layer,
                found,
                below,
            } => write!(
                f,
                "layer {layer} has (input, hidden) = ({}, {}); its input must be {below} (the size below it) and hidden at least 1",
                found[0], found[1]
            ),
            Self::DimensionMismatch { expected, found } => write!(
                f,
                "model file has (IN, H, OUT) = ({}, {}, {}), expected ({}, {}, {}); rebuild with matching sizes or re-export the model",
                found[0], found[1], found[2], expected[0], expected[1], expected[2]
            ),
            Self::LayerCountMismatch { expected, found } => write!(
                f,
                "model file has {found} recurrent layers, the model type {expected}; rebuild with matching layers or re-export the model"
            ),
            Self::LayerMismatch {
                layer,
                expected,
                found,
            } => {
                let name = |code: u32| {
                    u8::try_from(code)
                        .ok()
                        .and_then(LayerKind::from_code)
                        .map_or("?", LayerKind::name)
                };
                write!(
                    f,
                    "layer {layer}: the file has (kind, input, hidden) = ({}, {}, {}), the model type ({}, {}, {})",
                    name(found[0]),
                    found[1],
                    found[2],
                    name(expected[0]),
                    expected[1],
                    expected[2]
                )
            }
            Self::OutputMismatch { expected, found } => write!(
                f,
                "model file's head has {found} outputs, the model type {expected}"
            ),
            Self::Truncated { needed, found } if found < HEADER_LEN => write!(
                f,
                "model file truncated: {found} bytes, too short for the header (a complete file has at least {needed})"
            ),
            Self::Truncated { needed, found } if needed == usize::MAX => write!(
                f,
                "model file header corrupted: its sizes announce more data than any file holds ({found} bytes here)"
            ),
            Self::Truncated { needed, found } => write!(
                f,
                "model file truncated or its header corrupted: {found} bytes, the header announces {needed}"
            ),
            Self::TrailingBytes { expected, found } => write!(
                f,
                "model file has {found} bytes, the header announces {expected}: extra bytes after the checksum, or a corrupted header"
            ),
            Self::Quantized => write!(
                f,
                "the file holds an int8 quantized model (dtype 2), not f32 weights: lstm-harness eval --data, predict, inspect and export read it, and lstm_kernel::quant::file in Rust"
            ),
            Self::NotQuantized => write!(
                f,
                "the file holds f32 weights (dtype 1), not an int8 model: quantize it first (lstm-harness quantize)"
            ),
            Self::QuantValue {
                block,
                field,
                at,
                found,
            } => {
                write!(f, "int8 file: {block}")?;
                match field {
                    QuantField::InputScale => write!(
                        f,
                        ", channel {}: scale {} is not a positive finite number",
                        at[0],
                        f32::from_bits(found as u32)
                    ),
                    QuantField::Weight => write!(
                        f,
                        ", row {} column {}: weight {found} is outside -127..=127",
                        at[0], at[1]
                    ),
                    QuantField::Bias => write!(f, ", row {}: bias {found} is outside ±2^24", at[0]),
                    QuantField::Multiplier => write!(
                        f,
                        ", row {}: multiplier (mantissa {}, shift {}) is neither 0 nor a positive mantissa with a shift in 1..=62",
                        at[0],
                        found >> 8,
                        found & 0xff
                    ),
                    QuantField::CellFormat => write!(
                        f,
                        ": cell format byte {found} (an LSTM's fractional bits are 0..=15; a GRU has no cell and writes 0)"
                    ),
                    QuantField::Maths => write!(
                        f,
                        ": maths code {found} (an int8 layer has one set of activation tables: 0)"
                    ),
                    QuantField::RowLength => write!(
                        f,
                        ": rows of {found} inputs (the integer dot product takes at most {})",
                        crate::quant::dot::MAX_INPUTS
                    ),
                }
            }
            Self::ChecksumMismatch { stored, computed } => write!(
                f,
                "model file corrupted: CRC-32 stored {stored:#010x}, computed {computed:#010x}"
            ),
            Self::NonFinite { index } => {
                write!(f, "weight {index} (file order) is NaN or infinite")
            }
            Self::BufferTooSmall { needed, found } => write!(
                f,
                "output buffer has {found} bytes, the model file needs {needed}"
            ),
            Self::Unrepresentable => write!(
                f,
                "the model cannot be written in this format (more than {MAX_LAYERS} layers, a layer kind without a code, or sizes, scaling and values that disagree)"
            ),
            Self::UnknownHeadActivation { found } => write!(
                f,
                "unknown head activation code {found} (0 logits, 1 sigmoid, 2 softmax, 3 identity)"
            ),
            Self::UnknownFlags { found } => write!(
                f,
                "unknown flags {found:#04x} (bit 0: scaling block, bit 1: first differences)"
            ),
            Self::NonFiniteScaling { index } => {
                write!(f, "scaling value {index} is NaN or infinite")
            }
            Self::Differenced { input } if input != 1 => write!(
                f,
                "the file says its model forecasts first differences of one series, but it has {input} inputs"
            ),
            Self::Differenced { .. } => write!(
                f,
                "the model forecasts first differences of one series: decode it with decode_scaled_into, feed it v[t] - v[t-1] and add v[t] to its outputs (pipeline::Differencer)"
            ),
            Self::ScalingNotRead => write!(
                f,
                "the file holds input normalisation (a scaling block): decode it with decode_scaled_into and apply the Scaling, or the model sees raw inputs"
            ),
        }
    }
}

impl core::error::Error for FormatError {}

/// A block of an int8 file's payload ([`FormatError::QuantValue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantBlock {
    /// The input scales.
    InputScales,
    /// Layer `k`'s own settings (its cell format, its maths byte).
    Layer(u32),
    /// Layer `k`'s `W_ih` rows (with their biases and multipliers).
    InputRows(u32),
    /// Layer `k`'s `W_hh` rows.
    RecurrentRows(u32),
    /// The head's rows.
    Head,
}

impl fmt::Display for QuantBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InputScales => write!(f, "input scales"),
            Self::Layer(k) => write!(f, "layer {k}"),
            Self::InputRows(k) => write!(f, "layer {k} W_ih rows"),
            Self::RecurrentRows(k) => write!(f, "layer {k} W_hh rows"),
            Self::Head => write!(f, "head rows"),
        }
    }
}

/// A field of an int8 file's payload ([`FormatError::QuantValue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantField {
    /// An input scale (positive and finite).
    InputScale,
    /// A weight (`-127..=127`).
    Weight,
    /// A bias (`|b| <= 2^24`).
    Bias,
    /// A multiplier (zero, or a mantissa in `[2^30, 2^31)` with a shift in `1..=62`).
    Multiplier,
    /// A layer's cell format (`0..=15` fractional bits; `0` for a GRU).
    CellFormat,
    /// A layer's maths code (`0`).
    Maths,
    /// A row length (at most [`crate::quant::dot::MAX_INPUTS`]).
    RowLength,
}

/// `?` for `const fn`s.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}

/// CRC-32 (IEEE 802.3, as zlib/PNG) of `bytes`, bitwise (no table, no RAM). `const`, so
/// a checksum can be computed at compile time.
pub const fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    let mut i = 0;
    while i < bytes.len() {
        crc ^= bytes[i] as u32;
        let mut bit = 0;
        while bit < 8 {
            // mask = all ones if the low bit is set.
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            bit += 1;
        }
        i += 1;
    }
    !crc
}

/// Number of `f32` parameters of an [`LstmModel<IN, H, OUT>`](LstmModel):
/// `4H(IN + H + 1) + OUT·H + OUT`. `None` on overflow.
pub const fn param_count(input: usize, hidden: usize, output: usize) -> Option<usize> {
    let lstm = LayerKind::Lstm.params(input, hidden);
    let head = match hidden.checked_add(1) {
        Some(s) => s.checked_mul(output),
        None => None,
    };
    match (lstm, head) {
        (Some(a), Some(b)) => a.checked_add(b),
        _ => None,
    }
}

/// Length in bytes of the version-2 file of an [`LstmModel<IN, H, OUT>`](LstmModel):
/// `48 + 4 · param_count`. `None` on overflow.
pub const fn encoded_len(input: usize, hidden: usize, output: usize) -> Option<usize> {
    match param_count(input, hidden, output) {
        Some(p) => file_len(1, p),
        None => None,
    }
}

/// Length of a version-2 file with `layers` layers and `params` weights.
const fn file_len(layers: usize, params: usize) -> Option<usize> {
    match params.checked_mul(4) {
        Some(b) => b.checked_add(HEADER_LEN + CRC_LEN + LAYER_ENTRY_LEN * layers),
        None => None,
    }
}

/// Length in bytes of the file of any model type `M` (a [`Model`]): `32 + 16 L + 4 P`.
pub fn model_file_len<M: Tensors<f32>>() -> usize {
    file_len(M::LAYERS, M::param_count()).unwrap_or(usize::MAX)
}

/// `u32` at `at` (caller guarantees `at + 4 <= bytes.len()`).
const fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The layer table of a model, from its [`Tensors`] walk (each layer's `W_ih` gives its
/// input and hidden size), its kinds and its settings.
fn layer_table<R: Recurrent<IN, H, f32>, const IN: usize, const H: usize>(
    rnn: &R,
) -> Result<([LayerEntry; MAX_LAYERS], usize), FormatError> {
    let mut layers = [EMPTY_ENTRY; MAX_LAYERS];
    let mut n = 0;
    for i in 0..R::COUNT {
        let Some(t) = R::info(i) else {
            return Err(FormatError::Unrepresentable);
        };
        if t.kind != TensorKind::InputWeights {
            continue;
        }
        let (Some(slot), Some(settings), Some(kind)) =
            (layers.get_mut(n), rnn.settings(t.layer), rnn.kind(t.layer))
        else {
            return Err(FormatError::Unrepresentable);
        };
        if kind.gates() != t.dims[1] {
            return Err(FormatError::Unrepresentable);
        }
        *slot = LayerEntry {
            kind,
            gate_order: GateOrder::Pytorch,
            settings,
            input: t.dims[0] as u32,
            hidden: t.dims[2] as u32,
        };
        n += 1;
    }
    if n == 0 || n != R::LAYERS {
        return Err(FormatError::Unrepresentable);
    }
    Ok((layers, n))
}

/// Everything a file says besides the weights, for [`encode_spec`] (the writer of models
/// whose sizes are known only at run time, e.g. a host tool's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FileSpec<'a> {
    /// `IN`: inputs per step of layer 0.
    pub input: u32,
    /// `OUT`: head outputs.
    pub output: u32,
    /// The layer table, bottom first (`1 ..= MAX_LAYERS` entries; layer 0's input is
    /// `input`, each other layer's the hidden size below it).
    pub layers: &'a [LayerEntry],
    /// What the head's outputs mean.
    pub head: HeadActivation,
    /// `[input_mean [IN], input_scale [IN], output_scale [OUT], output_mean [OUT]]`, or
    /// `None` for no scaling block.
    pub scaling: Option<[&'a [f32]; 4]>,
    /// The model forecasts first differences of one series (`IN = 1`).
    pub differenced: bool,
}

impl FileSpec<'_> {
    /// `Some(())` if the spec is consistent: 1 to [`MAX_LAYERS`] layers that chain from
    /// `input` with hidden sizes >= 1, scaling parts of the sizes' lengths, and `IN = 1`
    /// if differenced.
    pub(crate) fn check(&self) -> Option<()> {
        if self.layers.is_empty() || self.layers.len() > MAX_LAYERS {
            return None;
        }
        if self.differenced && self.input != 1 {
            return None;
        }
        let mut below = self.input;
        for l in self.layers {
            if l.input != below || l.hidden == 0 {
                return None;
            }
            below = l.hidden;
        }
        if let Some(sc) = self.scaling {
            let (i, o) = (self.input as usize, self.output as usize);
            if [i, i, o, o] != sc.map(<[f32]>::len) {
                return None;
            }
        }
        Some(())
    }

    /// Number of weights the layers and head hold (`P`); `None` if the spec contradicts
    /// itself (no layers, more than [`MAX_LAYERS`], a broken chain, hidden 0, wrong scaling
    /// lengths) or a size overflows.
    pub fn param_count(&self) -> Option<usize> {
        self.check()?;
        let mut params = 0usize;
        for l in self.layers {
            params = params.checked_add(l.kind.params(l.input as usize, l.hidden as usize)?)?;
        }
        let top = self.layers.last()?.hidden as usize;
        let head = top.checked_add(1)?.checked_mul(self.output as usize)?;
        params.checked_add(head)
    }

    /// Bytes of the scaling block (`8 (IN + OUT)` or 0).
    fn scaling_len(&self) -> usize {
        if self.scaling.is_some() {
            8 * (self.input as usize + self.output as usize)
        } else {
            0
        }
    }

    /// Length of the file in bytes (`32 + 16 L + S + 4 P`); `None` as [`Self::param_count`].
    pub fn file_len(&self) -> Option<usize> {
        file_len(self.layers.len(), self.param_count()?)?.checked_add(self.scaling_len())
    }

    /// Length of a file of this spec around a payload of `payload` bytes.
    pub(crate) fn frame_len(&self, payload: usize) -> Option<usize> {
        (HEADER_LEN + LAYER_ENTRY_LEN * self.layers.len() + CRC_LEN)
            .checked_add(self.scaling_len())?
            .checked_add(payload)
    }
}

/// Writes the file of `spec` with dtype `dtype` into the start of `out`: the header, the
/// layer table and the scaling block, then `payload` fills the payload (`payload_len`
/// bytes), then the CRC. Returns the file's length. The one writer of the frame: [`encode_spec`]
/// (f32) and [`crate::quant::file::encode`] (int8) call it.
///
/// # Errors
/// [`FormatError::Unrepresentable`] for a spec that contradicts itself,
/// [`FormatError::BufferTooSmall`] (nothing written), [`FormatError::NonFiniteScaling`],
/// and whatever `payload` returns (`out` then holds a partial file: do not save it).
pub(crate) fn encode_frame(
    spec: &FileSpec<'_>,
    dtype: Dtype,
    payload_len: usize,
    out: &mut [u8],
    payload: impl FnOnce(&mut [u8]) -> Result<(), FormatError>,
) -> Result<usize, FormatError> {
    let (Some(()), Some(needed)) = (spec.check(), spec.frame_len(payload_len)) else {
        return Err(FormatError::Unrepresentable);
    };
    let found = out.len();
    let Some(file) = out.get_mut(..needed) else {
        return Err(FormatError::BufferTooSmall { needed, found });
    };
    let n = spec.layers.len();
    let (body, crc_out) = file.split_at_mut(needed - CRC_LEN);
    let (header, rest) = body.split_at_mut(HEADER_LEN + LAYER_ENTRY_LEN * n);
    let (scaling, data) = rest.split_at_mut(spec.scaling_len());
    header.fill(0);
    header[..8].copy_from_slice(&MAGIC);
    for (at, v) in [
        (8, VERSION),
        (12, spec.input),
        (16, spec.output),
        (20, n as u32),
    ] {
        header[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    header[24] = dtype.code();
    header[25] = spec.head.code();
    header[26] = if spec.scaling.is_some() {
        FLAG_SCALING
    } else {
        0
    } | if spec.differenced {
        FLAG_DIFFERENCED
    } else {
        0
    };
    for (e, l) in header[HEADER_LEN..]
        .chunks_exact_mut(LAYER_ENTRY_LEN)
        .zip(spec.layers)
    {
        e[0] = l.kind.code();
        e[1] = 0; // GateOrder::Pytorch
        e[2] = l.settings.activation.code();
        e[3] = l.settings.maths.code();
        e[4..8].copy_from_slice(&l.input.to_le_bytes());
        e[8..12].copy_from_slice(&l.hidden.to_le_bytes());
    }
    if let Some(parts) = spec.scaling {
        let all = parts.iter().flat_map(|p| p.iter());
        for (index, (chunk, v)) in scaling.chunks_exact_mut(4).zip(all).enumerate() {
            if !v.is_finite() {
                return Err(FormatError::NonFiniteScaling { index });
            }
            chunk.copy_from_slice(&v.to_le_bytes());
        }
    }
    payload(data)?;
    crc_out.copy_from_slice(&crc32(body).to_le_bytes());
    Ok(needed)
}

/// Writes the version-3 file of `spec` with weights `values` (`P` of them, in the
/// [`Tensors`] walk order of the model `spec` describes) into the start of `out`, and
/// returns the number of bytes written ([`FileSpec::file_len`]; bytes after them are
/// untouched). The one writer of the f32 format: [`encode`] and [`encode_scaled`] call it.
///
/// # Errors
/// - [`FormatError::Unrepresentable`] if `spec` contradicts itself or `values` holds
///   another number of weights than `P`.
/// - [`FormatError::BufferTooSmall`] if `out` is shorter than the file (nothing written).
/// - [`FormatError::NonFinite`] / [`FormatError::NonFiniteScaling`] for a NaN or infinite
///   weight or scaling value (`out` may then hold a partial file, so do not save it).
pub fn encode_spec(
    spec: &FileSpec<'_>,
    values: impl IntoIterator<Item = f32>,
    out: &mut [u8],
) -> Result<usize, FormatError> {
    let Some(params) = spec.param_count() else {
        return Err(FormatError::Unrepresentable);
    };
    let Some(bytes) = params.checked_mul(4) else {
        return Err(FormatError::Unrepresentable);
    };
    encode_frame(spec, Dtype::F32Le, bytes, out, |data| {
        let mut values = values.into_iter();
        for (index, chunk) in data.chunks_exact_mut(4).enumerate() {
            let Some(v) = values.next() else {
                return Err(FormatError::Unrepresentable);
            };
            if !v.is_finite() {
                return Err(FormatError::NonFinite { index });
            }
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        if values.next().is_some() {
            return Err(FormatError::Unrepresentable);
        }
        Ok(())
    })
}

/// Writes `model` in the version-3 format of the [module docs](self), with no scaling
/// block and the head activation unspecified, into the start of `out` and returns the
/// number of bytes written ([`model_file_len`]; bytes after that are untouched).
///
/// # Errors
/// - [`FormatError::BufferTooSmall`] if `out` is shorter than the file (nothing written).
/// - [`FormatError::NonFinite`] if a weight is NaN or infinite (import would refuse the
///   file; `out` may then hold a partial file, so do not save it).
/// - [`FormatError::Unrepresentable`] for a model with more than [`MAX_LAYERS`] layers.
pub fn encode<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &Model<R, IN, H, OUT, f32>,
    out: &mut [u8],
) -> Result<usize, FormatError>
where
    R: Recurrent<IN, H, f32>,
{
    encode_scaled(model, HeadActivation::Unspecified, None, out)
}

/// [`encode`] with the head activation `head` and, if given, the scaling block of
/// `scaling` (see [`crate::pipeline`]).
///
/// # Errors
/// Those of [`encode`], and [`FormatError::NonFiniteScaling`].
pub fn encode_scaled<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &Model<R, IN, H, OUT, f32>,
    head: HeadActivation,
    scaling: Option<&Scaling<IN, OUT>>,
    out: &mut [u8],
) -> Result<usize, FormatError>
where
    R: Recurrent<IN, H, f32>,
{
    let (layers, n) = layer_table(&model.rnn)?;
    let spec = FileSpec {
        input: IN as u32,
        output: OUT as u32,
        layers: &layers[..n],
        head,
        differenced: false,
        scaling: scaling.map(|s| {
            [
                &s.input_mean[..],
                &s.input_scale[..],
                &s.output_scale[..],
                &s.output_mean[..],
            ]
        }),
    };
    let values = (0..<Model<R, IN, H, OUT, f32> as Tensors<f32>>::COUNT)
        .flat_map(|t| model.tensor(t).iter().copied());
    encode_spec(&spec, values, out)
}

/// A validated model file, borrowed: the header plus lazy access to the weights, which
/// stay in the byte slice (see "Where the weights live" in the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelBytes<'a> {
    header: Header,
    /// The scaling block's bytes (`8 (IN + OUT)` long, or empty).
    scaling: &'a [u8],
    /// The weight bytes, `4 · P` long.
    data: &'a [u8],
}

impl<'a> ModelBytes<'a> {
    /// The decoded header.
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Number of weights.
    pub const fn len(&self) -> usize {
        self.data.len() / 4
    }

    /// True if the file holds no weights (never, since every layer has `hidden >= 1`).
    pub const fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Weight `index` in file order, read from the slice; `None` past the end.
    pub const fn value(&self, index: usize) -> Option<f32> {
        if index >= self.len() {
            return None;
        }
        Some(f32::from_bits(read_u32(self.data, 4 * index)))
    }

    /// All weights in file order, read lazily from the slice.
    pub fn values(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.data)
    }

    /// The scaling block's `2 IN + 2 OUT` values (`input_mean`, `input_scale`,
    /// `output_scale`, `output_mean`), read lazily; `None` if the file has none.
    pub fn scaling_values(&self) -> Option<impl ExactSizeIterator<Item = f32> + 'a> {
        self.header.scaled.then(|| f32s(self.scaling))
    }
}

/// Little-endian `f32`s of `bytes` (a multiple of 4 long).
pub(crate) fn f32s(bytes: &[u8]) -> impl ExactSizeIterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The raw codes of one layer before they are checked: `(kind, gate order, activation,
/// maths, input, hidden)`.
type RawLayer = (u8, u8, u8, u8, u32, u32);

/// What a file's frame says before its payload is read: the header and raw layer table
/// of any dtype (the f32 weights of [`parse`], or the int8 payload of
/// [`crate::quant::file`]), read by [`read_frame`] and completed by [`finish_frame`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    version: u32,
    /// The dtype (byte 24).
    pub(crate) dtype: Dtype,
    head: HeadActivation,
    scaled: bool,
    differenced: bool,
    /// `IN`.
    pub(crate) input: u32,
    /// `OUT`.
    pub(crate) output: u32,
    /// Layers in the table.
    pub(crate) count: usize,
    raw: [RawLayer; MAX_LAYERS],
    /// Offset of the payload (after the table and the scaling block); `None` if the
    /// scaling block's length overflows.
    data_at: Option<usize>,
    scaling_len: usize,
}

impl Frame {
    /// Layer `k`'s kind (known: [`read_frame`] checked it), input and hidden size, from
    /// the raw table (not yet checked to chain).
    pub(crate) const fn raw_layer(&self, k: usize) -> (LayerKind, u32, u32) {
        let r = self.raw[k];
        let kind = match LayerKind::from_code(r.0) {
            Some(kind) => kind,
            None => LayerKind::Lstm,
        };
        (kind, r.4, r.5)
    }
}

/// Reads the frame of a file (magic, version, header, dtype, head activation and flags,
/// layer count, the raw layer table, each layer's kind) without its length, CRC or payload
/// (checks 1 to 4 of the [module docs](self)'s list, and the kind codes, which the length
/// depends on).
pub(crate) const fn read_frame(bytes: &[u8]) -> Result<Frame, FormatError> {
    // The magic is checked on whatever prefix exists, so a short file of another format
    // is "not a model file" rather than "truncated".
    let mut i = 0;
    while i < MAGIC.len() && i < bytes.len() {
        if bytes[i] != MAGIC[i] {
            return Err(FormatError::BadMagic);
        }
        i += 1;
    }
    if bytes.len() < 12 {
        return Err(FormatError::Truncated {
            needed: HEADER_LEN + LAYER_ENTRY_LEN + CRC_LEN,
            found: bytes.len(),
        });
    }
    let version = read_u32(bytes, 8);
    if version != 1 && version != 2 && version != VERSION {
        return Err(FormatError::UnsupportedVersion { found: version });
    }
    if bytes.len() < HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: HEADER_LEN + CRC_LEN,
            found: bytes.len(),
        });
    }
    let dtype = match Dtype::from_code(bytes[24]) {
        // An int8 file exists only from version 3.
        Some(Dtype::I8PerRow) if version != VERSION => {
            return Err(FormatError::UnknownDtype { found: bytes[24] });
        }
        Some(d) => d,
        None => return Err(FormatError::UnknownDtype { found: bytes[24] }),
    };
    let (head, scaled, differenced) = if version == VERSION {
        let Some(head) = HeadActivation::from_code(bytes[25]) else {
            return Err(FormatError::UnknownHeadActivation { found: bytes[25] });
        };
        if bytes[26] & !(FLAG_SCALING | FLAG_DIFFERENCED) != 0 {
            return Err(FormatError::UnknownFlags { found: bytes[26] });
        }
        (
            head,
            bytes[26] & FLAG_SCALING != 0,
            bytes[26] & FLAG_DIFFERENCED != 0,
        )
    } else {
        (HeadActivation::Unspecified, false, false)
    };
    let input = read_u32(bytes, 12);
    if differenced && input != 1 {
        return Err(FormatError::Differenced { input });
    }
    // Raw layer table and the start of the weights.
    let mut raw: [RawLayer; MAX_LAYERS] = [(0, 0, 0, 0, 0, 0); MAX_LAYERS];
    let (output, n, table_end) = if version == 1 {
        raw[0] = (0, bytes[25], bytes[26], 0, input, read_u32(bytes, 16));
        (read_u32(bytes, 20), 1, V1_HEADER_LEN)
    } else {
        let n = read_u32(bytes, 20);
        if n == 0 || n as usize > MAX_LAYERS {
            return Err(FormatError::UnsupportedLayerCount { found: n });
        }
        let n = n as usize;
        let table_end = HEADER_LEN + LAYER_ENTRY_LEN * n;
        if bytes.len() < table_end {
            return Err(FormatError::Truncated {
                needed: table_end + CRC_LEN,
                found: bytes.len(),
            });
        }
        let mut k = 0;
        while k < n {
            let e = HEADER_LEN + LAYER_ENTRY_LEN * k;
            raw[k] = (
                bytes[e],
                bytes[e + 1],
                bytes[e + 2],
                bytes[e + 3],
                read_u32(bytes, e + 4),
                read_u32(bytes, e + 8),
            );
            k += 1;
        }
        (read_u32(bytes, 16), n, table_end)
    };
    // An unknown kind leaves the length unknown: reported before the length and CRC
    // checks (counting it as some kind would report a wrong length instead).
    let mut k = 0;
    while k < n {
        if LayerKind::from_code(raw[k].0).is_none() {
            return Err(FormatError::UnknownLayerKind {
                layer: k as u32,
                found: raw[k].0,
            });
        }
        k += 1;
    }
    // The scaling block sits between the table and the payload: 8 (IN + OUT) bytes.
    let scaling_len = if scaled {
        match (input as usize).checked_add(output as usize) {
            Some(v) => match v.checked_mul(8) {
                Some(b) => Some(b),
                None => None,
            },
            None => None,
        }
    } else {
        Some(0)
    };
    let (data_at, scaling_len) = match scaling_len {
        Some(s) => (table_end.checked_add(s), s),
        None => (None, 0),
    };
    Ok(Frame {
        version,
        dtype,
        head,
        scaled,
        differenced,
        input,
        output,
        count: n,
        raw,
        data_at,
        scaling_len,
    })
}

/// Completes [`read_frame`] for a payload of `payload_len` bytes (`None`: the sizes
/// overflow, so the file is reported truncated): the exact length, the CRC, each layer's
/// gate order, activation and maths codes, the layer chain and a finite scaling block.
/// Returns the header, the scaling block's bytes and the payload's.
pub(crate) const fn finish_frame<'a>(
    bytes: &'a [u8],
    frame: &Frame,
    payload_len: Option<usize>,
) -> Result<(Header, &'a [u8], &'a [u8]), FormatError> {
    let needed = match (frame.data_at, payload_len) {
        (Some(at), Some(p)) => match at.checked_add(p) {
            Some(s) => match s.checked_add(CRC_LEN) {
                Some(l) => l,
                None => usize::MAX,
            },
            None => usize::MAX,
        },
        _ => usize::MAX,
    };
    if bytes.len() < needed {
        return Err(FormatError::Truncated {
            needed,
            found: bytes.len(),
        });
    }
    if bytes.len() > needed {
        return Err(FormatError::TrailingBytes {
            expected: needed,
            found: bytes.len(),
        });
    }
    let body = bytes.split_at(needed - CRC_LEN).0;
    let stored = read_u32(bytes, needed - CRC_LEN);
    let computed = crc32(body);
    if stored != computed {
        return Err(FormatError::ChecksumMismatch { stored, computed });
    }
    let mut layers = [EMPTY_ENTRY; MAX_LAYERS];
    let mut below = frame.input;
    let mut k = 0;
    while k < frame.count {
        let (kind, order, act, maths, li, lh) = frame.raw[k];
        let layer = k as u32;
        let Some(kind) = LayerKind::from_code(kind) else {
            return Err(FormatError::UnknownLayerKind { layer, found: kind });
        };
        let gate_order = match order {
            0 => GateOrder::Pytorch,
            found => return Err(FormatError::UnknownGateOrder { layer, found }),
        };
        let Some(activation) = RecurrentActivation::from_code(act) else {
            return Err(FormatError::UnknownActivation { layer, found: act });
        };
        let Some(maths) = Maths::from_code(maths) else {
            return Err(FormatError::UnknownMaths {
                layer,
                found: maths,
            });
        };
        if li != below || lh == 0 {
            return Err(FormatError::BrokenLayerChain {
                layer,
                found: [li, lh],
                below,
            });
        }
        layers[k] = LayerEntry {
            kind,
            gate_order,
            settings: LayerSettings { activation, maths },
            input: li,
            hidden: lh,
        };
        below = lh;
        k += 1;
    }
    // `needed` is finite here, so `data_at` is known.
    let data_at = needed
        - CRC_LEN
        - match payload_len {
            Some(p) => p,
            None => 0,
        };
    let (before, data) = body.split_at(data_at);
    let scaling = before.split_at(data_at - frame.scaling_len).1;
    let mut index = 0;
    while index < scaling.len() / 4 {
        if !f32::from_bits(read_u32(scaling, 4 * index)).is_finite() {
            return Err(FormatError::NonFiniteScaling { index });
        }
        index += 1;
    }
    let header = Header {
        version: frame.version,
        input: frame.input,
        output: frame.output,
        dtype: frame.dtype,
        head: frame.head,
        scaled: frame.scaled,
        differenced: frame.differenced,
        layer_count: frame.count,
        layers,
    };
    Ok((header, scaling, data))
}

/// Validates an `f32` model file in place (every check of the [module docs](self) except
/// the comparison with a model type) without copying the weights.
///
/// # Errors
/// The first failing check, as listed in the module docs; [`FormatError::Quantized`] for
/// an int8 file (read it with [`crate::quant::file::parse`]).
pub const fn parse(bytes: &[u8]) -> Result<ModelBytes<'_>, FormatError> {
    let frame = tri!(read_frame(bytes));
    if !matches!(frame.dtype, Dtype::F32Le) {
        return Err(FormatError::Quantized);
    }
    // The weights' length the sizes announce (saturating: absurd sizes are "truncated").
    let mut params: usize = 0;
    let mut ok = true;
    let mut k = 0;
    while k < frame.count {
        let (kind, input, hidden) = frame.raw_layer(k);
        match kind.params(input as usize, hidden as usize) {
            Some(p) => match params.checked_add(p) {
                Some(s) => params = s,
                None => ok = false,
            },
            None => ok = false,
        }
        k += 1;
    }
    let top = frame.raw_layer(frame.count - 1).2 as usize;
    match top.checked_add(1) {
        Some(s) => match s.checked_mul(frame.output as usize) {
            Some(h) => match params.checked_add(h) {
                Some(p) => params = p,
                None => ok = false,
            },
            None => ok = false,
        },
        None => ok = false,
    }
    let payload = if ok { params.checked_mul(4) } else { None };
    let (header, scaling, data) = tri!(finish_frame(bytes, &frame, payload));
    let mut index = 0;
    while index < data.len() / 4 {
        if !f32::from_bits(read_u32(data, 4 * index)).is_finite() {
            return Err(FormatError::NonFinite { index });
        }
        index += 1;
    }
    Ok(ModelBytes {
        header,
        scaling,
        data,
    })
}

/// Imports an [`LstmModel<IN, H, OUT>`](LstmModel) (`f32`, one LSTM layer) from a complete
/// file of either version: [`parse`], then the file must have one layer of sizes
/// `(IN, H)` and `OUT` outputs. The layer's activation and maths come from the file (maths
/// [`Maths::Exact`] for version 1). Round trip with [`encode`] is bit-exact.
///
/// `const fn`: in a `static` initialiser it runs at compile time and the weights land in
/// flash (see the [module docs](self)); at run time the returned model is a RAM copy.
///
/// # Errors
/// Those of [`parse`], [`FormatError::ScalingNotRead`] for a file with a scaling block,
/// then [`FormatError::LayerCountMismatch`] for a file of several layers (decode stacks
/// with [`decode_into`]) or [`FormatError::DimensionMismatch`] for other sizes.
pub const fn decode<const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
) -> Result<LstmModel<IN, H, OUT, f32>, FormatError> {
    let file = tri!(parse(bytes));
    let h = file.header;
    if h.scaled {
        return Err(FormatError::ScalingNotRead);
    }
    if h.differenced {
        return Err(FormatError::Differenced { input: h.input });
    }
    let l0 = h.layers[0];
    let expected = [IN as u32, H as u32, OUT as u32];
    let found = [h.input, l0.hidden, h.output];
    if h.layer_count != 1
        || h.input as usize != IN
        || l0.hidden as usize != H
        || h.output as usize != OUT
    {
        if h.layer_count != 1 {
            return Err(FormatError::LayerCountMismatch {
                expected: 1,
                found: h.layer_count as u32,
            });
        }
        return Err(FormatError::DimensionMismatch { expected, found });
    }
    if !matches!(l0.kind, LayerKind::Lstm) {
        return Err(FormatError::LayerMismatch {
            layer: 0,
            expected: [LayerKind::Lstm.code() as u32, IN as u32, H as u32],
            found: [l0.kind.code() as u32, l0.input, l0.hidden],
        });
    }
    let d = file.data;
    let mut m = LstmModel::<IN, H, OUT, f32>::zeroed(l0.settings.activation);
    m.rnn.maths = l0.settings.maths;
    let mut at = 0; // byte offset into d
    let mut k = 0;
    while k < IN {
        let mut g = 0;
        while g < 4 {
            let mut j = 0;
            while j < H {
                m.rnn.weights.w_ih[k][g][j] = f32::from_bits(read_u32(d, at));
                at += 4;
                j += 1;
            }
            g += 1;
        }
        k += 1;
    }
    k = 0;
    while k < H {
        let mut g = 0;
        while g < 4 {
            let mut j = 0;
            while j < H {
                m.rnn.weights.w_hh[k][g][j] = f32::from_bits(read_u32(d, at));
                at += 4;
                j += 1;
            }
            g += 1;
        }
        k += 1;
    }
    let mut g = 0;
    while g < 4 {
        let mut j = 0;
        while j < H {
            m.rnn.weights.b[g][j] = f32::from_bits(read_u32(d, at));
            at += 4;
            j += 1;
        }
        g += 1;
    }
    let mut o = 0;
    while o < OUT {
        let mut j = 0;
        while j < H {
            m.head.w[o][j] = f32::from_bits(read_u32(d, at));
            at += 4;
            j += 1;
        }
        o += 1;
    }
    o = 0;
    while o < OUT {
        m.head.b[o] = f32::from_bits(read_u32(d, at));
        at += 4;
        o += 1;
    }
    Ok(m)
}

/// Imports any model (a stack of layers and a head) from a complete file of either version
/// into `model`: [`parse`], then the file's layer table must equal the model type's (layer
/// count, each layer's kind and `(input, hidden)`, `OUT`); the weights and every layer's
/// activation and maths are then written into `model`. On an error `model` is untouched
/// (every check runs before the first write).
///
/// # Errors
/// Those of [`parse`], [`FormatError::ScalingNotRead`] for a file with a scaling block
/// (read it with [`decode_scaled_into`]), then [`FormatError::LayerCountMismatch`],
/// [`FormatError::LayerMismatch`] or [`FormatError::OutputMismatch`].
pub fn decode_into<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    model: &mut Model<R, IN, H, OUT, f32>,
) -> Result<(), FormatError>
where
    R: Recurrent<IN, H, f32>,
{
    let file = parse(bytes)?;
    if file.header.scaled {
        return Err(FormatError::ScalingNotRead);
    }
    if file.header.differenced {
        return Err(FormatError::Differenced {
            input: file.header.input,
        });
    }
    fill(&file, model)
}

/// [`decode_into`] for a file with or without a scaling block: the weights go into
/// `model`, the scaling into `scaling` ([`Scaling::IDENTITY`] if the file has none), and
/// the file's head activation is returned. On an error neither is touched. A file whose
/// model forecasts first differences is read too: check [`parse`]'s
/// [`Header::differenced`] and wrap the model in a [`crate::pipeline::Differencer`].
///
/// # Errors
/// Those of [`decode_into`] but [`FormatError::ScalingNotRead`].
pub fn decode_scaled_into<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    model: &mut Model<R, IN, H, OUT, f32>,
    scaling: &mut Scaling<IN, OUT>,
) -> Result<HeadActivation, FormatError>
where
    R: Recurrent<IN, H, f32>,
{
    let file = parse(bytes)?;
    fill(&file, model)?;
    *scaling = read_scaling(file.scaling_values());
    Ok(file.header.head)
}

/// The [`Scaling`] of a scaling block's values (`input_mean`, `input_scale`, `output_scale`,
/// `output_mean`, as the file stores them), or [`Scaling::IDENTITY`] for none.
pub(crate) fn read_scaling<const IN: usize, const OUT: usize>(
    values: Option<impl Iterator<Item = f32>>,
) -> Scaling<IN, OUT> {
    let mut scaling = Scaling::IDENTITY;
    if let Some(mut v) = values {
        for part in [
            &mut scaling.input_mean[..],
            &mut scaling.input_scale[..],
            &mut scaling.output_scale[..],
            &mut scaling.output_mean[..],
        ] {
            part.iter_mut().zip(&mut v).for_each(|(d, x)| *d = x);
        }
    }
    scaling
}

/// Checks `file`'s layer table and head against the model type's and copies its weights
/// and layer settings into `model` (untouched on an error).
fn fill<R, const IN: usize, const H: usize, const OUT: usize>(
    file: &ModelBytes<'_>,
    model: &mut Model<R, IN, H, OUT, f32>,
) -> Result<(), FormatError>
where
    R: Recurrent<IN, H, f32>,
{
    let h = file.header;
    let (want, n) = layer_table(&model.rnn)?;
    if h.layer_count != n {
        return Err(FormatError::LayerCountMismatch {
            expected: n as u32,
            found: h.layer_count as u32,
        });
    }
    for (k, (w, f)) in want.iter().zip(h.layers()).enumerate() {
        let shape = |e: &LayerEntry| [u32::from(e.kind.code()), e.input, e.hidden];
        // A GRU layer takes either GRU variant from the file; another cell type is refused.
        if !w.kind.same_cell(f.kind) || (w.input, w.hidden) != (f.input, f.hidden) {
            return Err(FormatError::LayerMismatch {
                layer: k as u32,
                expected: shape(w),
                found: shape(f),
            });
        }
    }
    if h.output as usize != OUT {
        return Err(FormatError::OutputMismatch {
            expected: OUT as u32,
            found: h.output,
        });
    }
    let mut values = file.values();
    for t in 0..<Model<R, IN, H, OUT, f32> as Tensors<f32>>::COUNT {
        for (d, v) in model.tensor_mut(t).iter_mut().zip(&mut values) {
            *d = v;
        }
    }
    for (k, e) in h.layers().iter().enumerate() {
        model.rnn.set_settings(k, e.settings);
        model.rnn.set_kind(k, e.kind);
    }
    Ok(())
}

/// [`decode_into`] a zero model built by `zero` (e.g. `|| Model::new(stack, Dense::zeroed())`).
///
/// # Errors
/// Those of [`decode_into`].
pub fn decode_with<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    zero: impl FnOnce() -> Model<R, IN, H, OUT, f32>,
) -> Result<Model<R, IN, H, OUT, f32>, FormatError>
where
    R: Recurrent<IN, H, f32>,
{
    let mut m = zero();
    decode_into(bytes, &mut m)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: usize = 4 * (4 * 3 * (2 + 3 + 1) + 2 * 3 + 2) + 48;
    /// The same model in a version-1 file.
    const V1_LEN: usize = LEN - 16;

    /// A `LstmModel<2, 3, 2>` whose weights are distinct, non-trivial values
    /// (`sin(7 i) * 2^(i mod 5)`, so exponents and signs vary).
    fn sample() -> LstmModel<2, 3, 2> {
        let mut m = LstmModel::<2, 3, 2>::zeroed(RecurrentActivation::HardSigmoidKeras3);
        let mut i = 0;
        for t in 0..5 {
            for v in m.tensor_mut(t) {
                *v = libm::sinf(7.0 * i as f32) * (1 << (i % 5)) as f32;
                i += 1;
            }
        }
        m
    }

    fn encoded() -> [u8; LEN] {
        let mut buf = [0u8; LEN];
        assert_eq!(encode(&sample(), &mut buf), Ok(LEN));
        buf
    }

    /// Recomputes the CRC after a deliberate edit, so only the edited field is wrong.
    fn reseal(buf: &mut [u8]) {
        let n = buf.len();
        let crc = crc32(&buf[..n - 4]);
        buf[n - 4..].copy_from_slice(&crc.to_le_bytes());
    }

    /// An unknown layer kind in a GRU's file is named as such (not as a truncation: the
    /// length of an unknown kind's weights is unknown), and a header whose sizes overflow
    /// is called corrupted without printing an impossible length.
    #[test]
    fn an_unknown_kind_and_overflowing_sizes_are_named_for_what_they_are() {
        let gru = Model::new(
            crate::Gru::<2, 3>::zeroed(crate::GruVariant::ResetAfter, RecurrentActivation::Sigmoid),
            crate::Dense::<3, 2>::zeroed(),
        );
        let mut buf = [0u8; 512];
        let n = encode(&gru, &mut buf).unwrap();
        let file = &mut buf[..n];
        file[HEADER_LEN] = 9;
        reseal(file);
        assert_eq!(
            parse(file).err(),
            Some(FormatError::UnknownLayerKind { layer: 0, found: 9 })
        );
        let mut big = encoded();
        big[HEADER_LEN + 8..HEADER_LEN + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = parse(&big).err().unwrap();
        let text = alloc_free_text(&e);
        assert!(
            text.contains("header corrupted") && !text.contains("18446744073709551615"),
            "{text}"
        );
    }

    /// `Display` of an error into a stack buffer (the kernel has no `alloc`).
    fn alloc_free_text(e: &FormatError) -> heapless::String<256> {
        use core::fmt::Write;
        let mut s = heapless::String::new();
        let _ = write!(s, "{e}");
        s
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32/ISO-HDLC check value of "123456789" (zlib.crc32(b"123456789")).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn encoded_length_is_48_bytes_plus_four_per_weight() {
        assert_eq!(encoded_len(1, 10, 1), Some(2012));
        assert_eq!(encoded_len(2, 3, 2), Some(LEN));
        assert_eq!(encoded_len(usize::MAX, 2, 1), None);
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let buf = encoded();
        let back = decode::<2, 3, 2>(&buf).unwrap();
        let m = sample();
        for t in 0..5 {
            let a: &[f32] = m.tensor(t);
            let b: &[f32] = back.tensor(t);
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        assert_eq!(back.rnn.activation, RecurrentActivation::HardSigmoidKeras3);
        // Re-encoding gives the same bytes.
        let mut again = [0u8; LEN];
        encode(&back, &mut again).unwrap();
        assert_eq!(again, buf);
    }

    #[test]
    fn the_header_is_laid_out_as_documented() {
        let buf = encoded();
        assert_eq!(&buf[..8], b"\x89LSTM\r\n\x1a");
        // Version 3, IN = 2, OUT = 2, one layer, dtype f32, head unspecified, no flags,
        // reserved.
        assert_eq!(
            &buf[8..28],
            &[3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
        );
        // Layer 0: LSTM, i f g o, Keras 3 hard sigmoid, exact maths, input 2, hidden 3.
        assert_eq!(
            &buf[28..44],
            &[0, 0, 2, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]
        );
        // First weight W_ih[0][0][0] = sin(0) * 1 = 0; second = sin(7) * 2.
        assert_eq!(&buf[44..48], &0.0_f32.to_le_bytes());
        assert_eq!(&buf[48..52], &(libm::sinf(7.0) * 2.0).to_le_bytes());
        let file = parse(&buf).unwrap();
        assert_eq!(file.len(), (LEN - 48) / 4);
        assert_eq!(file.value(1), Some(libm::sinf(7.0) * 2.0));
        assert_eq!(file.value(file.len()), None);
        assert!(file.values().eq(sample_values()));
    }

    fn sample_values() -> impl Iterator<Item = f32> {
        let m = sample();
        let mut all = [0.0_f32; (LEN - 48) / 4];
        let mut i = 0;
        for t in 0..5 {
            for &v in m.tensor(t) {
                all[i] = v;
                i += 1;
            }
        }
        all.into_iter()
    }

    #[test]
    fn a_version_1_file_decodes_at_compile_time_into_a_static() {
        const LEN: usize = V1_LEN;
        const BYTES: [u8; LEN] = {
            // `encode` is not const (and writes version 2), so write a zero model's
            // version-1 file by hand: header, zero weights, CRC computed by the const `crc32`.
            let mut b = [0u8; LEN];
            let mut i = 0;
            while i < 8 {
                b[i] = MAGIC[i];
                i += 1;
            }
            b[8] = 1;
            b[12] = 2;
            b[16] = 3;
            b[20] = 2;
            b[24] = 1;
            let crc = crc32(b.split_at(LEN - 4).0).to_le_bytes();
            b[LEN - 4] = crc[0];
            b[LEN - 3] = crc[1];
            b[LEN - 2] = crc[2];
            b[LEN - 1] = crc[3];
            b
        };
        static MODEL: LstmModel<2, 3, 2> = match decode(&BYTES) {
            Ok(m) => m,
            Err(_) => panic!("BYTES is not a valid LstmModel<2, 3, 2> file"),
        };
        assert_eq!(MODEL, LstmModel::zeroed(RecurrentActivation::Sigmoid));
    }

    #[test]
    fn a_file_with_a_wrong_magic_is_refused() {
        let mut buf = encoded();
        buf[1] = b'l';
        assert_eq!(decode::<2, 3, 2>(&buf), Err(FormatError::BadMagic));
    }

    #[test]
    fn a_short_file_of_another_format_is_refused_as_bad_magic_not_truncated() {
        assert_eq!(decode::<2, 3, 2>(b"{\"a\": 1}"), Err(FormatError::BadMagic));
        assert_eq!(decode::<2, 3, 2>(&[0u8; 10]), Err(FormatError::BadMagic));
        let e = decode::<2, 3, 2>(&[]).unwrap_err();
        assert!(
            matches!(e, FormatError::Truncated { found: 0, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn a_file_from_another_format_version_is_refused() {
        let mut buf = encoded();
        buf[8] = 4;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnsupportedVersion { found: 4 })
        );
    }

    /// The scaling of a `LstmModel<2, 3, 2>`: distinct values in every part.
    fn scaling() -> Scaling<2, 2> {
        Scaling {
            input_mean: [1.5, -2.0],
            input_scale: [0.25, 3.0],
            output_scale: [10.0, 0.5],
            output_mean: [100.0, -7.0],
        }
    }

    /// Version 3 with a scaling block: the block sits between the layer table and the
    /// weights, in the documented order; it and the head activation round-trip bit for
    /// bit, the weights are those of the plain file, and the weights-only decoders refuse
    /// the file rather than let a device feed it raw inputs.
    #[test]
    fn a_scaling_block_and_head_activation_round_trip_and_weights_only_decoders_refuse_them() {
        let plain = encoded();
        let mut buf = [0u8; LEN + 32];
        let n = encode_scaled(
            &sample(),
            HeadActivation::Softmax,
            Some(&scaling()),
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, LEN + 8 * (2 + 2));
        assert_eq!((buf[25], buf[26], buf[27]), (2, FLAG_SCALING, 0));
        assert_eq!(&buf[44..48], &1.5f32.to_le_bytes());
        assert_eq!(&buf[44 + 28..44 + 32], &(-7.0f32).to_le_bytes());
        assert_eq!(&buf[44 + 32..n - 4], &plain[44..LEN - 4]);
        let file = parse(&buf).unwrap();
        assert!(file.header().scaled);
        assert_eq!(file.header().head, HeadActivation::Softmax);
        assert_eq!(file.scaling_values().unwrap().len(), 8);
        let mut m = LstmModel::<2, 3, 2>::zeroed(RecurrentActivation::Sigmoid);
        let mut sc = Scaling::IDENTITY;
        assert_eq!(
            decode_scaled_into(&buf, &mut m, &mut sc),
            Ok(HeadActivation::Softmax)
        );
        assert_eq!((m, sc), (sample(), scaling()));
        assert_eq!(decode::<2, 3, 2>(&buf), Err(FormatError::ScalingNotRead));
        let mut zero = LstmModel::<2, 3, 2>::zeroed(RecurrentActivation::Sigmoid);
        assert_eq!(
            decode_into(&buf, &mut zero),
            Err(FormatError::ScalingNotRead)
        );
        // A plain file through the scaled decoder: identity scaling, head unspecified.
        let mut sc = scaling();
        assert_eq!(
            decode_scaled_into(&plain, &mut m, &mut sc),
            Ok(HeadActivation::Unspecified)
        );
        assert_eq!(sc, Scaling::IDENTITY);
        // Bad codes, unknown flags and a NaN in the block are refused by name.
        for (at, v, e) in [
            (25, 9, FormatError::UnknownHeadActivation { found: 9 }),
            (26, 5, FormatError::UnknownFlags { found: 5 }),
            (26, 3, FormatError::Differenced { input: 2 }),
        ] {
            let mut bad = buf;
            bad[at] = v;
            reseal(&mut bad[..n]);
            assert_eq!(parse(&bad[..n]).err(), Some(e));
        }
        let mut bad = buf;
        bad[48..52].copy_from_slice(&f32::NAN.to_le_bytes());
        reseal(&mut bad[..n]);
        assert_eq!(
            parse(&bad[..n]).err(),
            Some(FormatError::NonFiniteScaling { index: 1 })
        );
        let mut nan = scaling();
        nan.output_mean[1] = f32::INFINITY;
        assert_eq!(
            encode_scaled(&sample(), HeadActivation::Identity, Some(&nan), &mut buf),
            Err(FormatError::NonFiniteScaling { index: 7 })
        );
    }

    /// A differenced forecaster (flag bit 1, one input): written by the dynamic writer, read
    /// by the scaled decoder with the flag in the header, refused by the weights-only
    /// decoders; a differenced spec of two inputs is not written.
    #[test]
    fn a_differenced_forecaster_is_flagged_and_only_the_scaled_decoder_reads_it() {
        let mut m = LstmModel::<1, 3, 1>::zeroed(RecurrentActivation::Sigmoid);
        m.head.b = [0.5];
        let mut plain = [0u8; 512];
        let n = encode(&m, &mut plain).unwrap();
        let file = parse(&plain[..n]).unwrap();
        let header = file.header();
        let spec = FileSpec {
            input: 1,
            output: 1,
            layers: header.layers(),
            head: HeadActivation::Identity,
            scaling: None,
            differenced: true,
        };
        let mut buf = [0u8; 512];
        let len = encode_spec(&spec, file.values(), &mut buf).unwrap();
        assert_eq!(buf[26], FLAG_DIFFERENCED);
        assert!(parse(&buf[..len]).unwrap().header().differenced);
        let mut back = LstmModel::<1, 3, 1>::zeroed(RecurrentActivation::Sigmoid);
        let mut sc = Scaling::IDENTITY;
        assert_eq!(
            decode_scaled_into(&buf[..len], &mut back, &mut sc),
            Ok(HeadActivation::Identity)
        );
        assert_eq!(back, m);
        assert_eq!(
            decode::<1, 3, 1>(&buf[..len]),
            Err(FormatError::Differenced { input: 1 })
        );
        assert_eq!(
            decode_into(&buf[..len], &mut back),
            Err(FormatError::Differenced { input: 1 })
        );
        assert_eq!(FileSpec { input: 2, ..spec }.param_count(), None);
    }

    /// A version-2 file (bytes 25 to 27 reserved) still loads, whatever they hold.
    #[test]
    fn a_version_2_file_still_loads_with_its_reserved_bytes_ignored() {
        let mut buf = encoded();
        buf[8] = 2;
        buf[25] = 0xAB;
        buf[26] = 0xFF;
        reseal(&mut buf);
        let file = parse(&buf).unwrap();
        assert_eq!(file.header().version, 2);
        assert!(!file.header().scaled);
        assert_eq!(file.header().head, HeadActivation::Unspecified);
        assert_eq!(decode::<2, 3, 2>(&buf), Ok(sample()));
    }

    /// The dynamic writer refuses a spec that contradicts itself, and writes the same bytes
    /// as the typed one for a consistent spec.
    #[test]
    fn encode_spec_checks_its_spec_and_matches_encode() {
        let bytes = encoded();
        let file = parse(&bytes).unwrap();
        let h = file.header();
        let spec = FileSpec {
            input: 2,
            output: 2,
            layers: h.layers(),
            head: HeadActivation::Unspecified,
            scaling: None,
            differenced: false,
        };
        let mut buf = [0u8; LEN];
        assert_eq!(encode_spec(&spec, file.values(), &mut buf), Ok(LEN));
        assert_eq!(buf, encoded());
        let short = file.values().take(10);
        assert_eq!(
            encode_spec(&spec, short, &mut buf),
            Err(FormatError::Unrepresentable)
        );
        let long = file.values().chain([1.0]);
        assert_eq!(
            encode_spec(&spec, long, &mut buf),
            Err(FormatError::Unrepresentable)
        );
        let wrong_in = FileSpec { input: 3, ..spec };
        assert_eq!(
            encode_spec(&wrong_in, file.values(), &mut buf),
            Err(FormatError::Unrepresentable)
        );
        let bad_scaling = FileSpec {
            scaling: Some([&[0.0; 2], &[1.0; 2], &[1.0; 1], &[0.0; 2]]),
            ..spec
        };
        assert_eq!(bad_scaling.param_count(), None);
    }

    #[test]
    fn a_file_for_other_sizes_is_refused_with_both_sizes() {
        let buf = encoded();
        assert_eq!(
            decode::<2, 4, 2>(&buf).unwrap_err(),
            FormatError::DimensionMismatch {
                expected: [2, 4, 2],
                found: [2, 3, 2]
            }
        );
    }

    #[test]
    fn a_header_with_zero_hidden_units_is_refused_in_both_versions() {
        let mut b = [0u8; 36];
        b[..8].copy_from_slice(&MAGIC);
        b[8] = 1;
        b[12] = 1; // IN = 1, H = 0, OUT = 1: one parameter (the head bias)
        b[20] = 1;
        b[24] = 1;
        reseal(&mut b);
        let zero_hidden = FormatError::BrokenLayerChain {
            layer: 0,
            found: [1, 0],
            below: 1,
        };
        assert_eq!(parse(&b), Err(zero_hidden));
        let mut b = [0u8; 52];
        b[..8].copy_from_slice(&MAGIC);
        b[8] = 2;
        b[12] = 1; // IN = 1, OUT = 1, one layer of (1, 0)
        b[16] = 1;
        b[20] = 1;
        b[24] = 1;
        b[32] = 1;
        reseal(&mut b);
        assert_eq!(parse(&b), Err(zero_hidden));
    }

    /// A stack round-trips bit-exactly with its per-layer settings; the layer table says
    /// what each layer is; a file for other layers is refused by layer.
    #[test]
    fn a_three_layer_stack_round_trips_and_mismatches_name_the_layer() {
        use crate::{Dense, Lstm, Lstm3, Maths, Model, Stack};
        type Net = Model<Lstm3<2, 3, 4, 3>, 2, 3, 2>;
        let zero = || -> Net {
            let a = RecurrentActivation::Sigmoid;
            Model::new(
                Stack::new(
                    Lstm::zeroed(a),
                    Stack::new(Lstm::zeroed(a), Lstm::zeroed(a)),
                ),
                Dense::zeroed(),
            )
        };
        let mut m = zero();
        m.rnn.upper.lower.activation = RecurrentActivation::HardSigmoidKeras2;
        m.rnn.upper.upper.maths = Maths::Fast;
        let mut i = 0;
        for t in 0..<Net as Tensors<f32>>::COUNT {
            for v in m.tensor_mut(t) {
                *v = libm::sinf(3.0 * i as f32);
                i += 1;
            }
        }
        let len = model_file_len::<Net>();
        assert_eq!(len, 32 + 16 * 3 + 4 * i);
        let mut buf = [0u8; 4096];
        assert_eq!(encode(&m, &mut buf), Ok(len));
        let file = parse(&buf[..len]).unwrap();
        let shapes: [(u32, u32); 3] = core::array::from_fn(|k| {
            let l = file.header().layers()[k];
            (l.input, l.hidden)
        });
        assert_eq!(shapes, [(2, 3), (3, 4), (4, 3)]);
        let back = decode_with(&buf[..len], zero).unwrap();
        for t in 0..<Net as Tensors<f32>>::COUNT {
            let same = back
                .tensor(t)
                .iter()
                .zip(m.tensor(t))
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "tensor {t}");
        }
        assert_eq!(
            back.rnn.upper.lower.activation,
            RecurrentActivation::HardSigmoidKeras2
        );
        assert_eq!(back.rnn.upper.upper.maths, Maths::Fast);
        // The one-layer decoder refuses the stack by its layer count.
        assert_eq!(
            decode::<2, 3, 2>(&buf[..len]),
            Err(FormatError::LayerCountMismatch {
                expected: 1,
                found: 3
            })
        );
        // A stack of other sizes is refused at the first differing layer.
        type Other = Model<Lstm3<2, 3, 5, 3>, 2, 3, 2>;
        let mut other: Other = Model::new(
            Stack::new(
                Lstm::zeroed(RecurrentActivation::Sigmoid),
                Stack::new(
                    Lstm::zeroed(RecurrentActivation::Sigmoid),
                    Lstm::zeroed(RecurrentActivation::Sigmoid),
                ),
            ),
            Dense::zeroed(),
        );
        let before = other;
        assert_eq!(
            decode_into(&buf[..len], &mut other),
            Err(FormatError::LayerMismatch {
                layer: 1,
                expected: [0, 3, 5],
                found: [0, 3, 4]
            })
        );
        assert_eq!(other, before, "a refused file changes nothing");
        // A layer whose input is not the size below it is refused by layer: layers
        // (1, 1) and (2, 1), one output: 12 + 16 + 2 weights, zero.
        let mut broken = [0u8; 28 + 32 + 4 * 30 + 4];
        broken[..8].copy_from_slice(&MAGIC);
        for (at, v) in [
            (8, 2_u32),
            (12, 1),
            (16, 1),
            (20, 2),
            (32, 1),
            (36, 1),
            (48, 2),
            (52, 1),
        ] {
            broken[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        broken[24] = 1;
        reseal(&mut broken);
        assert_eq!(
            parse(&broken),
            Err(FormatError::BrokenLayerChain {
                layer: 1,
                found: [2, 1],
                below: 1
            })
        );
    }

    /// A version-1 file of a model (written byte by byte as version 1 was) loads to the same
    /// model as its version-2 file.
    #[test]
    fn a_version_1_file_still_loads_with_its_activation() {
        let m = sample();
        let mut v1 = [0u8; V1_LEN];
        v1[..8].copy_from_slice(&MAGIC);
        for (at, v) in [(8, 1_u32), (12, 2), (16, 3), (20, 2)] {
            v1[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        v1[24] = 1;
        v1[26] = m.rnn.activation.code();
        let v2 = encoded();
        v1[28..V1_LEN - 4].copy_from_slice(&v2[44..LEN - 4]);
        reseal(&mut v1);
        let back = decode::<2, 3, 2>(&v1).unwrap();
        assert_eq!(back, m);
        assert_eq!(parse(&v1).unwrap().header().version, 1);
    }

    #[test]
    fn a_truncated_file_is_refused_at_every_length() {
        let buf = encoded();
        for n in 0..LEN {
            let e = decode::<2, 3, 2>(&buf[..n]).unwrap_err();
            let ok = matches!(e, FormatError::Truncated { found, .. } if found == n);
            assert!(ok, "length {n}: {e:?}");
        }
        assert_eq!(
            decode::<2, 3, 2>(&buf[..LEN - 1]),
            Err(FormatError::Truncated {
                needed: LEN,
                found: LEN - 1
            })
        );
    }

    #[test]
    fn absurd_dimensions_are_refused_as_truncated_without_overflow() {
        let mut buf = encoded();
        buf[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = decode::<2, 3, 2>(&buf).unwrap_err();
        assert!(
            matches!(e, FormatError::Truncated { found: LEN, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn bytes_after_the_checksum_are_refused() {
        let mut long = [0u8; LEN + 1];
        long[..LEN].copy_from_slice(&encoded());
        assert_eq!(
            decode::<2, 3, 2>(&long),
            Err(FormatError::TrailingBytes {
                expected: LEN,
                found: LEN + 1
            })
        );
    }

    #[test]
    fn a_flipped_bit_in_the_weights_fails_the_checksum() {
        let mut buf = encoded();
        buf[40] ^= 0x10;
        assert!(matches!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::ChecksumMismatch { .. })
        ));
    }

    #[test]
    fn a_nan_weight_in_a_file_is_refused_with_its_index() {
        let mut buf = encoded();
        buf[44 + 4 * 5..44 + 4 * 6].copy_from_slice(&f32::NAN.to_le_bytes());
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::NonFinite { index: 5 })
        );
    }

    #[test]
    fn an_unknown_activation_code_is_refused() {
        let mut buf = encoded();
        buf[28 + 2] = 9;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnknownActivation { layer: 0, found: 9 })
        );
    }

    #[test]
    fn an_unknown_dtype_code_is_refused() {
        let mut buf = encoded();
        buf[24] = 3;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnknownDtype { found: 3 })
        );
    }

    #[test]
    fn an_int8_file_is_refused_by_the_f32_readers_by_name() {
        let mut buf = encoded();
        buf[24] = 2;
        reseal(&mut buf);
        assert_eq!(decode::<2, 3, 2>(&buf), Err(FormatError::Quantized));
        assert_eq!(parse(&buf).map(|_| ()), Err(FormatError::Quantized));
    }

    #[test]
    fn an_unknown_gate_order_code_is_refused() {
        let mut buf = encoded();
        buf[28 + 1] = 1;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnknownGateOrder { layer: 0, found: 1 })
        );
    }

    #[test]
    fn exporting_into_a_short_buffer_is_refused_and_writes_nothing() {
        let mut buf = [0xAA_u8; LEN - 1];
        assert_eq!(
            encode(&sample(), &mut buf),
            Err(FormatError::BufferTooSmall {
                needed: LEN,
                found: LEN - 1
            })
        );
        assert!(buf.iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn exporting_a_model_with_an_infinite_weight_is_refused() {
        let mut m = sample();
        m.head.b[1] = f32::INFINITY;
        let mut buf = [0u8; LEN];
        assert_eq!(
            encode(&m, &mut buf),
            Err(FormatError::NonFinite {
                index: (LEN - 48) / 4 - 1
            })
        );
    }

    #[test]
    fn every_error_displays_a_message() {
        use core::fmt::Write;
        struct Sink(usize);
        impl Write for Sink {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 += s.len();
                Ok(())
            }
        }
        let all = [
            FormatError::BadMagic,
            FormatError::UnsupportedVersion { found: 2 },
            FormatError::UnknownDtype { found: 2 },
            FormatError::UnknownGateOrder { layer: 0, found: 2 },
            FormatError::UnknownActivation { layer: 1, found: 9 },
            FormatError::UnknownMaths { layer: 0, found: 7 },
            FormatError::UnknownLayerKind { layer: 0, found: 7 },
            FormatError::UnsupportedLayerCount { found: 9 },
            FormatError::BrokenLayerChain {
                layer: 1,
                found: [3, 4],
                below: 5,
            },
            FormatError::LayerCountMismatch {
                expected: 2,
                found: 1,
            },
            FormatError::LayerMismatch {
                layer: 1,
                expected: [0, 5, 5],
                found: [0, 5, 4],
            },
            FormatError::OutputMismatch {
                expected: 3,
                found: 1,
            },
            FormatError::Unrepresentable,
            FormatError::UnknownHeadActivation { found: 7 },
            FormatError::UnknownFlags { found: 2 },
            FormatError::NonFiniteScaling { index: 1 },
            FormatError::ScalingNotRead,
            FormatError::Differenced { input: 1 },
            FormatError::Differenced { input: 3 },
            FormatError::DimensionMismatch {
                expected: [1, 10, 1],
                found: [1, 20, 1],
            },
            FormatError::Truncated {
                needed: 10,
                found: 2,
            },
            FormatError::TrailingBytes {
                expected: 10,
                found: 12,
            },
            FormatError::ChecksumMismatch {
                stored: 1,
                computed: 2,
            },
            FormatError::NonFinite { index: 3 },
            FormatError::BufferTooSmall {
                needed: 10,
                found: 2,
            },
        ];
        for e in all {
            let mut s = Sink(0);
            write!(s, "{e}").unwrap();
            assert!(s.0 > 20, "{e:?}");
        }
    }
}
