//! Fuzz target `decode`: "decoding any byte string returns a typed error or a model, never
//! a panic" (kernel/src/io.rs), and what decodes is exactly what the file holds.
//!
//! Every input is checked twice: as given, and with a correct CRC-32 written into its last
//! 4 bytes ("resealed"), since almost every mutation of a valid file otherwise stops at the
//! CRC check and the checks after it (codes, layer chain, finiteness, sizes) would never
//! see fuzzed bytes. For each of those byte strings:
//! - `io::parse`, the const `io::decode::<IN, H, OUT>` for (1, 10, 1), (2, 3, 2), (3, 5, 1)
//!   and the generic `io::decode_into` (the same three one-layer models, a 2-layer stack, a
//!   GRU layer and a GRU over an LSTM, whose GRU layers take either variant)
//!   must not panic, must agree with each other (the same error as `parse`, or a model
//!   exactly when the file's layer table fits the type), and a refused file must leave the
//!   target model untouched;
//! - a decoded model's weights are finite and bit-identical to the file's, its per-layer
//!   activation and maths are the file's, and `io::encode` writes the file back byte for
//!   byte, up to the format's documented non-canonical spots (reserved bytes are ignored
//!   on read and written 0; `io::encode` writes the head activation 0; a version-1 or
//!   version-2 file is re-encoded as version 3). A file with a scaling block is refused by
//!   the weights-only decoders and read by `io::decode_scaled_into`, whose scaling is the
//!   block's values bit for bit. With the
//!   `strict-canonical` feature the re-encoding must equal the input exactly, which the
//!   fuzzer refutes within seconds (kernel/fuzz/README.md).
//!
//! Nothing here allocates: buffers are on the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_kernel::io::{self, FormatError, ModelBytes};
use lstm_kernel::{
    Dense, Gru, GruVariant, LayerKind, Lstm, Lstm2, LstmModel, Maths, Model, Recurrent,
    RecurrentActivation, Scaling, Stack, Tensors,
};

/// Longest input that is also checked resealed; longer than every model's file below
/// (2,012 bytes for (1, 10, 1)). Run with `-max_len=4096`.
const MAX_LEN: usize = 4096;

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(body) = data.len().checked_sub(io::CRC_LEN)
        && data.len() <= MAX_LEN
    {
        let mut buf = [0u8; MAX_LEN];
        let sealed = &mut buf[..data.len()];
        sealed.copy_from_slice(data);
        let crc = io::crc32(&sealed[..body]);
        sealed[body..].copy_from_slice(&crc.to_le_bytes());
        if sealed != data {
            check(sealed);
        }
    }
});

fn check(bytes: &[u8]) {
    let parsed = io::parse(bytes);
    if let Ok(file) = &parsed {
        check_parsed(bytes, file);
    }
    one_layer::<1, 10, 1>(bytes, &parsed);
    one_layer::<2, 3, 2>(bytes, &parsed);
    one_layer::<3, 5, 1>(bytes, &parsed);
    stack(bytes, &parsed);
    gru(bytes, &parsed);
    gru_over_lstm(bytes, &parsed);
    scaled(bytes, &parsed);
}

