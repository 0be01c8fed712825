//! Writes the seed corpora of the `decode` and `decode_int8` fuzz targets into
//! `corpus/decode/seed-*` and `corpus/decode_int8/seed-*`
//! (deterministic: rerunning rewrites the same bytes). From `kernel/fuzz`:
//!
//! ```sh
//! cargo run --example gen-seeds
//! ```
//!
//! Seeds: valid version-3 files for the target's model types, one per recurrent
//! activation (and both maths), a 2-layer stack, a GRU and a GRU over an LSTM, a file with
//! a scaling block and a softmax head, a version-2 and a version-1 file, a truncated file
//! and a file with a flipped CRC bit. Weights vary in sign and exponent and include -0, the
//! smallest subnormal and +-f32::MAX, so the bit-exact round trip is exercised.

use std::path::Path;

use lstm_kernel::io::{self, FormatError};
use lstm_kernel::quant::file as qfile;
use lstm_kernel::quant::{Calibration, QModel, QRecurrent, Quantize};
use lstm_kernel::{
    Dense, Gru, GruVariant, HeadActivation, Lstm, Lstm2, LstmModel, Maths, Model, Recurrent,
    RecurrentActivation, Scaling, Stack, Tensors,
};

/// Weight `i` of a seed.
fn weight(i: usize) -> f32 {
    match i % 41 {
        3 => -0.0,
        11 => f32::from_bits(1), // smallest subnormal
        19 => f32::MAX,
        27 => -f32::MAX,
        35 => f32::MIN_POSITIVE,
        _ => ((7 * i) as f32).sin() * 2f32.powi((i % 9) as i32 - 4),
    }
}

fn filled<R: Recurrent<IN, H, f32>, const IN: usize, const H: usize, const OUT: usize>(
    mut m: Model<R, IN, H, OUT>,
) -> Model<R, IN, H, OUT> {
    let mut i = 0;
    for t in 0..<Model<R, IN, H, OUT> as Tensors<f32>>::COUNT {
        for v in m.tensor_mut(t) {
            *v = weight(i);
            i += 1;
        }
    }
    m
}

fn encoded<R: Recurrent<IN, H, f32>, const IN: usize, const H: usize, const OUT: usize>(
    m: &Model<R, IN, H, OUT>,
) -> Vec<u8> {
    let mut buf = vec![0u8; io::model_file_len::<Model<R, IN, H, OUT>>()];
    let n = io::encode(m, &mut buf).expect("encode");
    assert_eq!(n, buf.len());
    buf
}

fn one<const IN: usize, const H: usize, const OUT: usize>(
    activation: RecurrentActivation,
    maths: Maths,
) -> Vec<u8> {
    let m: LstmModel<IN, H, OUT> = filled(Model::new(
        Lstm::zeroed(activation).with_maths(maths),
        Dense::zeroed(),
    ));
    let bytes = encoded(&m);
    assert_eq!(io::decode::<IN, H, OUT>(&bytes), Ok(m));
    bytes
}

