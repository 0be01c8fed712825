//! The int8 Rust source `lstm-harness export` writes (`host-harness/src/files/rust_src_int8.rs`)
//! compiles and is the int8 file it came from, bit for bit: `include!`d here beside the file
//! (fixtures in `testdata/int8`, rewritten with the harness test
//! `the_int8_fixtures_are_what_the_tools_write`), every weight, multiplier, bias, cell format,
//! variant, activation, input scale and normalisation value equal, and `predict_step` equal to
//! normalising, stepping and de-normalising the decoded model by hand.

use lstm_kernel::quant::file::decode_scaled_into;
use lstm_kernel::quant::{QModel, QRecurrent};
use lstm_kernel::{Differencer, HeadActivation, Scaling};

mod lstm2 {
    include!("../../testdata/int8/lstm2.rs");
}

mod gru_diff {
    include!("../../testdata/int8/gru_diff.rs");
}

#[test]
fn the_generated_int8_source_is_the_int8_file() {
    // 2 x LSTM(8), 3 inputs, 2 outputs, softmax, with a normalisation.
    let mut m = QModel::<lstm2::Rnn, { lstm2::IN }, { lstm2::H }, { lstm2::OUT }>::zeroed();
    let mut sc = Scaling::IDENTITY;
    let head = decode_scaled_into(
        include_bytes!("../../testdata/int8/lstm2.bin"),
        &mut m,
        &mut sc,
    );
    assert_eq!(head, Ok(HeadActivation::Softmax));
    assert_eq!(lstm2::HEAD, HeadActivation::Softmax);
    assert_eq!((lstm2::LAYERS, lstm2::DIFFERENCED), (2, false));
    assert_eq!(m, lstm2::MODEL);
    assert_eq!(sc, lstm2::SCALING);
    let mut s1 = <lstm2::Rnn as QRecurrent<3, 8>>::zero_state();
    let mut s2 = s1;
    for t in 0..30 {
        let x = [t as f32 * 0.3 - 2.0, (t as f32).sin(), 1.5];
        let got = lstm2::predict_step(&x, &mut s1).expect("finite");
        let q = m.quantize_input(&sc.input(&x)).unwrap();
        let mut want = sc.output(
            &m.step(&q, &mut s2)
                .map(QModel::<lstm2::Rnn, 3, 8, 2>::output_value),
        );
        HeadActivation::Softmax.apply(&mut want);
        assert_eq!(got, want, "step {t}");
    }
    assert_eq!(lstm2::predict_step(&[f32::NAN, 0.0, 0.0], &mut s1), None);
}

#[test]
fn the_generated_int8_source_of_a_differenced_gru_is_the_int8_file() {
    let mut m =
        QModel::<gru_diff::Rnn, { gru_diff::IN }, { gru_diff::H }, { gru_diff::OUT }>::zeroed();
    let mut sc = Scaling::IDENTITY;
    let bytes = include_bytes!("../../testdata/int8/gru_diff.bin");
    assert_eq!(
        decode_scaled_into(bytes, &mut m, &mut sc),
        Ok(HeadActivation::Identity)
    );
    assert!(
        lstm_kernel::quant::file::parse(bytes)
            .unwrap()
            .header()
            .differenced
    );
    assert_eq!((gru_diff::DIFFERENCED, gru_diff::LAYERS), (true, 1));
    assert_eq!((m, sc), (gru_diff::MODEL, gru_diff::SCALING));
    let (mut d1, mut d2) = (Differencer::NEW, Differencer::NEW);
    let mut s1 = <gru_diff::Rnn as QRecurrent<1, 8>>::zero_state();
    let mut s2 = s1;
    for t in 0..30 {
        let v = 100.0 + 3.0 * t as f32 + (t as f32).cos() * 5.0;
        let got = gru_diff::predict_step(&[v], &mut s1, &mut d1).unwrap();
        let dx = [d2.input(v)];
        let q = m.quantize_input(&sc.input(&dx)).unwrap();
        let y = sc.output(
            &m.step(&q, &mut s2)
                .map(QModel::<gru_diff::Rnn, 1, 8, 1>::output_value),
        );
        assert_eq!(got, d2.output(&y), "step {t}");
    }
}
