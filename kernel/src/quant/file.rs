//! The int8 model file: a [`QModel`] (any stack of integer layers and its int8 head) in the
//! frame of [`crate::io`]'s version-3 format with dtype `2` ([`Dtype::I8PerRow`]). Export
//! into a caller's `&mut [u8]`, validate and import from a `&[u8]`, no allocation; the round
//! trip is bit-exact, so a model written on the host steps to the same bits on the device.
//!
//! # Format
//! The frame is [`crate::io`]'s, byte for byte: magic, version 3, `IN`, `OUT`, `L`, dtype
//! `2`, head activation, flags (the optional `f32` scaling block of [`crate::pipeline`]
//! keeps its place and meaning), the layer table (kind, gate order `0` = PyTorch's, the
//! recurrent activation; the maths byte must be `0`: an integer layer has one set of
//! activation tables, [`super::act`]), then this payload and the CRC-32 over everything
//! before it. All integers are little-endian; every block starts at a multiple of 4.
//!
//! | part | bytes | content |
//! |---|---|---|
//! | input scales | `4 IN` | `f32` `[IN]`: the real value of one unit of input `k` ([`QModel::input_scale`]), positive and finite |
//! | per layer `k` (bottom first): settings | 4 | byte 0: an LSTM's cell format, the fractional bits `C` in `0..=15` ([`CellFormat`]); `0` for a GRU. Bytes 1 to 3 reserved, written `0`, ignored |
//! | layer `k`: `W_ih` | `B(G·h, in)` | rows block of the layer's input side (`G` = 4 gates i, f, g, o or 3 gates r, z, n; `h` its hidden size, `in` its input) |
//! | layer `k`: `W_hh` | `B(G·h, h)` | rows block of the recurrent side |
//! | head | `B(OUT, H)` | rows block of the head over the top layer's `h` (`H` its hidden size), outputs Q19.12 |
//!
//! A rows block of `R` rows of `K` int8 weights (`B(R, K) = 8 R + pad4(R) + pad4(R K)`
//! bytes; rows in `[gate][unit]` order, PyTorch's `weight_ih_l0` row order, see
//! [`super::QLinear`]):
//!
//! | field | bytes | content |
//! |---|---|---|
//! | bias | `4 R` | `i32` per row, in the row's accumulator units, `|bias| <= 2^24` |
//! | mantissa | `4 R` | `i32` per row: the [`Multiplier`]'s Q0.31 mantissa, `0` or in `1 .. 2^31` |
//! | shift | `pad4(R)` | `u8` per row: the multiplier's right shift, `1..=62` (`0` with mantissa `0`: the scale zero); padding written `0`, ignored |
//! | weights | `pad4(R K)` | `i8` `[R][K]`, each in `-127..=127`; padding written `0`, ignored |
//!
//! # Checks on import, in this order
//! Those of [`crate::io`] up to the dtype, then [`FormatError::NotQuantized`] for an `f32`
//! file, the exact length, the CRC, the layer codes and chain, a finite scaling block; then
//! every layer's maths byte, row length (at most [`super::linear::MAX_INPUTS`]), cell
//! format byte, input scale, bias, multiplier and weight, each refused with
//! [`FormatError::QuantValue`] naming the block, field, row and column. Parsing any byte
//! string returns a typed error or a view, never a panic (fuzzed: `kernel/fuzz`).

use super::fixed::Multiplier;
use super::layer::{QCellMut, QRecurrent};
use super::linear::{MAX_BIAS, MAX_INPUTS, QRows, QRowsMut};
use super::lstm::CellFormat;
use super::model::QModel;
use crate::activation::Maths;
use crate::io::{
    Dtype, FileSpec, FormatError, GateOrder, Header, LayerEntry, QuantBlock, QuantField,
    encode_frame, f32s, finish_frame, read_frame,
};
use crate::pipeline::{HeadActivation, Scaling};
use crate::recurrent::{LayerKind, LayerSettings};

/// `n` rounded up to a multiple of 4.
fn pad4(n: usize) -> Option<usize> {
    n.checked_next_multiple_of(4)
}

/// Bytes of a rows block of `rows` rows of `k` weights: `8 R + pad4(R) + pad4(R K)`.
fn block_len(rows: usize, k: usize) -> Option<usize> {
    rows.checked_mul(8)?
        .checked_add(pad4(rows)?)?
        .checked_add(pad4(rows.checked_mul(k)?)?)
}

/// Bytes of the payload of a model of `input` inputs, `output` outputs and `layers`
/// `(kind, input, hidden)` (bottom first); `None` on overflow. The one source of the
/// payload's length, for the reader and the writer.
fn payload_len(
    input: usize,
    output: usize,
    layers: impl Iterator<Item = (LayerKind, usize, usize)>,
) -> Option<usize> {
    let mut len = input.checked_mul(4)?;
    let mut top = 0;
    for (kind, i, h) in layers {
        let rows = kind.gates().checked_mul(h)?;
        len = len
            .checked_add(4)?
            .checked_add(block_len(rows, i)?)?
            .checked_add(block_len(rows, h)?)?;
        top = h;
    }
    len.checked_add(block_len(output, top)?)
}

