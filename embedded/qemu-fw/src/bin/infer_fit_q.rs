//! Inference firmware for the int8 quantization of the `fit` model (`lstm-harness quantize`,
//! exported as Rust source): every raw input sequence of `FIT_X` normalised with the model's
//! `SCALING`, quantized and streamed through the int8 `MODEL` from the zero state, each
//! step's Q19.12 outputs printed as `fitq <sequence> <step> <y0> ..` (the f32 bit patterns of
//! `QModel::output_value`), which scripts/embedded.sh compares with `lstm-harness predict
//! --logits` of the int8 file bit for bit. Also checks that a run-time import of the int8
//! file (`quant::file::decode_scaled_into`) equals the flash copy.
#![no_std]
#![no_main]

use fw_common::report::Sink;
use fw_common::trained_fit::FIT_X;
use fw_common::trained_fit_q::{H, HEAD, IN, MODEL, MODEL_BIN, OUT, Rnn, SCALING};
use lstm_kernel::Scaling;
use lstm_kernel::quant::{QModel, QRecurrent};
use qemu_fw::entry;

qemu_fw::fault_handlers!();

#[entry]
fn main() -> ! {
    let mut out = qemu_fw::Semihosting;
    let mut runtime = QModel::<Rnn, IN, H, OUT>::zeroed();
    let mut scaling = Scaling::<IN, OUT>::IDENTITY;
    let bin = core::hint::black_box(MODEL_BIN);
    let head = lstm_kernel::quant::file::decode_scaled_into(bin, &mut runtime, &mut scaling);
    let same = runtime == MODEL;
    let ok = head == Ok(HEAD) && same && scaling == SCALING;
    out.line(format_args!(
        "check fitq runtime-import {} scaling {}",
        if same { "equal" } else { "DIFFERENT" },
        if scaling == SCALING {
            "equal"
        } else {
            "DIFFERENT"
        }
    ));
    let mut fine = true;
    for (i, seq) in FIT_X.iter().enumerate() {
        let mut state = <Rnn as QRecurrent<IN, H>>::zero_state();
        for (t, x) in seq.iter().enumerate() {
            let Some(q) = MODEL.quantize_input(&SCALING.input(x)) else {
                fine = false;
                continue;
            };
            let y = MODEL.step(&q, &mut state);
            let mut line: heapless::String<256> = heapless::String::new();
            for v in y {
                let bits = QModel::<Rnn, IN, H, OUT>::output_value(v).to_bits();
                let _ = core::fmt::Write::write_fmt(&mut line, format_args!(" {bits:08x}"));
            }
            out.line(format_args!("fitq {i} {t}{line}"));
        }
    }
    qemu_fw::exit(ok && fine)
}