/// `io::decode_scaled_into` of a (2 -> 3) LSTM + Dense(3 -> 2): a model exactly when the
/// layers fit (with or without a scaling block), the scaling the block's values (identity
/// without one), nothing changed on a refusal.
fn scaled(bytes: &[u8], parsed: &Result<ModelBytes<'_>, FormatError>) {
    let mut m = LstmModel::<2, 3, 2>::zeroed(RecurrentActivation::Sigmoid);
    fill(&mut m, 0.25);
    let mut sc = Scaling::<2, 2>::IDENTITY;
    sc.input_mean = [9.0; 2];
    let (m0, sc0) = (m, sc);
    let got = io::decode_scaled_into(bytes, &mut m, &mut sc);
    match (parsed, &got) {
        (Err(p), Err(e)) => assert_eq!(p, e),
        (Err(p), Ok(_)) => panic!("parse refused ({p:?}), decode_scaled_into did not"),
        (Ok(file), _) => {
            let h = file.header();
            let fit = h.output == 2
                && h.layers().len() == 1
                && h.layers()[0].kind == LayerKind::Lstm
                && (h.layers()[0].input, h.layers()[0].hidden) == (2, 3);
            assert_eq!(got.is_ok(), fit, "{got:?}");
            if let Ok(head) = got {
                assert_eq!(head, h.head);
                let want: [f32; 8] = match file.scaling_values() {
                    Some(v) => {
                        let mut w = [0.0; 8];
                        w.iter_mut().zip(v).for_each(|(d, x)| *d = x);
                        w
                    }
                    None => [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
                };
                let have = [
                    sc.input_mean,
                    sc.input_scale,
                    sc.output_scale,
                    sc.output_mean,
                ]
                .concat();
                assert!(
                    have.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                );
            } else {
                assert!(m == m0 && sc == sc0, "a refused file changed the target");
            }
        }
    }
}

/// A GRU layer, (2 -> 3) + Dense(3 -> 2), through the generic decoder (either variant).
fn gru(bytes: &[u8], parsed: &Result<ModelBytes<'_>, FormatError>) {
    let mut m: Model<Gru<2, 3>, 2, 3, 2> = Model::new(
        Gru::zeroed(
            GruVariant::ResetAfter,
            RecurrentActivation::HardSigmoidKeras2,
        ),
        Dense::zeroed(),
    );
    fill(&mut m, 0.5);
    let ok = decode_into_checked(bytes, &mut m, parsed);
    if let Ok(file) = parsed {
        assert_eq!(ok, fits(file, &[(Cell::Gru, 2, 3)], 2));
        if ok {
            assert_eq!(m.rnn.kind(0), Some(file.header().layers()[0].kind));
            check_decoded(bytes, file, &m);
        }
    }
}

/// A GRU over an LSTM, (3 -> 5 -> 4) + Dense(4 -> 1).
fn gru_over_lstm(bytes: &[u8], parsed: &Result<ModelBytes<'_>, FormatError>) {
    type Net = Model<Stack<Lstm<3, 5>, Gru<5, 4>, 5>, 3, 4, 1>;
    let mut m: Net = Model::new(
        Stack::new(
            Lstm::zeroed(RecurrentActivation::Sigmoid),
            Gru::zeroed(
                GruVariant::ResetBefore,
                RecurrentActivation::HardSigmoidKeras3,
            ),
        ),
        Dense::zeroed(),
    );
    fill(&mut m, 2.0);
    let ok = decode_into_checked(bytes, &mut m, parsed);
    if let Ok(file) = parsed {
        assert_eq!(ok, fits(file, &[(Cell::Lstm, 3, 5), (Cell::Gru, 5, 4)], 1));
        if ok {
            check_decoded(bytes, file, &m);
        }
    }
}

/// What `parse` accepted is consistent with its own header.
fn check_parsed(bytes: &[u8], file: &ModelBytes<'_>) {
    let h = file.header();
    let n = h.layer_count();
    assert!((1..=io::MAX_LAYERS).contains(&n) && h.layers().len() == n);
    assert!((1..=io::VERSION).contains(&h.version));
    assert!(h.version >= 2 || n == 1);
    assert!(h.version == io::VERSION || !(h.scaled || h.differenced));
    assert!(!h.differenced || h.input == 1);
    let scaling = file.scaling_values().map_or(0, |v| v.len());
    assert_eq!(
        scaling,
        if h.scaled {
            2 * (h.input + h.output) as usize
        } else {
            0
        }
    );
    assert!(
        file.scaling_values()
            .is_none_or(|mut v| v.all(f32::is_finite))
    );
    let mut params = 0_usize;
    let mut below = h.input;
    for l in h.layers() {
        assert_eq!(l.input, below, "layer chain");
        assert!(l.hidden >= 1);
        params += l.kind.params(l.input as usize, l.hidden as usize).unwrap();
        below = l.hidden;
    }
    assert_eq!(h.hidden(), below);
    params += (below as usize + 1) * h.output as usize;
    assert_eq!(file.len(), params);
    assert_eq!(file.values().len(), params);
    assert!(file.values().all(f32::is_finite));
    assert!((0..params).all(|i| file.value(i).is_some_and(f32::is_finite)));
    assert_eq!(file.value(params), None);
    assert_eq!(bytes.len(), data_at(bytes, n) + 4 * params + io::CRC_LEN);
}

/// Offset of the weights in a file of `n` layers (after the scaling block, if any).
fn data_at(bytes: &[u8], n: usize) -> usize {
    if bytes[8] == 1 {
        io::V1_HEADER_LEN
    } else {
        let h = io::parse(bytes).expect("a parsed file").header();
        let scaling = if h.scaled {
            8 * (h.input + h.output) as usize
        } else {
            0
        };
        io::HEADER_LEN + io::LAYER_ENTRY_LEN * n + scaling
    }
}

/// True if the file's table says exactly the layers `(cell, input, hidden)` and `OUT` (a
/// GRU layer of the model type takes either GRU variant).
fn fits(file: &ModelBytes<'_>, layers: &[(Cell, u32, u32)], out: usize) -> bool {
    let h = file.header();
    !h.scaled
        && !h.differenced
        && h.output as usize == out
        && h.layers().len() == layers.len()
        && h.layers().iter().zip(layers).all(|(l, &(c, i, hid))| {
            let same = matches!(
                (c, l.kind),
                (Cell::Lstm, LayerKind::Lstm) | (Cell::Gru, LayerKind::Gru(_))
            );
            same && (l.input, l.hidden) == (i, hid)
        })
}

/// The cell of a layer of a model type.
#[derive(Clone, Copy)]
enum Cell {
    Lstm,
    Gru,
}

fn one_layer<const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    parsed: &Result<ModelBytes<'_>, FormatError>,
) {
    let decoded = io::decode::<IN, H, OUT>(bytes);
    let mut generic = LstmModel::<IN, H, OUT>::new(
        Lstm::zeroed(RecurrentActivation::HardSigmoidKeras2).with_maths(Maths::Fast),
        Dense::zeroed(),
    );
    fill(&mut generic, 0.75);
    let into = decode_into_checked(bytes, &mut generic, parsed);
    match parsed {
        Err(e) => {
            assert_eq!(decoded.as_ref().err(), Some(e));
            assert!(!into);
        }
        Ok(file) => {
            let ok = fits(file, &[(Cell::Lstm, IN as u32, H as u32)], OUT);
            assert_eq!(decoded.is_ok(), ok, "{decoded:?}");
            assert_eq!(into, ok);
            if let Err(e) = &decoded {
                assert!(
                    matches!(
                        e,
                        FormatError::LayerCountMismatch { .. }
                            | FormatError::ScalingNotRead
                            | FormatError::Differenced { .. }
                            | FormatError::DimensionMismatch { .. }
                            | FormatError::LayerMismatch { .. }
                    ),
                    "{e:?}"
                );
            }
        }
    }
    if let (Ok(m), Ok(file)) = (&decoded, parsed) {
        let mine = check_decoded(bytes, file, m);
        // The const decoder and the generic one give the same model, bit for bit.
        let theirs = check_decoded(bytes, file, &generic);
        assert!(mine == theirs);
    }
}