/// `Ok` if a multiplier is one [`Multiplier::apply`] takes as it stands: the scale zero
/// (`{0, 0}`) or a positive mantissa with a shift in `1..=62`.
fn multiplier_ok(m: Multiplier) -> bool {
    m == Multiplier::ZERO || (m.m > 0 && (1..=62).contains(&m.shift))
}

/// The value of a multiplier in [`FormatError::QuantValue`]: `mantissa << 8 | shift`.
fn multiplier_code(m: Multiplier) -> i64 {
    (i64::from(m.m) << 8) | i64::from(m.shift)
}

/// Checks one row's values: bias, multiplier, then its weights.
fn check_row(
    block: QuantBlock,
    row: usize,
    bias: i32,
    m: Multiplier,
    q: impl Iterator<Item = i8>,
) -> Result<(), FormatError> {
    let err = |field, col: usize, found| FormatError::QuantValue {
        block,
        field,
        at: [row as u32, col as u32],
        found,
    };
    if i64::from(bias).abs() > i64::from(MAX_BIAS) {
        return Err(err(QuantField::Bias, 0, i64::from(bias)));
    }
    if !multiplier_ok(m) {
        return Err(err(QuantField::Multiplier, 0, multiplier_code(m)));
    }
    for (col, w) in q.enumerate() {
        if w == i8::MIN {
            return Err(err(QuantField::Weight, col, i64::from(w)));
        }
    }
    Ok(())
}

/// Checks an input scale: positive and finite.
fn check_input_scale(channel: usize, s: f32) -> Result<(), FormatError> {
    if s.is_finite() && s > 0.0 {
        Ok(())
    } else {
        Err(FormatError::QuantValue {
            block: QuantBlock::InputScales,
            field: QuantField::InputScale,
            at: [channel as u32, 0],
            found: i64::from(s.to_bits()),
        })
    }
}

/// A row length the integer dot product takes.
fn check_row_length(block: QuantBlock, k: usize) -> Result<(), FormatError> {
    if k <= MAX_INPUTS {
        Ok(())
    } else {
        Err(FormatError::QuantValue {
            block,
            field: QuantField::RowLength,
            at: [0, 0],
            found: k as i64,
        })
    }
}

/// Reads consecutive parts of a payload whose length was checked: a part past the end
/// reads as empty (never, after the length check), so no read can panic.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (part, rest) = self
            .rest
            .split_at_checked(n)
            .unwrap_or((self.rest, &[][..]));
        self.rest = rest;
        part
    }

    fn block(&mut self, rows: usize, k: usize) -> Block<'a> {
        let bias = self.take(4 * rows);
        let mantissa = self.take(4 * rows);
        let shift = self.take(pad4(rows).unwrap_or(rows));
        let q = self.take(pad4(rows * k).unwrap_or(rows * k));
        Block {
            k,
            bias,
            mantissa,
            shift,
            q,
        }
    }
}

/// A rows block in the payload's bytes.
#[derive(Clone, Copy)]
struct Block<'a> {
    k: usize,
    bias: &'a [u8],
    mantissa: &'a [u8],
    shift: &'a [u8],
    q: &'a [u8],
}