fn main() {
    use Maths::{Exact, Fast};
    use RecurrentActivation::{HardSigmoidKeras2, HardSigmoidKeras3, Sigmoid};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decode");
    std::fs::create_dir_all(&dir).unwrap();
    let mut seeds: Vec<(&str, Vec<u8>)> = Vec::new();

    // One LSTM layer, the target's three sizes, each recurrent activation.
    let post = one::<1, 10, 1>(Sigmoid, Exact); // the post's model, 2,012 bytes
    seeds.push(("seed-v3-1-10-1-sigmoid", post));
    let small = one::<2, 3, 2>(HardSigmoidKeras2, Fast);
    seeds.push(("seed-v3-2-3-2-hard-sigmoid-keras2-fast", small.clone()));
    seeds.push((
        "seed-v3-3-5-1-hard-sigmoid-keras3",
        one::<3, 5, 1>(HardSigmoidKeras3, Exact),
    ));

    // A 2-layer stack (3 -> 5 -> 4) + Dense(4 -> 1), per-layer settings.
    type Net = Model<Lstm2<3, 5, 4>, 3, 4, 1>;
    let net: Net = filled(Model::new(
        Stack::new(
            Lstm::zeroed(HardSigmoidKeras3).with_maths(Fast),
            Lstm::zeroed(Sigmoid),
        ),
        Dense::zeroed(),
    ));
    let stack = encoded(&net);
    assert_eq!(io::decode_with(&stack, || net), Ok(net));
    seeds.push(("seed-v3-stack-3-5-4-1", stack));

    // GRU layers: a reset-after GRU (2 -> 3) + Dense(3 -> 2), and a reset-before GRU over an
    // LSTM (3 -> 5 -> 4) + Dense(4 -> 1) (the target's GRU model types).
    let g: Model<Gru<2, 3>, 2, 3, 2> = filled(Model::new(
        Gru::zeroed(GruVariant::ResetAfter, HardSigmoidKeras2),
        Dense::zeroed(),
    ));
    let gru = encoded(&g);
    assert_eq!(io::decode_with(&gru, || g), Ok(g));
    seeds.push(("seed-v3-gru-2-3-2-hard-sigmoid-keras2", gru));
    type Mixed = Model<Stack<Lstm<3, 5>, Gru<5, 4>, 5>, 3, 4, 1>;
    let mixed: Mixed = filled(Model::new(
        Stack::new(
            Lstm::zeroed(Sigmoid),
            Gru::zeroed(GruVariant::ResetBefore, HardSigmoidKeras3).with_maths(Fast),
        ),
        Dense::zeroed(),
    ));
    let mixed_bytes = encoded(&mixed);
    assert_eq!(io::decode_with(&mixed_bytes, || mixed), Ok(mixed));
    seeds.push(("seed-v3-lstm-gru-reset-before-3-5-4-1", mixed_bytes));

    // A scaling block and a softmax head (version 3), for the (2, 3, 2) model.
    let sc = Scaling::<2, 2> {
        input_mean: [weight(5), -0.0],
        input_scale: [weight(8), f32::from_bits(1)],
        output_scale: [weight(13), 1.0],
        output_mean: [f32::MAX, weight(21)],
    };
    let m = io::decode::<2, 3, 2>(&small).unwrap();
    let mut with = vec![0u8; small.len() + 32];
    let n = io::encode_scaled(&m, HeadActivation::Softmax, Some(&sc), &mut with).unwrap();
    assert_eq!(n, with.len());
    let (mut back, mut sc_back) = (m, Scaling::IDENTITY);
    back.head.b = [0.0; 2];
    assert_eq!(
        io::decode_scaled_into(&with, &mut back, &mut sc_back),
        Ok(HeadActivation::Softmax)
    );
    assert_eq!((back, sc_back.input_scale[1].to_bits()), (m, 1));
    seeds.push(("seed-v3-scaled-softmax-2-3-2", with));

    // Version 2 (read only, so written by hand): the version-3 file with version 2.
    let mut v2 = small.clone();
    v2[8] = 2;
    let n = v2.len();
    let crc = io::crc32(&v2[..n - 4]);
    v2[n - 4..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(io::decode::<2, 3, 2>(&v2), Ok(m));
    seeds.push(("seed-v2-2-3-2-hard-sigmoid-keras2-fast", v2));

    // Version 1 (read only, so written by hand): 28-byte header, the same weights, CRC.
    let m = io::decode::<2, 3, 2>(&small).unwrap();
    let mut v1 = vec![0u8; small.len() - 16];
    v1[..8].copy_from_slice(&io::MAGIC);
    for (at, v) in [(8, 1_u32), (12, 2), (16, 3), (20, 2)] {
        v1[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    v1[24] = 1; // f32
    v1[26] = HardSigmoidKeras2.code();
    let n = v1.len();
    v1[io::V1_HEADER_LEN..n - 4].copy_from_slice(&small[44..small.len() - 4]);
    let crc = io::crc32(&v1[..n - 4]);
    v1[n - 4..].copy_from_slice(&crc.to_le_bytes());
    let mut exact = m;
    exact.rnn.maths = Exact; // version 1 has no maths byte
    assert_eq!(io::decode::<2, 3, 2>(&v1), Ok(exact));
    seeds.push(("seed-v1-2-3-2-hard-sigmoid-keras2", v1));

    // Refused files: truncated inside the weights, and a flipped bit in the CRC.
    let truncated = small[..200].to_vec();
    assert!(matches!(
        io::parse(&truncated),
        Err(FormatError::Truncated { found: 200, .. })
    ));
    seeds.push(("seed-bad-truncated-2-3-2", truncated));
    let mut bad_crc = small.clone();
    *bad_crc.last_mut().unwrap() ^= 0x01;
    assert!(matches!(
        io::parse(&bad_crc),
        Err(FormatError::ChecksumMismatch { .. })
    ));
    seeds.push(("seed-bad-crc-2-3-2", bad_crc));

    write(&dir, "decode", &seeds);
    int8_seeds();
}

fn write(dir: &Path, target: &str, seeds: &[(&str, Vec<u8>)]) {
    let mut total = 0;
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
        println!("{:>5} B  corpus/{target}/{name}", bytes.len());
        total += bytes.len();
    }
    println!("{total:>5} B  in {} seeds", seeds.len());
}

/// A float model with moderate weights (`sin`, no extremes: quantizable), calibrated on
/// a few steps of `sin` inputs and quantized.
fn quantized<F, const IN: usize, const H: usize, const OUT: usize>(
    rnn: F,
) -> QModel<F::Quantized, IN, H, OUT>
where
    F: Quantize<IN, H>,
    F::Quantized: Sized,
{
    let mut m = Model::new(rnn, Dense::<H, OUT>::zeroed());
    let mut i = 0;
    for t in 0..<Model<F, IN, H, OUT> as Tensors<f32>>::COUNT {
        for v in m.tensor_mut(t) {
            *v = ((7 * i) as f32).sin() * 0.8;
            i += 1;
        }
    }
    let xs: Vec<[f32; IN]> = (0..12)
        .map(|t| core::array::from_fn(|k| ((t * 3 + k) as f32).sin() * 2.0))
        .collect();
    let mut cal = Calibration::new();
    cal.observe_sequence(&m, &xs);
    QModel::quantize(&m, &cal).expect("quantize")
}

/// Seeds of the `decode_int8` target (corpus/decode_int8): one file per model type of the
/// target, one with a scaling block and a sigmoid head, and a truncated one.
fn int8_seeds() {
    use RecurrentActivation::{HardSigmoidKeras2, HardSigmoidKeras3, Sigmoid};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decode_int8");
    std::fs::create_dir_all(&dir).unwrap();
    fn bytes<R: QRecurrent<IN, H>, const IN: usize, const H: usize, const OUT: usize>(
        m: &QModel<R, IN, H, OUT>,
        head: HeadActivation,
        scaling: Option<&Scaling<IN, OUT>>,
    ) -> Vec<u8> {
        let mut buf = vec![0u8; 8192];
        let n = qfile::encode(m, head, scaling, &mut buf).expect("encode");
        buf.truncate(n);
        buf
    }
    let post = quantized::<_, 1, 10, 1>(Lstm::<1, 10>::zeroed(Sigmoid));
    let small = quantized::<_, 2, 3, 2>(Lstm::<2, 3>::zeroed(HardSigmoidKeras3));
    let gru = quantized::<_, 2, 3, 2>(Gru::<2, 3>::zeroed(
        GruVariant::ResetBefore,
        HardSigmoidKeras2,
    ));
    let stack = quantized::<_, 2, 3, 2>(Stack::<_, _, 3>::new(
        Lstm::<2, 3>::zeroed(Sigmoid),
        Gru::<3, 3>::zeroed(GruVariant::ResetAfter, Sigmoid),
    ));
    let sc = Scaling::<2, 2> {
        input_mean: [0.5, -1.0],
        input_scale: [2.0, 0.25],
        output_scale: [3.0, 1.0],
        output_mean: [-0.0, 7.0],
    };
    let post_bytes = bytes(&post, HeadActivation::Sigmoid, None);
    let seeds = vec![
        ("seed-int8-lstm-1-10-1-sigmoid", post_bytes.clone()),
        (
            "seed-int8-lstm-2-3-2",
            bytes(&small, HeadActivation::Softmax, None),
        ),
        (
            "seed-int8-gru-reset-before-2-3-2",
            bytes(&gru, HeadActivation::Identity, None),
        ),
        (
            "seed-int8-lstm-gru-2-3-3-2",
            bytes(&stack, HeadActivation::Unspecified, None),
        ),
        (
            "seed-int8-scaled-2-3-2",
            bytes(&small, HeadActivation::Identity, Some(&sc)),
        ),
        ("seed-int8-bad-truncated", post_bytes[..300].to_vec()),
    ];
    for (_, b) in &seeds[..5] {
        qfile::parse(b).expect("a seed parses");
    }
    write(&dir, "decode_int8", &seeds);
}
