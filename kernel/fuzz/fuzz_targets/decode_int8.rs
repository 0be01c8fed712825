//! Fuzz target `decode_int8`: "parsing any byte string returns a typed error or a view,
//! never a panic" (kernel/src/quant/file.rs), and what loads is what the file holds.
//!
//! Every input is checked as given and resealed (a correct CRC-32 in its last 4 bytes, as
//! in the `decode` target). For each byte string, `quant::file::parse` and `load_into` for
//! four model types (one LSTM layer (1, 10, 1) and (2, 3, 2), a GRU (2, 3, 2), an LSTM
//! under a GRU (2 -> 3 -> 3, 2 outputs)) must not panic and must agree (a model exactly
//! when the file parses and its layer table fits the type; a refused file leaves the model
//! untouched); a loaded model steps without panicking, and writing it back with
//! `quant::file::encode_with` (at the file's sizes, with its head activation and scaling)
//! gives a file that parses and loads to the same model.
//!
//! Nothing here allocates: buffers are on the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lstm_kernel::Stack;
use lstm_kernel::io::{self, FormatError};
use lstm_kernel::quant::file::{self, QFileMeta, QModelBytes};
use lstm_kernel::quant::{QGru, QLstm, QModel, QRecurrent};

/// Longest input that is also checked resealed (the seeds are under 1,500 bytes).
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
    let parsed = file::parse(bytes);
    load::<QLstm<1, 10>, 1, 10, 1>(&parsed);
    load::<QLstm<2, 3>, 2, 3, 2>(&parsed);
    load::<QGru<2, 3>, 2, 3, 2>(&parsed);
    load::<Stack<QLstm<2, 3>, QGru<3, 3>, 3>, 2, 3, 2>(&parsed);
}

fn load<R, const IN: usize, const H: usize, const OUT: usize>(
    parsed: &Result<QModelBytes<'_>, FormatError>,
) where
    R: QRecurrent<IN, H> + PartialEq + core::fmt::Debug + Copy,
{
    let Ok(f) = parsed else { return };
    let mut m = QModel::<R, IN, H, OUT>::zeroed();
    match f.load_into(&mut m) {
        Err(_) => assert_eq!(m, QModel::zeroed(), "a refused file left the model touched"),
        Ok(()) => {
            let h = f.header();
            assert_eq!(
                (h.layer_count(), h.input, h.output),
                (R::LAYERS, IN as u32, OUT as u32)
            );
            let mut state = R::zero_state();
            for t in 0..4i16 {
                let _ = m.step(&[t.wrapping_mul(9000); IN], &mut state);
            }
            let mut sc = [0f32; 4 * 16];
            let scaling = f.scaling_values().map(|v| {
                let n = v.len();
                sc.iter_mut().zip(v).for_each(|(d, x)| *d = x);
                let (i, o) = (IN, OUT);
                assert_eq!(n, 2 * (i + o));
                let (a, rest) = sc.split_at(i);
                let (b, rest) = rest.split_at(i);
                let (c, rest) = rest.split_at(o);
                [a, b, c, &rest[..o]]
            });
            let meta = QFileMeta {
                input: h.input,
                output: h.output,
                head: h.head,
                scaling,
                differenced: h.differenced,
            };
            let mut out = [0u8; 2 * MAX_LEN];
            let n = file::encode_with(&m, &meta, &mut out).expect("a loaded model writes");
            let again = file::parse(&out[..n]).expect("a written file parses");
            let mut back = QModel::<R, IN, H, OUT>::zeroed();
            again.load_into(&mut back).expect("and loads");
            assert_eq!(back, m);
            assert_eq!(again.header(), h);
        }
    }
}