fn i32_at(bytes: &[u8], i: usize) -> i32 {
    match bytes.get(4 * i..4 * i + 4) {
        Some(&[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

impl Block<'_> {
    /// Row `r`: bias, multiplier and weights.
    fn row(&self, r: usize) -> (i32, Multiplier, &[u8]) {
        let m = Multiplier {
            m: i32_at(self.mantissa, r),
            shift: self.shift.get(r).copied().unwrap_or(0),
        };
        let q = self.q.get(r * self.k..(r + 1) * self.k).unwrap_or(&[]);
        (i32_at(self.bias, r), m, q)
    }

    fn rows(&self) -> usize {
        self.bias.len() / 4
    }

    fn check(&self, block: QuantBlock) -> Result<(), FormatError> {
        check_row_length(block, self.k)?;
        for r in 0..self.rows() {
            let (bias, m, q) = self.row(r);
            check_row(block, r, bias, m, q.iter().map(|&b| b as i8))?;
        }
        Ok(())
    }

    /// Copies the block into `dst` (same row count; `dst.inputs >= k`, extra columns 0).
    fn copy_into(&self, dst: &mut QRowsMut<'_>) {
        let width = dst.inputs;
        for r in 0..self.rows() {
            let (bias, m, q) = self.row(r);
            if let (Some(b), Some(d), Some(row)) = (
                dst.bias.get_mut(r),
                dst.m.get_mut(r),
                dst.q.get_mut(r * width..(r + 1) * width),
            ) {
                *b = bias;
                *d = m;
                row.fill(0);
                row.iter_mut().zip(q).for_each(|(d, &v)| *d = v as i8);
            }
        }
    }
}

/// A validated int8 model file, borrowed: the header and the payload, which stays in the
/// byte slice until [`Self::load_into`] copies it into a [`QModel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QModelBytes<'a> {
    header: Header,
    scaling: &'a [u8],
    payload: &'a [u8],
}

/// Validates an int8 model file in place (every check of the [module docs](self)).
///
/// # Errors
/// The first failing check: [`crate::io::parse`]'s frame errors,
/// [`FormatError::NotQuantized`] for an `f32` file, [`FormatError::QuantValue`] for a value
/// out of its range.
pub fn parse(bytes: &[u8]) -> Result<QModelBytes<'_>, FormatError> {
    let frame = read_frame(bytes)?;
    if frame.dtype != Dtype::I8PerRow {
        return Err(FormatError::NotQuantized);
    }
    let payload = payload_len(
        frame.input as usize,
        frame.output as usize,
        (0..frame.count).map(|k| {
            let (kind, i, h) = frame.raw_layer(k);
            (kind, i as usize, h as usize)
        }),
    );
    let (header, scaling, payload) = finish_frame(bytes, &frame, payload)?;
    for (k, l) in header.layers().iter().enumerate() {
        if l.settings.maths != Maths::Exact {
            return Err(FormatError::QuantValue {
                block: QuantBlock::Layer(k as u32),
                field: QuantField::Maths,
                at: [0, 0],
                found: i64::from(l.settings.maths.code()),
            });
        }
    }
    let file = QModelBytes {
        header,
        scaling,
        payload,
    };
    let mut c = Cursor { rest: payload };
    for (k, s) in f32s(file.input_scale_bytes(&mut c)).enumerate() {
        check_input_scale(k, s)?;
    }
    for (k, l) in header.layers().iter().enumerate() {
        let (word, x, h) = file.read_layer(&mut c, l);
        let frac = word[0];
        let ok = match l.kind {
            LayerKind::Lstm => CellFormat::new(frac).is_some(),
            LayerKind::Gru(_) => frac == 0,
        };
        if !ok {
            return Err(FormatError::QuantValue {
                block: QuantBlock::Layer(k as u32),
                field: QuantField::CellFormat,
                at: [0, 0],
                found: i64::from(frac),
            });
        }
        x.check(QuantBlock::InputRows(k as u32))?;
        h.check(QuantBlock::RecurrentRows(k as u32))?;
    }
    file.read_head(&mut c).check(QuantBlock::Head)?;
    Ok(file)
}

impl<'a> QModelBytes<'a> {
    /// The decoded header (its dtype is [`Dtype::I8PerRow`]).
    pub const fn header(&self) -> Header {
        self.header
    }

    /// The scaling block's values (`input_mean [IN]`, `input_scale [IN]`, `output_scale
    /// [OUT]`, `output_mean [OUT]`, [`crate::pipeline::Scaling`]), or `None` if the file
    /// has none.
    pub fn scaling_values(&self) -> Option<impl ExactSizeIterator<Item = f32> + 'a> {
        (!self.scaling.is_empty()).then(|| f32s(self.scaling))
    }

    /// The input scales, `[IN]` ([`QModel::input_scale`]).
    pub fn input_scales(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        let mut c = Cursor { rest: self.payload };
        f32s(self.input_scale_bytes(&mut c))
    }

    /// Layer `k`'s cell format (`None` for a GRU or past the top).
    pub fn cell_format(&self, k: usize) -> Option<CellFormat> {
        let mut c = Cursor { rest: self.payload };
        let _ = self.input_scale_bytes(&mut c);
        for (j, l) in self.header.layers().iter().enumerate() {
            let (word, _, _) = self.read_layer(&mut c, l);
            if j == k {
                return match l.kind {
                    LayerKind::Lstm => CellFormat::new(word[0]),
                    LayerKind::Gru(_) => None,
                };
            }
        }
        None
    }

    fn input_scale_bytes(&self, c: &mut Cursor<'a>) -> &'a [u8] {
        c.take(4 * self.header.input as usize)
    }

    fn read_layer(&self, c: &mut Cursor<'a>, l: &LayerEntry) -> ([u8; 4], Block<'a>, Block<'a>) {
        let word = match c.take(4) {
            &[a, b, cc, d] => [a, b, cc, d],
            _ => [0; 4],
        };
        let rows = l.kind.gates() * l.hidden as usize;
        let x = c.block(rows, l.input as usize);
        let h = c.block(rows, l.hidden as usize);
        (word, x, h)
    }

    fn read_head(&self, c: &mut Cursor<'a>) -> Block<'a> {
        c.block(self.header.output as usize, self.header.hidden() as usize)
    }

    /// Copies the file into `model`, whose type must have the file's layers (count, cell
    /// type, `(input, hidden)`) and `OUT`: every weight, bias, multiplier, cell format,
    /// GRU variant, activation and input scale. The scaling block and head activation are
    /// not part of a [`QModel`]: read them with [`Self::scaling_values`] and
    /// [`Self::header`] (or use [`decode_scaled_into`]). On an error `model` is untouched.
    ///
    /// # Errors
    /// [`FormatError::LayerCountMismatch`], [`FormatError::LayerMismatch`] or
    /// [`FormatError::OutputMismatch`].
    pub fn load_into<R, const IN: usize, const H: usize, const OUT: usize>(
        &self,
        model: &mut QModel<R, IN, H, OUT>,
    ) -> Result<(), FormatError>
    where
        R: QRecurrent<IN, H>,
    {
        self.fill(model, false)
    }

    /// [`Self::load_into`] a model type with at least the file's inputs and outputs (a
    /// host tool's model compiled at the largest sizes it offers): the extra inputs get
    /// zero weights and scale 1, the extra head rows are zero, so the first `OUT` outputs
    /// of the file step to the same bits.
    ///
    /// # Errors
    /// As [`Self::load_into`], with "at least" for layer 0's input and `OUT`.
    pub fn load_padded_into<R, const IN: usize, const H: usize, const OUT: usize>(
        &self,
        model: &mut QModel<R, IN, H, OUT>,
    ) -> Result<(), FormatError>
    where
        R: QRecurrent<IN, H>,
    {
        self.fill(model, true)
    }

    fn fill<R, const IN: usize, const H: usize, const OUT: usize>(
        &self,
        model: &mut QModel<R, IN, H, OUT>,
        padded: bool,
    ) -> Result<(), FormatError>
    where
        R: QRecurrent<IN, H>,
    {
        let h = self.header;
        if h.layer_count() != R::LAYERS {
            return Err(FormatError::LayerCountMismatch {
                expected: R::LAYERS as u32,
                found: h.layer_count() as u32,
            });
        }
        let fits =
            |file: u32, model: usize| file as usize == model || (padded && (file as usize) < model);
        for (k, f) in h.layers().iter().enumerate() {
            let Some(l) = model.rnn.layer(k) else {
                return Err(FormatError::Unrepresentable);
            };
            let input_ok = if k == 0 {
                fits(f.input, l.x.inputs)
            } else {
                f.input as usize == l.x.inputs
            };
            if !l.kind.same_cell(f.kind) || !input_ok || f.hidden as usize != l.h.inputs {
                return Err(FormatError::LayerMismatch {
                    layer: k as u32,
                    expected: [
                        u32::from(l.kind.code()),
                        l.x.inputs as u32,
                        l.h.inputs as u32,
                    ],
                    found: [u32::from(f.kind.code()), f.input, f.hidden],
                });
            }
        }
        if !fits(h.output, OUT) {
            return Err(FormatError::OutputMismatch {
                expected: OUT as u32,
                found: h.output,
            });
        }
        let mut c = Cursor { rest: self.payload };
        let scales = f32s(self.input_scale_bytes(&mut c));
        model.input_scale = [1.0; IN];
        model
            .input_scale
            .iter_mut()
            .zip(scales)
            .for_each(|(d, s)| *d = s);
        for (k, f) in h.layers().iter().enumerate() {
            let (word, x, hh) = self.read_layer(&mut c, f);
            let Some(mut l) = model.rnn.layer_mut(k) else {
                return Err(FormatError::Unrepresentable);
            };
            *l.activation = f.settings.activation;
            match (&mut l.cell, f.kind) {
                (QCellMut::Lstm(cell), _) => {
                    if let Some(v) = CellFormat::new(word[0]) {
                        **cell = v;
                    }
                }
                (QCellMut::Gru(variant), LayerKind::Gru(v)) => **variant = v,
                (QCellMut::Gru(_), LayerKind::Lstm) => {}
            }
            x.copy_into(&mut l.x);
            hh.copy_into(&mut l.h);
        }
        let mut head = model.head.rows_mut();
        head.bias.fill(0);
        head.m.fill(Multiplier::ZERO);
        head.q.fill(0);
        self.read_head(&mut c).copy_into(&mut head);
        Ok(())
    }
}

/// Imports an int8 model file into `model` (the file's layers and sizes exactly, see
/// [`QModelBytes::load_into`]). On an error `model` is untouched.
///
/// # Errors
/// Those of [`parse`] and [`QModelBytes::load_into`]; [`FormatError::ScalingNotRead`] for
/// a file with a scaling block and [`FormatError::Differenced`] for a forecaster of
/// differences (the device would feed raw inputs to a model trained on normalised ones:
/// read them with [`decode_scaled_into`]).
pub fn decode_into<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    model: &mut QModel<R, IN, H, OUT>,
) -> Result<(), FormatError>
where
    R: QRecurrent<IN, H>,
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
    file.load_into(model)
}