/// A 2-layer stack, (3 -> 5 -> 4) + Dense(4 -> 1), through the generic decoder.
fn stack(bytes: &[u8], parsed: &Result<ModelBytes<'_>, FormatError>) {
    type Net = Model<Lstm2<3, 5, 4>, 3, 4, 1>;
    let mut m: Net = Model::new(
        Stack::new(
            Lstm::zeroed(RecurrentActivation::HardSigmoidKeras3).with_maths(Maths::Fast),
            Lstm::zeroed(RecurrentActivation::HardSigmoidKeras2),
        ),
        Dense::zeroed(),
    );
    fill(&mut m, -1.5);
    let ok = decode_into_checked(bytes, &mut m, parsed);
    if let Ok(file) = parsed {
        assert_eq!(ok, fits(file, &[(Cell::Lstm, 3, 5), (Cell::Lstm, 5, 4)], 1));
        if ok {
            check_decoded(bytes, file, &m);
        }
    }
}

fn fill<R: Tensors<f32>, const IN: usize, const H: usize, const OUT: usize>(
    m: &mut Model<R, IN, H, OUT>,
    v: f32,
) {
    for t in 0..<Model<R, IN, H, OUT> as Tensors<f32>>::COUNT {
        m.tensor_mut(t).fill(v);
    }
}

/// `io::decode_into`; a refusal is `parse`'s error (if it had one) and changes nothing.
fn decode_into_checked<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    m: &mut Model<R, IN, H, OUT>,
    parsed: &Result<ModelBytes<'_>, FormatError>,
) -> bool
where
    R: Recurrent<IN, H, f32> + Copy + PartialEq + core::fmt::Debug,
{
    let before = *m;
    match io::decode_into(bytes, m) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(*m, before, "a refused file changed the model");
            match parsed {
                Err(p) => assert_eq!(&e, p),
                Ok(_) => assert!(
                    matches!(
                        e,
                        FormatError::LayerCountMismatch { .. }
                            | FormatError::ScalingNotRead
                            | FormatError::Differenced { .. }
                            | FormatError::LayerMismatch { .. }
                            | FormatError::OutputMismatch { .. }
                    ),
                    "{e:?}"
                ),
            }
            false
        }
    }
}

