//! A self-describing binary file for a [`LstmModel<IN, H, OUT>`](Model) (`f32`): export into a
//! caller's `&mut [u8]`, import from a `&[u8]` (e.g. `include_bytes!`), no allocation.
//!
//! # Format, version 1, byte by byte
//! All integers are little-endian. Offsets are in bytes.
//!
//! | offset | size | field | value |
//! |---|---|---|---|
//! | 0 | 8 | magic | [`MAGIC`] = `89 4C 53 54 4D 0D 0A 1A` (`\x89LSTM\r\n\x1a`, PNG-style: the high byte catches 7-bit channels, `\r\n` catches newline conversion) |
//! | 8 | 4 | format version, `u32` | [`VERSION`] = 1 |
//! | 12 | 4 | `IN`, `u32` | inputs per step |
//! | 16 | 4 | `H`, `u32` | hidden units (>= 1) |
//! | 20 | 4 | `OUT`, `u32` | head outputs |
//! | 24 | 1 | dtype | `1` = IEEE-754 `f32`, little-endian ([`Dtype`]) |
//! | 25 | 1 | gate order | `0` = i, f, g, o (PyTorch; Keras' i, f, c, o) ([`GateOrder`]) |
//! | 26 | 1 | recurrent activation | `0` sigmoid, `1` Keras 2 hard sigmoid, `2` Keras 3 hard sigmoid ([`RecurrentActivation`]) |
//! | 27 | 1 | reserved | written `0`; ignored by version-1 readers (a use would bump the version) |
//! | 28 | `4 P` | weights | `P = 4H(IN + H + 1) + OUT·H + OUT` values, in this order: `W_ih` `[IN][4][H]` (Keras `kernel` layout), `W_hh` `[H][4][H]` (Keras `recurrent_kernel`), `b` `[4][H]` (= PyTorch `bias_ih + bias_hh`), head `W` `[OUT][H]` (PyTorch `Linear.weight`), head `b` `[OUT]`; the same order as [`crate::Tensors`] lists a [`Model`]'s tensors |
//! | 28 + 4P | 4 | CRC-32, `u32` | over bytes `0 .. 28 + 4P` (IEEE 802.3 / zlib / PNG CRC: reflected polynomial `0xEDB88320`, initial `0xFFFFFFFF`, final XOR `0xFFFFFFFF`) |
//!
//! Total length: [`encoded_len`]`(IN, H, OUT)` = `32 + 4P` bytes, e.g. 1,996 bytes for
//! `IN = 1, H = 10, OUT = 1` (P = 491). The weights start at offset 28, a multiple of 4.
//!
//! # Checks on import, in this order
//! [`parse`] (and [`decode`], which calls it) checks: length >= 12 and magic, version,
//! header complete, dtype, the exact length implied by the file's own dimensions
//! ([`FormatError::Truncated`] / [`FormatError::TrailingBytes`]), the CRC, gate order,
//! activation, `H >= 1`, then that every weight is finite. [`decode`] then compares the
//! dimensions with the expected const sizes. The CRC is checked before the header's codes,
//! so a corrupted file reports [`FormatError::ChecksumMismatch`] rather than a confusing
//! "unknown activation".
//!
//! # Where the weights live (flash or RAM)
//! - [`decode`] is a `const fn`. In a `static` initialiser,
//!   `static MODEL: LstmModel<1, 10, 1> = match decode(include_bytes!("model.bin")) { .. }`
//!   runs **at compile time**: every check above (CRC included) becomes a build error,
//!   and the decoded weights are placed in `.rodata`, i.e. **flash**, with no RAM copy
//!   and no import code in the firmware. The generated Rust source written by
//!   `lstm-harness export --format rust` (a `static` built by a `const fn`) does the same
//!   without the binary file.
//! - Called at run time (e.g. on bytes received over a radio), [`decode`] returns a
//!   [`Model`] by value: the caller's copy lives in **RAM** (`size_of::<LstmModel<1, 10, 1>>()`,
//!   about 2 KB: the 491 weights plus the activation choices).
//!   The kernel's step functions take the model by reference, so they run from either.
//! - [`ModelBytes`] is the zero-copy view: [`parse`] validates the bytes in place and
//!   [`ModelBytes::values`] reads the weights lazily, one `f32` at a time, straight from
//!   the slice (flash, if the slice is in flash). It does not run the LSTM: the kernels
//!   need aligned `f32` arrays, which a byte slice is not guaranteed to be (and the crate
//!   forbids `unsafe`); use it to inspect or stream weights, or to fill a model in place.

use core::fmt;

use crate::activation::RecurrentActivation;
use crate::model::LstmModel;
use crate::tensors::Tensors;

