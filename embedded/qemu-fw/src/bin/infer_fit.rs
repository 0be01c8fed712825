//! Inference firmware for a model of the user's sizes (`lstm-harness fit` on a CSV/`.npy`,
//! exported as Rust source): every raw input sequence of [`FIT_X`] streamed through
//! `predict_step` (normalise, step, de-normalise, head activation) from the zero state,
//! each step's outputs printed as `fit <sequence> <step> <y0> ..` (f32 bit patterns), which
//! scripts/embedded.sh compares with `lstm-harness predict` on the same CSV. Also checks
//! that a run-time import of the binary file (`decode_scaled_into`, scaling block included)
//! equals the flash copy, and that the weights-only decoder refuses that file.
#![no_std]
#![no_main]

use fw_common::report::Sink;
use fw_common::trained_fit::{FIT_X, H, IN, MODEL, MODEL_BIN, OUT, Rnn, SCALING, predict_step};
use lstm_kernel::{Dense, Model, Recurrent, Scaling, Tensors};
use qemu_fw::entry;

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    let mut out = qemu_fw::Semihosting;
    let mut runtime: Model<Rnn, IN, H, OUT> = Model::new(Rnn::default(), Dense::zeroed());
    let mut scaling = Scaling::<IN, OUT>::IDENTITY;
    let bin = core::hint::black_box(MODEL_BIN);
    let head = lstm_kernel::io::decode_scaled_into(bin, &mut runtime, &mut scaling);
    let same = (0..<Model<Rnn, IN, H, OUT> as Tensors<f32>>::COUNT).all(|t| {
        let (a, b) = (runtime.tensor(t), MODEL.tensor(t));
        a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
    });
    let scaling_same = scaling == SCALING;
    let mut probe: Model<Rnn, IN, H, OUT> = Model::new(Rnn::default(), Dense::zeroed());
    let refused = lstm_kernel::io::decode_into(bin, &mut probe)
        == Err(lstm_kernel::FormatError::ScalingNotRead);
    let ok = head == Ok(fw_common::trained_fit::HEAD) && same && scaling_same && refused;
    out.line(format_args!(
        "check fit runtime-import {} scaling {} weights-only-refused {refused}",
        if same { "equal" } else { "DIFFERENT" },
        if scaling_same { "equal" } else { "DIFFERENT" }
    ));
    for (i, seq) in FIT_X.iter().enumerate() {
        let mut state = <Rnn as Recurrent<IN, H, f32>>::State::zeroed();
        for (t, x) in seq.iter().enumerate() {
            let y = predict_step(x, &mut state);
            let mut line: heapless::String<256> = heapless::String::new();
            for v in y {
                let _ =
                    core::fmt::Write::write_fmt(&mut line, format_args!(" {:08x}", v.to_bits()));
            }
            out.line(format_args!("fit {i} {t}{line}"));
        }
    }
    qemu_fw::exit(ok)
}