/// [`decode_into`] for a file with or without a scaling block: the model into `model`, the
/// scaling into `scaling` ([`Scaling::IDENTITY`] if none); returns the head activation. On
/// an error neither is touched. A forecaster of differences is read too (check
/// [`Header::differenced`]).
///
/// # Errors
/// Those of [`parse`] and [`QModelBytes::load_into`].
pub fn decode_scaled_into<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    model: &mut QModel<R, IN, H, OUT>,
    scaling: &mut Scaling<IN, OUT>,
) -> Result<HeadActivation, FormatError>
where
    R: QRecurrent<IN, H>,
{
    let file = parse(bytes)?;
    file.load_into(model)?;
    *scaling = crate::io::read_scaling(file.scaling_values());
    Ok(file.header.head)
}

/// What an int8 file says besides the model: its true sizes (at most the model type's) and
/// the [`crate::pipeline`] settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QFileMeta<'a> {
    /// `IN` of the file (`<=` the model type's; the inputs past it must have zero weights).
    pub input: u32,
    /// `OUT` of the file (`<=` the model type's; the head rows past it must be zero).
    pub output: u32,
    /// What the head's outputs mean.
    pub head: HeadActivation,
    /// `[input_mean [input], input_scale [input], output_scale [output], output_mean
    /// [output]]`, or `None` for no scaling block.
    pub scaling: Option<[&'a [f32]; 4]>,
    /// The model forecasts first differences of one series (`input = 1`).
    pub differenced: bool,
}