/// The file's first 8 bytes: `\x89LSTM\r\n\x1a`.
pub const MAGIC: [u8; 8] = *b"\x89LSTM\r\n\x1a";
/// The format version this module writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the weights (magic, version, dimensions, codes, reserved byte).
pub const HEADER_LEN: usize = 28;
/// Bytes of the trailing CRC-32.
pub const CRC_LEN: usize = 4;

/// Element type of the weights. Only `f32` exists in version 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// IEEE-754 binary32, little-endian (code `1`).
    F32Le,
}

/// Order of the four gate blocks inside every `4H` axis of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GateOrder {
    /// i, f, g, o: PyTorch's order, equal to Keras' i, f, c, o (code `0`).
    Ifgo,
}

/// The decoded header of a valid file (see the [module docs](self) for the bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (1).
    pub version: u32,
    /// `IN`: inputs per step.
    pub input: u32,
    /// `H`: hidden units (>= 1).
    pub hidden: u32,
    /// `OUT`: head outputs.
    pub output: u32,
    /// Element type.
    pub dtype: Dtype,
    /// Gate order of the `4H` axes.
    pub gate_order: GateOrder,
    /// Recurrent activation of gates i, f, o.
    pub activation: RecurrentActivation,
}

/// Why bytes could not be imported or a model could not be exported.
///
/// Every variant says what was expected and what was found; [`fmt::Display`] adds a hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The first 8 bytes are not [`MAGIC`]: not a model file (or a text-mode copy).
    BadMagic,
    /// The version is not [`VERSION`].
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
    },
    /// The dtype code is not one of [`Dtype`]'s.
    UnknownDtype {
        /// Code in the file.
        found: u8,
    },
    /// The gate-order code is not one of [`GateOrder`]'s.
    UnknownGateOrder {
        /// Code in the file.
        found: u8,
    },
    /// The activation code is not one of [`RecurrentActivation`]'s.
    UnknownActivation {
        /// Code in the file.
        found: u8,
    },
    /// The file's `(IN, H, OUT)` differ from the sizes the caller asked for (or `H = 0`).
    DimensionMismatch {
        /// `(IN, H, OUT)` expected by the caller.
        expected: [u32; 3],
        /// `(IN, H, OUT)` in the file.
        found: [u32; 3],
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
    /// The stored CRC-32 does not match the bytes: the file is corrupted.
    ChecksumMismatch {
        /// CRC stored in the file.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// A weight is NaN or infinite (on import: in the file; on export: in the model).
    NonFinite {
        /// Flat index of the first offending weight in file order (0 = `W_ih[0][0][0]`).
        index: usize,
    },
    /// The output buffer given to [`encode`] is too short.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        found: usize,
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
                "model file format version {found} is not supported (this kernel reads version {VERSION}); re-export it"
            ),
            Self::UnknownDtype { found } => {
                write!(f, "unknown dtype code {found} (only 1 = f32 little-endian)")
            }
            Self::UnknownGateOrder { found } => {
                write!(f, "unknown gate order code {found} (only 0 = i, f, g, o)")
            }
            Self::UnknownActivation { found } => write!(
                f,
                "unknown recurrent activation code {found} (0 sigmoid, 1 hard sigmoid Keras 2, 2 hard sigmoid Keras 3)"
            ),
            Self::DimensionMismatch { expected, found } => write!(
                f,
                "model file has (IN, H, OUT) = ({}, {}, {}), expected ({}, {}, {}); rebuild with matching sizes or re-export the model",
                found[0], found[1], found[2], expected[0], expected[1], expected[2]
            ),
            Self::Truncated { needed, found } if found < HEADER_LEN => write!(
                f,
                "model file truncated: {found} bytes, too short for the {HEADER_LEN}-byte header (a complete file has at least {needed})"
            ),
            Self::Truncated { needed, found } => write!(
                f,
                "model file truncated or its header corrupted: {found} bytes, the header's dimensions announce {needed}"
            ),
            Self::TrailingBytes { expected, found } => write!(
                f,
                "model file has {found} bytes, the header's dimensions announce {expected}: extra bytes after the checksum, or a corrupted header"
            ),
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
        }
    }
}

impl core::error::Error for FormatError {}

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

/// Number of `f32` parameters of a `LstmModel<IN, H, OUT>`: `4H(IN + H + 1) + OUT·H + OUT`.
/// `None` on overflow.
pub const fn param_count(input: usize, hidden: usize, output: usize) -> Option<usize> {
    let lstm = match input.checked_add(hidden) {
        Some(s) => match s.checked_add(1) {
            Some(s) => match s.checked_mul(hidden) {
                Some(p) => p.checked_mul(4),
                None => None,
            },
            None => None,
        },
        None => None,
    };
    let head = match hidden.checked_add(1) {
        Some(s) => s.checked_mul(output),
        None => None,
    };
    match (lstm, head) {
        (Some(a), Some(b)) => a.checked_add(b),
        _ => None,
    }
}

