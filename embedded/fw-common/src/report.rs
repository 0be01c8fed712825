//! The text both the firmware and the host checks print, produced by the same code so CI
//! can compare them line by line (`embedded/tools/cmp_lines.py`).
//!
//! Floats are printed as the 8 hex digits of their IEEE-754 bits (`f32::to_bits`): exact,
//! and it keeps `core`'s float formatting out of the firmware.

use core::fmt;

use lstm_kernel::Tensors;

use crate::infer::Accuracy;
use crate::task::STEPS;
use crate::train::Outcome;
use crate::{H, IN, OUT};

/// Where report lines go: semihosting on the device, stdout on the host.
pub trait Sink {
    /// Writes one line (without the newline).
    fn line(&mut self, args: fmt::Arguments<'_>);
}

/// Displays floats as ` xxxxxxxx` (a space, then the 8 hex digits of the bits) each.
#[derive(Clone, Copy, Debug)]
pub struct Hex<'a>(pub &'a [f32]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in self.0 {
            write!(f, " {:08x}", v.to_bits())?;
        }
        Ok(())
    }
}

/// `<tag> seq <i> label <0|1> logits <20 hex floats>`: one validation sequence's logits.
pub fn sequence_line(sink: &mut impl Sink, tag: &str, i: usize, label: f32, logits: &[f32; STEPS]) {
    sink.line(format_args!(
        "{tag} seq {i} label {} logits{}",
        label as u32,
        Hex(logits)
    ));
}

/// `<tag> accuracy steps <c>/<n> last <c>/<n>`.
pub fn accuracy_line(sink: &mut impl Sink, tag: impl fmt::Display, a: &Accuracy) {
    sink.line(format_args!(
        "{tag} accuracy steps {}/{} last {}/{}",
        a.correct_steps, a.steps, a.correct_last, a.sequences
    ));
}

/// Every weight of `model` in file order (the order of `lstm_kernel::io`), 10 per line:
/// `<tag> weights <first index> <hex floats>`.
pub fn weight_lines<R: lstm_kernel::Recurrent<IN, H, f32>>(
    sink: &mut impl Sink,
    tag: &str,
    model: &lstm_kernel::Model<R, IN, H, OUT>,
) {
    let mut buf = [0.0_f32; 10];
    let mut n = 0;
    let mut first = 0;
    for t in 0..<lstm_kernel::Model<R, IN, H, OUT> as Tensors<f32>>::COUNT {
        for &v in model.tensor(t) {
            buf[n] = v;
            n += 1;
            if n == buf.len() {
                sink.line(format_args!("{tag} weights {first}{}", Hex(&buf)));
                first += n;
                n = 0;
            }
        }
    }
    if n > 0 {
        sink.line(format_args!("{tag} weights {first}{}", Hex(&buf[..n])));
    }
}

/// The lines of an on-device training run, each starting with `tag` (`train` for the LSTM,
/// `gru-train` for the GRU): updates, mean loss and accuracy (hex), validation accuracy,
/// the CRC-32 of the trained model's `lstm_kernel::io` file and every weight. Returns that
/// CRC (`None` if a weight is not finite or the file outgrows [`MAX_FILE`], so no file
/// exists).
pub fn training_lines<R: lstm_kernel::Recurrent<IN, H, f32>>(
    sink: &mut impl Sink,
    tag: &str,
    o: &Outcome,
    model: &lstm_kernel::Model<R, IN, H, OUT>,
) -> Option<u32> {
    sink.line(format_args!(
        "{tag} updates {} loss{} acc{}",
        o.updates,
        Hex(&[o.train_loss]),
        Hex(&[o.train_accuracy])
    ));
    accuracy_line(sink, format_args!("{tag} val"), &o.val);
    let mut file = [0u8; MAX_FILE];
    let crc = match lstm_kernel::io::encode(model, &mut file) {
        Ok(n) => {
            let c = &file[n - 4..n];
            Some(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        }
        Err(e) => {
            sink.line(format_args!("{tag} model cannot be saved: {e}"));
            None
        }
    };
    if let Some(c) = crc {
        sink.line(format_args!("{tag} model crc32 {c:08x}"));
    }
    weight_lines(sink, tag, model);
    crc
}

/// The largest model file [`training_lines`] encodes (on the stack): the post's LSTM's is
/// 2,012 bytes, its GRU version's 1,572.
pub const MAX_FILE: usize = 2048;

/// Validates `step` over `xs`/`ys` (see [`crate::infer::validate`]) and prints one
/// [`sequence_line`] per sequence, then the [`accuracy_line`].
pub fn validation_report<St, S>(
    sink: &mut impl Sink,
    tag: &str,
    xs: &[[[f32; IN]; STEPS]],
    ys: &[f32],
    step: S,
) -> Accuracy
where
    St: lstm_kernel::StreamState,
    S: FnMut(&[f32; IN], &mut St) -> [f32; OUT],
{
    let a = crate::infer::validate(xs, ys, step, |i, logits| {
        sequence_line(sink, tag, i, ys[i], logits)
    });
    accuracy_line(sink, tag, &a);
    a
}