/// The layer table and payload length of `model` written at `meta`'s sizes; `None` if the
/// model cannot be written so (more layers than a file holds, sizes above the type's, or
/// a trimmed input or output that is not zero).
fn table<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &QModel<R, IN, H, OUT>,
    meta: &QFileMeta<'_>,
) -> Option<([LayerEntry; crate::io::MAX_LAYERS], usize, usize)>
where
    R: QRecurrent<IN, H>,
{
    let (fin, fout) = (meta.input as usize, meta.output as usize);
    if R::LAYERS > crate::io::MAX_LAYERS || fin == 0 || fin > IN || fout == 0 || fout > OUT {
        return None;
    }
    let empty = LayerEntry {
        kind: LayerKind::Lstm,
        gate_order: GateOrder::Pytorch,
        settings: LayerSettings {
            activation: crate::activation::RecurrentActivation::Sigmoid,
            maths: Maths::Exact,
        },
        input: 0,
        hidden: 0,
    };
    let mut layers = [empty; crate::io::MAX_LAYERS];
    for (k, slot) in layers.iter_mut().enumerate().take(R::LAYERS) {
        let l = model.rnn.layer(k)?;
        let input = if k == 0 {
            // The inputs past `fin` must contribute nothing.
            let dropped =
                l.x.q
                    .chunks_exact(IN)
                    .any(|row| row.get(fin..).unwrap_or(&[]).iter().any(|&w| w != 0));
            if dropped {
                return None;
            }
            fin
        } else {
            l.x.inputs
        };
        *slot = LayerEntry {
            kind: l.kind,
            gate_order: GateOrder::Pytorch,
            settings: LayerSettings {
                activation: l.activation,
                maths: Maths::Exact,
            },
            input: input as u32,
            hidden: l.h.inputs as u32,
        };
    }
    let head = model.head.rows();
    let tail = |s: &[i32]| s.get(fout..).unwrap_or(&[]).iter().any(|&v| v != 0);
    let dropped_head = tail(head.bias)
        || head
            .m
            .get(fout..)
            .unwrap_or(&[])
            .iter()
            .any(|&m| m != Multiplier::ZERO)
        || head
            .q
            .get(fout * H..)
            .unwrap_or(&[])
            .iter()
            .any(|&w| w != 0);
    if dropped_head {
        return None;
    }
    let len = payload_len(
        fin,
        fout,
        layers[..R::LAYERS]
            .iter()
            .map(|l| (l.kind, l.input as usize, l.hidden as usize)),
    )?;
    Some((layers, R::LAYERS, len))
}

/// Length in bytes of the file [`encode_with`] writes for `model` and `meta` (`None` where
/// [`encode_with`] returns [`FormatError::Unrepresentable`]).
pub fn file_len<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &QModel<R, IN, H, OUT>,
    meta: &QFileMeta<'_>,
) -> Option<usize>
where
    R: QRecurrent<IN, H>,
{
    let (layers, n, payload) = table(model, meta)?;
    spec(&layers[..n], meta).frame_len(payload)
}

fn spec<'a>(layers: &'a [LayerEntry], meta: &QFileMeta<'a>) -> FileSpec<'a> {
    FileSpec {
        input: meta.input,
        output: meta.output,
        layers,
        head: meta.head,
        scaling: meta.scaling,
        differenced: meta.differenced,
    }
}

/// Writes `model` with the head activation `head` and, if given, the scaling block of
/// `scaling` into the start of `out`; returns the bytes written. Round trip with
/// [`decode_scaled_into`] is bit-exact.
///
/// # Errors
/// Those of [`encode_with`].
pub fn encode<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &QModel<R, IN, H, OUT>,
    head: HeadActivation,
    scaling: Option<&Scaling<IN, OUT>>,
    out: &mut [u8],
) -> Result<usize, FormatError>
where
    R: QRecurrent<IN, H>,
{
    let meta = QFileMeta {
        input: IN as u32,
        output: OUT as u32,
        head,
        scaling: scaling.map(|s| {
            [
                &s.input_mean[..],
                &s.input_scale[..],
                &s.output_scale[..],
                &s.output_mean[..],
            ]
        }),
        differenced: false,
    };
    encode_with(model, &meta, out)
}