/// Length in bytes of the file for a `LstmModel<IN, H, OUT>`: `32 + 4 · param_count`.
/// `None` on overflow.
pub const fn encoded_len(input: usize, hidden: usize, output: usize) -> Option<usize> {
    match param_count(input, hidden, output) {
        Some(p) => match p.checked_mul(4) {
            Some(b) => b.checked_add(HEADER_LEN + CRC_LEN),
            None => None,
        },
        None => None,
    }
}

/// `u32` at `at` (caller guarantees `at + 4 <= bytes.len()`).
const fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Writes `model` in the format of the [module docs](self) into the start of `out` and
/// returns the number of bytes written ([`encoded_len`]`(IN, H, OUT)`; bytes after that
/// are untouched).
///
/// # Errors
/// - [`FormatError::BufferTooSmall`] if `out` is shorter than the file (nothing written).
/// - [`FormatError::NonFinite`] if a weight is NaN or infinite (import would refuse the
///   file; `out` may then hold a partial file, so do not save it).
pub fn encode<const IN: usize, const H: usize, const OUT: usize>(
    model: &LstmModel<IN, H, OUT, f32>,
    out: &mut [u8],
) -> Result<usize, FormatError> {
    // Sizes that overflow cannot exist as a `Model` in memory, but stay total anyway.
    let needed = encoded_len(IN, H, OUT).unwrap_or(usize::MAX);
    let Some(file) = out.get_mut(..needed) else {
        return Err(FormatError::BufferTooSmall {
            needed,
            found: out.len(),
        });
    };
    let (body, crc_out) = file.split_at_mut(needed - CRC_LEN);
    let (header, data) = body.split_at_mut(HEADER_LEN);
    header[..8].copy_from_slice(&MAGIC);
    for (at, v) in [
        (8, VERSION),
        (12, IN as u32),
        (16, H as u32),
        (20, OUT as u32),
    ] {
        header[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    header[24] = 1; // Dtype::F32Le
    header[25] = 0; // GateOrder::Ifgo
    header[26] = model.rnn.activation.code();
    header[27] = 0;
    let values = (0..<LstmModel<IN, H, OUT, f32> as Tensors<f32>>::COUNT)
        .flat_map(|t| model.tensor(t).iter().copied());
    for (index, (chunk, v)) in data.chunks_exact_mut(4).zip(values).enumerate() {
        if !v.is_finite() {
            return Err(FormatError::NonFinite { index });
        }
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    crc_out.copy_from_slice(&crc32(body).to_le_bytes());
    Ok(needed)
}

/// A validated model file, borrowed: the header plus lazy access to the weights, which
/// stay in the byte slice (see "Where the weights live" in the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelBytes<'a> {
    header: Header,
    /// The weight bytes, `4 · param_count` long.
    data: &'a [u8],
}

impl<'a> ModelBytes<'a> {
    /// The decoded header.
    pub const fn header(&self) -> Header {
        self.header
    }

    /// Number of weights (`4H(IN + H + 1) + OUT·H + OUT`).
    pub const fn len(&self) -> usize {
        self.data.len() / 4
    }

    /// True if the file holds no weights (never, since `H >= 1`).
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
        self.data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Validates a model file in place (every check of the [module docs](self) except the
/// comparison with expected sizes) without copying the weights.
///
/// # Errors
/// The first failing check, as listed in the module docs.
pub const fn parse(bytes: &[u8]) -> Result<ModelBytes<'_>, FormatError> {
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
            needed: HEADER_LEN + CRC_LEN,
            found: bytes.len(),
        });
    }
    let version = read_u32(bytes, 8);
    if version != VERSION {
        return Err(FormatError::UnsupportedVersion { found: version });
    }
    if bytes.len() < HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: HEADER_LEN + CRC_LEN,
            found: bytes.len(),
        });
    }
    let dims = [
        read_u32(bytes, 12),
        read_u32(bytes, 16),
        read_u32(bytes, 20),
    ];
    let dtype = match bytes[24] {
        1 => Dtype::F32Le,
        found => return Err(FormatError::UnknownDtype { found }),
    };
    let needed = match encoded_len(dims[0] as usize, dims[1] as usize, dims[2] as usize) {
        Some(n) => n,
        None => usize::MAX,
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
    let gate_order = match bytes[25] {
        0 => GateOrder::Ifgo,
        found => return Err(FormatError::UnknownGateOrder { found }),
    };
    let activation = match RecurrentActivation::from_code(bytes[26]) {
        Some(a) => a,
        None => return Err(FormatError::UnknownActivation { found: bytes[26] }),
    };
    if dims[1] == 0 {
        return Err(FormatError::DimensionMismatch {
            expected: [dims[0], 1, dims[2]],
            found: dims,
        });
    }
    let data = body.split_at(HEADER_LEN).1;
    let mut index = 0;
    while index < data.len() / 4 {
        if !f32::from_bits(read_u32(data, 4 * index)).is_finite() {
            return Err(FormatError::NonFinite { index });
        }
        index += 1;
    }
    Ok(ModelBytes {
        header: Header {
            version,
            input: dims[0],
            hidden: dims[1],
            output: dims[2],
            dtype,
            gate_order,
            activation,
        },
        data,
    })
}