/// Checks a decoded model against its file; returns its re-encoding.
fn check_decoded<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    file: &ModelBytes<'_>,
    m: &Model<R, IN, H, OUT>,
) -> [u8; MAX_LEN]
where
    R: Recurrent<IN, H, f32>,
{
    // Every weight finite and bit-identical to the file's, in file order.
    let mut values = file.values();
    for t in 0..<Model<R, IN, H, OUT> as Tensors<f32>>::COUNT {
        for &v in m.tensor(t) {
            assert!(v.is_finite(), "tensor {t}: {v}");
            let f = values
                .next()
                .expect("the file has fewer weights than the model");
            assert_eq!(v.to_bits(), f.to_bits(), "tensor {t}");
        }
    }
    assert!(values.next().is_none(), "the file has more weights");
    for (k, l) in file.header().layers().iter().enumerate() {
        assert_eq!(m.rnn.settings(k), Some(l.settings), "layer {k}");
    }
    // Re-encoding writes the file back.
    let mut out = [0u8; MAX_LEN];
    let len = io::encode(m, &mut out).expect("a decoded model encodes");
    assert_eq!(len, io::model_file_len::<Model<R, IN, H, OUT>>());
    let out_bytes = &out[..len];
    if cfg!(feature = "strict-canonical") {
        assert!(out_bytes == bytes, "re-encoding differs from the input");
    }
    let mut canon = [0u8; MAX_LEN];
    let canon = canonical(bytes, file, &mut canon);
    assert!(
        out_bytes == canon,
        "re-encoding differs from the canonical file"
    );
    // The only ways a valid file differs from its canonical form.
    let noncanonical = file.header().version != io::VERSION || reserved_bytes_set(bytes, file);
    assert_eq!(canon != bytes, noncanonical);
    out
}

/// True if a version-3 file has a non-zero byte where `io::encode` writes 0: the head
/// activation (25), the reserved byte 27 (26, the flags, is 0 in every file the
/// weights-only decoders accept), or bytes 12..16 of a layer entry.
fn reserved_bytes_set(bytes: &[u8], file: &ModelBytes<'_>) -> bool {
    let n = file.header().layer_count();
    file.header().version == io::VERSION
        && (bytes[25..28].iter().any(|&b| b != 0)
            || (0..n).any(|k| {
                let e = io::HEADER_LEN + io::LAYER_ENTRY_LEN * k;
                bytes[e + 12..e + 16].iter().any(|&b| b != 0)
            }))
}

/// The version-3 file of what `file` holds, written from the documented layout (not with
/// `io::encode`): header and table from the parsed header, reserved bytes 0, the input's
/// weight bytes, a fresh CRC.
fn canonical<'b>(bytes: &[u8], file: &ModelBytes<'_>, out: &'b mut [u8; MAX_LEN]) -> &'b [u8] {
    let h = file.header();
    let n = h.layer_count();
    let weights = 4 * file.len();
    let at = io::HEADER_LEN + io::LAYER_ENTRY_LEN * n;
    let len = at + weights + io::CRC_LEN;
    let c = &mut out[..len];
    c.fill(0);
    c[..8].copy_from_slice(&io::MAGIC);
    let put = |c: &mut [u8], at: usize, v: u32| c[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(c, 8, io::VERSION);
    put(c, 12, h.input);
    put(c, 16, h.output);
    put(c, 20, n as u32);
    c[24] = 1;
    for (k, l) in h.layers().iter().enumerate() {
        let e = io::HEADER_LEN + io::LAYER_ENTRY_LEN * k;
        c[e] = l.kind.code();
        c[e + 1] = 0;
        c[e + 2] = l.settings.activation.code();
        c[e + 3] = l.settings.maths.code();
        put(c, e + 4, l.input);
        put(c, e + 8, l.hidden);
    }
    let from = data_at(bytes, n);
    c[at..at + weights].copy_from_slice(&bytes[from..from + weights]);
    let crc = io::crc32(&c[..len - io::CRC_LEN]);
    put(c, len - io::CRC_LEN, crc);
    c
}