/// Writes `model` at `meta`'s sizes (the first `meta.input` inputs and `meta.output`
/// outputs of the model type) into the start of `out`; returns the bytes written
/// ([`file_len`]; bytes after them are untouched). Every value is checked as the reader
/// checks it, so a file this writes always parses.
///
/// # Errors
/// - [`FormatError::Unrepresentable`]: more layers than a file holds, sizes of 0 or above
///   the model type's, a trimmed input or head row that is not zero, scaling parts of
///   other lengths, or `differenced` with more than one input.
/// - [`FormatError::BufferTooSmall`] (nothing written).
/// - [`FormatError::QuantValue`] / [`FormatError::NonFiniteScaling`] for a value the
///   reader would refuse (`out` then holds a partial file: do not save it).
pub fn encode_with<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &QModel<R, IN, H, OUT>,
    meta: &QFileMeta<'_>,
    out: &mut [u8],
) -> Result<usize, FormatError>
where
    R: QRecurrent<IN, H>,
{
    let Some((layers, n, payload)) = table(model, meta) else {
        return Err(FormatError::Unrepresentable);
    };
    let fin = meta.input as usize;
    encode_frame(
        &spec(&layers[..n], meta),
        Dtype::I8PerRow,
        payload,
        out,
        |data| {
            let mut w = Writer { rest: data };
            for (k, &s) in model.input_scale[..fin].iter().enumerate() {
                check_input_scale(k, s)?;
                w.put(&s.to_le_bytes());
            }
            for k in 0..n {
                let Some(l) = model.rnn.layer(k) else {
                    return Err(FormatError::Unrepresentable);
                };
                let frac = l.cell.map_or(0, CellFormat::frac);
                w.put(&[frac, 0, 0, 0]);
                let width = if k == 0 { fin } else { l.x.inputs };
                w.block(&l.x, width, QuantBlock::InputRows(k as u32))?;
                w.block(&l.h, l.h.inputs, QuantBlock::RecurrentRows(k as u32))?;
            }
            let (head, fout) = (model.head.rows(), meta.output as usize);
            let rows = QRows {
                inputs: H,
                q: head.q.get(..fout * H).unwrap_or(&[]),
                m: head.m.get(..fout).unwrap_or(&[]),
                bias: head.bias.get(..fout).unwrap_or(&[]),
            };
            w.block(&rows, H, QuantBlock::Head)
        },
    )
}