/// Imports a `LstmModel<IN, H, OUT>` (`f32`) from a complete file: [`parse`], then the
/// dimensions must equal `(IN, H, OUT)`. Round trip with [`encode`] is bit-exact.
///
/// `const fn`: in a `static` initialiser it runs at compile time and the weights land in
/// flash (see the [module docs](self)); at run time the returned model is a RAM copy.
///
/// # Errors
/// Those of [`parse`], then [`FormatError::DimensionMismatch`].
pub const fn decode<const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
) -> Result<LstmModel<IN, H, OUT, f32>, FormatError> {
    let file = tri!(parse(bytes));
    let h = file.header;
    let expected = [IN as u32, H as u32, OUT as u32];
    if h.input as usize != IN || h.hidden as usize != H || h.output as usize != OUT {
        return Err(FormatError::DimensionMismatch {
            expected,
            found: [h.input, h.hidden, h.output],
        });
    }
    let d = file.data;
    let mut m = LstmModel::<IN, H, OUT, f32>::zeroed(h.activation);
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

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: usize = 4 * (4 * 3 * (2 + 3 + 1) + 2 * 3 + 2) + 32;

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

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32/ISO-HDLC check value of "123456789" (zlib.crc32(b"123456789")).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn encoded_length_is_32_bytes_plus_four_per_weight() {
        assert_eq!(encoded_len(1, 10, 1), Some(1996));
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
        assert_eq!(
            &buf[8..28],
            &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]
        );
        // First weight W_ih[0][0][0] = sin(0) * 1 = 0; second = sin(7) * 2.
        assert_eq!(&buf[28..32], &0.0_f32.to_le_bytes());
        assert_eq!(&buf[32..36], &(libm::sinf(7.0) * 2.0).to_le_bytes());
        let file = parse(&buf).unwrap();
        assert_eq!(file.len(), (LEN - 32) / 4);
        assert_eq!(file.value(1), Some(libm::sinf(7.0) * 2.0));
        assert_eq!(file.value(file.len()), None);
        assert!(file.values().eq(sample_values()));
    }

    fn sample_values() -> impl Iterator<Item = f32> {
        let m = sample();
        let mut all = [0.0_f32; (LEN - 32) / 4];
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
    fn decoding_at_compile_time_puts_the_model_in_a_static() {
        const BYTES: [u8; LEN] = {
            // `encode` is not const, so write a zero model's file by hand: header, zero
            // weights, CRC computed by the const `crc32`.
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
        buf[8] = 2;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnsupportedVersion { found: 2 })
        );
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
    fn a_header_with_zero_hidden_units_is_refused() {
        let mut b = [0u8; 36];
        b[..8].copy_from_slice(&MAGIC);
        b[8] = 1;
        b[12] = 1; // IN = 1, H = 0, OUT = 1: one parameter (the head bias)
        b[20] = 1;
        b[24] = 1;
        reseal(&mut b);
        assert!(matches!(
            parse(&b),
            Err(FormatError::DimensionMismatch {
                found: [1, 0, 1],
                ..
            })
        ));
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
        buf[28 + 4 * 5..28 + 4 * 6].copy_from_slice(&f32::NAN.to_le_bytes());
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::NonFinite { index: 5 })
        );
    }

    #[test]
    fn an_unknown_activation_code_is_refused() {
        let mut buf = encoded();
        buf[26] = 9;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnknownActivation { found: 9 })
        );
    }

    #[test]
    fn an_unknown_dtype_code_is_refused() {
        let mut buf = encoded();
        buf[24] = 2;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnknownDtype { found: 2 })
        );
    }

    #[test]
    fn an_unknown_gate_order_code_is_refused() {
        let mut buf = encoded();
        buf[25] = 1;
        reseal(&mut buf);
        assert_eq!(
            decode::<2, 3, 2>(&buf),
            Err(FormatError::UnknownGateOrder { found: 1 })
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
                index: (LEN - 32) / 4 - 1
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
            FormatError::UnknownGateOrder { found: 2 },
            FormatError::UnknownActivation { found: 9 },
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