/// Writes consecutive parts of a payload sized by [`payload_len`] (a part past the end is
/// dropped: never, as the frame is that long).
struct Writer<'a> {
    rest: &'a mut [u8],
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let rest = core::mem::take(&mut self.rest);
        let n = bytes.len().min(rest.len());
        let (part, tail) = rest.split_at_mut(n);
        part.copy_from_slice(&bytes[..n]);
        self.rest = tail;
    }

    /// A rows block of `rows`, each row cut to its first `width` weights.
    fn block(
        &mut self,
        rows: &QRows<'_>,
        width: usize,
        block: QuantBlock,
    ) -> Result<(), FormatError> {
        check_row_length(block, width)?;
        let n = rows.m.len();
        let row_q = |r: usize| {
            rows.q
                .get(r * rows.inputs..r * rows.inputs + width)
                .unwrap_or(&[])
        };
        for (r, (&bias, &m)) in rows.bias.iter().zip(rows.m).enumerate() {
            check_row(block, r, bias, m, row_q(r).iter().copied())?;
        }
        rows.bias.iter().for_each(|b| self.put(&b.to_le_bytes()));
        rows.m.iter().for_each(|m| self.put(&m.m.to_le_bytes()));
        rows.m.iter().for_each(|m| self.put(&[m.shift]));
        self.pad(n);
        for r in 0..n {
            for &q in row_q(r) {
                self.put(&[q as u8]);
            }
        }
        self.pad(n * width);
        Ok(())
    }

    /// Zero bytes up to the next multiple of 4 after `n` bytes.
    fn pad(&mut self, n: usize) {
        for _ in n..n.next_multiple_of(4) {
            self.put(&[0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::RecurrentActivation;
    use crate::gru_weights::GruVariant;
    use crate::io::crc32;
    use crate::quant::{QGru, QLstm};
    use crate::stack::Stack;

    type Net = Stack<QLstm<2, 3>, QGru<3, 3>, 3>;
    type Sample = QModel<Net, 2, 3, 2>;
    /// Bytes of the sample's file: 28 + 2·16 (frame) + 8 (input scales) + 4 + 132 + 144
    /// (LSTM) + 4 + 112 + 112 (GRU) + 28 (head) + 4 (CRC), by the module docs' table.
    const LEN: usize = 608;
    /// Offsets in the sample's file (module docs' table).
    const SCALES: usize = 60;
    const LSTM_WORD: usize = 68;
    const LSTM_X: usize = 72;
    const GRU_WORD: usize = 348;

    /// Every value distinct and in range: weights over -127..=127, biases of both signs,
    /// multipliers of several shifts, one zero row.
    fn fill(rows: QRowsMut<'_>, seed: u32) {
        let mut s = seed.wrapping_mul(2_654_435_761) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s
        };
        for w in rows.q.iter_mut() {
            *w = ((next() % 255) as i32 - 127) as i8;
        }
        for (r, (b, m)) in rows.bias.iter_mut().zip(rows.m.iter_mut()).enumerate() {
            *b = (next() % (1 << 25)) as i32 - (1 << 24);
            *m = Multiplier {
                m: (1 << 30) + (next() % (1 << 30)) as i32,
                shift: 20 + (r % 40) as u8,
            };
        }
        rows.m[0] = Multiplier::ZERO;
        rows.bias[0] = 0;
        rows.q[..rows.inputs].fill(0);
    }

    fn sample() -> Sample {
        let mut m = Sample::zeroed();
        fill(m.rnn.lower.x.rows_mut(), 1);
        fill(m.rnn.lower.h.rows_mut(), 2);
        fill(m.rnn.upper.x.rows_mut(), 3);
        fill(m.rnn.upper.h.rows_mut(), 4);
        fill(m.head.rows_mut(), 5);
        m.rnn.lower.cell = CellFormat::new(13).unwrap();
        m.rnn.lower.activation = RecurrentActivation::HardSigmoidKeras3;
        m.rnn.upper.variant = GruVariant::ResetBefore;
        m.input_scale = [3.0e-5, 0.25];
        m
    }

    fn encoded() -> [u8; LEN] {
        let mut buf = [0u8; LEN];
        assert_eq!(
            encode(&sample(), HeadActivation::Softmax, None, &mut buf),
            Ok(LEN)
        );
        buf
    }

    fn reseal(buf: &mut [u8]) {
        let n = buf.len();
        let crc = crc32(&buf[..n - 4]);
        buf[n - 4..].copy_from_slice(&crc.to_le_bytes());
    }

    fn text(e: &FormatError) -> heapless::String<256> {
        use core::fmt::Write;
        let mut s = heapless::String::new();
        let _ = write!(s, "{e}");
        s
    }

    #[test]
    fn a_model_round_trips_bit_exactly_and_steps_to_the_same_bits() {
        let file = encoded();
        let model = sample();
        let meta = QFileMeta {
            input: 2,
            output: 2,
            head: HeadActivation::Softmax,
            scaling: None,
            differenced: false,
        };
        assert_eq!(file_len(&model, &meta), Some(LEN));
        let parsed = parse(&file).unwrap();
        assert_eq!(parsed.header().dtype, Dtype::I8PerRow);
        assert_eq!(parsed.header().head, HeadActivation::Softmax);
        assert_eq!(parsed.cell_format(0), CellFormat::new(13));
        assert_eq!(parsed.cell_format(1), None);
        let mut back = Sample::zeroed();
        decode_into(&file, &mut back).unwrap();
        assert_eq!(back, model);
        let (mut s1, mut s2) = (Net::zero_state(), Net::zero_state());
        for t in 0..20i16 {
            let x = [t * 1500 - 9000, 300 - t * 977];
            assert_eq!(model.step(&x, &mut s1), back.step(&x, &mut s2));
        }
        // The f32 readers refuse it by name, and this reader refuses an f32 file.
        assert_eq!(crate::io::parse(&file).err(), Some(FormatError::Quantized));
        let f32_model = crate::model::LstmModel::<1, 2, 1>::zeroed(RecurrentActivation::Sigmoid);
        let mut buf = [0u8; 512];
        let n = crate::io::encode(&f32_model, &mut buf).unwrap();
        assert_eq!(parse(&buf[..n]).err(), Some(FormatError::NotQuantized));
    }

    #[test]
    fn the_scaling_block_is_carried_and_decode_into_refuses_to_drop_it() {
        let scaling = Scaling::<2, 2> {
            input_mean: [1.5, -2.0],
            input_scale: [0.5, 4.0],
            output_scale: [10.0, 20.0],
            output_mean: [-1.0, 1.0],
        };
        let mut buf = [0u8; LEN + 32];
        let n = encode(
            &sample(),
            HeadActivation::Identity,
            Some(&scaling),
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, LEN + 32);
        let mut m = Sample::zeroed();
        assert_eq!(
            decode_into(&buf[..n], &mut m),
            Err(FormatError::ScalingNotRead)
        );
        assert_eq!(m, Sample::zeroed(), "untouched on an error");
        let mut got = Scaling::IDENTITY;
        assert_eq!(
            decode_scaled_into(&buf[..n], &mut m, &mut got),
            Ok(HeadActivation::Identity)
        );
        assert_eq!((m, got), (sample(), scaling));
    }

    #[test]
    #[cfg_attr(miri, ignore = "5,472 parses with a CRC each: too slow under Miri")]
    fn every_truncation_and_bit_flip_is_refused() {
        let file = encoded();
        for n in 0..LEN {
            assert!(parse(&file[..n]).is_err(), "prefix {n}");
        }
        for i in 0..LEN {
            for bit in 0..8 {
                let mut f = file;
                f[i] ^= 1 << bit;
                assert!(parse(&f).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    /// Each value out of its range, with a valid CRC, is named by block, field and place.
    #[test]
    fn values_out_of_range_are_named() {
        let refused = |at: usize, bytes: &[u8]| {
            let mut f = encoded();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            reseal(&mut f);
            parse(&f).err().unwrap()
        };
        let q = |block, field, at: [u32; 2], found| FormatError::QuantValue {
            block,
            field,
            at,
            found,
        };
        let x0 = QuantBlock::InputRows(0);
        // Row 5, column 1 of layer 0's W_ih (12 rows of 2 weights after 48 + 48 + 12 bytes).
        assert_eq!(
            refused(LSTM_X + 108 + 11, &[0x80]),
            q(x0, QuantField::Weight, [5, 1], -128)
        );
        assert_eq!(
            refused(LSTM_X + 4 * 3, &((1 << 24) + 1i32).to_le_bytes()),
            q(x0, QuantField::Bias, [3, 0], (1 << 24) + 1)
        );
        // A mantissa with shift 0, and a negative mantissa.
        let e = refused(LSTM_X + 96 + 2, &[0]);
        assert!(
            matches!(
                e,
                FormatError::QuantValue {
                    field: QuantField::Multiplier,
                    at: [2, 0],
                    ..
                }
            ),
            "{e:?}"
        );
        let e = refused(LSTM_X + 48 + 4, &(-5i32).to_le_bytes());
        assert!(
            matches!(
                e,
                FormatError::QuantValue {
                    field: QuantField::Multiplier,
                    at: [1, 0],
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            text(&e).contains("layer 0 W_ih rows, row 1: multiplier (mantissa -5, shift"),
            "{}",
            text(&e)
        );
        assert_eq!(
            refused(LSTM_WORD, &[16]),
            q(QuantBlock::Layer(0), QuantField::CellFormat, [0, 0], 16)
        );
        assert_eq!(
            refused(GRU_WORD, &[3]),
            q(QuantBlock::Layer(1), QuantField::CellFormat, [0, 0], 3)
        );
        assert_eq!(
            refused(28 + 16 + 3, &[1]),
            q(QuantBlock::Layer(1), QuantField::Maths, [0, 0], 1)
        );
        let zero = refused(SCALES + 4, &0f32.to_le_bytes());
        assert_eq!(
            zero,
            q(QuantBlock::InputScales, QuantField::InputScale, [1, 0], 0)
        );
        let nan = refused(SCALES, &f32::NAN.to_le_bytes());
        assert!(
            text(&nan).contains("channel 0: scale NaN"),
            "{}",
            text(&nan)
        );
        // The writer refuses what the reader would.
        let mut m = sample();
        m.rnn.upper.h.q[1][2][0] = i8::MIN;
        let mut buf = [0u8; LEN];
        assert_eq!(
            encode(&m, HeadActivation::Softmax, None, &mut buf),
            Err(q(
                QuantBlock::RecurrentRows(1),
                QuantField::Weight,
                [3 + 2, 0],
                -128
            ))
        );
    }

    #[test]
    fn a_model_of_other_layers_or_sizes_is_refused_and_left_untouched() {
        let file = encoded();
        let mut one = QModel::<QLstm<2, 3>, 2, 3, 2>::zeroed();
        assert_eq!(
            file_load(&file, &mut one),
            Err(FormatError::LayerCountMismatch {
                expected: 1,
                found: 2
            })
        );
        let mut gru_first = QModel::<Stack<QGru<2, 3>, QGru<3, 3>, 3>, 2, 3, 2>::zeroed();
        assert!(matches!(
            file_load(&file, &mut gru_first),
            Err(FormatError::LayerMismatch { layer: 0, .. })
        ));
        let mut wide = QModel::<Net, 2, 3, 3>::zeroed();
        assert_eq!(
            file_load(&file, &mut wide),
            Err(FormatError::OutputMismatch {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(wide, QModel::zeroed());
    }

    fn file_load<R: QRecurrent<IN, H>, const IN: usize, const H: usize, const OUT: usize>(
        bytes: &[u8],
        m: &mut QModel<R, IN, H, OUT>,
    ) -> Result<(), FormatError> {
        parse(bytes)?.load_into(m)
    }

    /// A model compiled wider than it is (a host tool's padded sizes) is written at its
    /// true sizes and read back into the wide type, the extra inputs and outputs zero.
    #[test]
    fn a_padded_model_is_written_trimmed_and_read_back_padded() {
        type Wide = QModel<Stack<QLstm<4, 3>, QGru<3, 3>, 3>, 4, 3, 5>;
        let small = sample();
        let mut wide = Wide::zeroed();
        wide.rnn.upper = small.rnn.upper;
        wide.rnn.lower.h = small.rnn.lower.h;
        wide.rnn.lower.cell = small.rnn.lower.cell;
        wide.rnn.lower.activation = small.rnn.lower.activation;
        for (r, row) in wide.rnn.lower.x.q.as_flattened_mut().iter_mut().enumerate() {
            row[..2].copy_from_slice(&small.rnn.lower.x.q.as_flattened()[r]);
        }
        wide.rnn.lower.x.m = small.rnn.lower.x.m;
        wide.rnn.lower.x.bias = small.rnn.lower.x.bias;
        wide.head.q[0][..2].copy_from_slice(&small.head.q[0]);
        wide.head.m[0][..2].copy_from_slice(&small.head.m[0]);
        wide.head.bias[0][..2].copy_from_slice(&small.head.bias[0]);
        wide.input_scale[..2].copy_from_slice(&small.input_scale);
        let meta = QFileMeta {
            input: 2,
            output: 2,
            head: HeadActivation::Softmax,
            scaling: None,
            differenced: false,
        };
        let mut buf = [0u8; LEN];
        assert_eq!(encode_with(&wide, &meta, &mut buf), Ok(LEN));
        assert_eq!(buf, encoded(), "the trimmed file is the small model's");
        let mut back = Wide::zeroed();
        assert!(parse(&buf).unwrap().load_into(&mut back).is_err());
        parse(&buf).unwrap().load_padded_into(&mut back).unwrap();
        assert_eq!(back, wide);
        // A trimmed input or output that is not zero cannot be written.
        let mut bad = wide;
        bad.rnn.lower.x.q[2][1][3] = 1;
        assert_eq!(
            encode_with(&bad, &meta, &mut buf),
            Err(FormatError::Unrepresentable)
        );
        let mut bad = wide;
        bad.head.bias[0][4] = 1;
        assert_eq!(
            encode_with(&bad, &meta, &mut buf),
            Err(FormatError::Unrepresentable)
        );
        let mut short = [0u8; LEN - 1];
        assert_eq!(
            encode_with(&wide, &meta, &mut short),
            Err(FormatError::BufferTooSmall {
                needed: LEN,
                found: LEN - 1
            })
        );
    }
}
