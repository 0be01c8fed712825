//! Host reference for the `train` and `train-gru` firmware: the same on-device training
//! run (same seed, same `no_std` code, same kernels), printing the same `train ...` lines
//! (the post's LSTM) or, with the argument `gru`, `gru-train ...` lines (its GRU version).
use fw_common::report::{Sink, training_lines};
use fw_common::train::{Trainer, learn_on_device};
use lstm_kernel::Recurrent;

struct Stdout;

impl Sink for Stdout {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        println!("{args}");
    }
}

fn run<R: Recurrent<1, 10, f32> + Default>(tag: &str) {
    let seed = fw_common::train::DEVICE_SEED;
    let mut trainer = Trainer::<R>::keras_init(seed);
    match learn_on_device(&mut trainer, seed, 1000, 200) {
        Ok(o) => {
            training_lines(&mut Stdout, tag, &o, &trainer.model);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        None => run::<lstm_kernel::Lstm<1, 10>>("train"),
        Some("gru") => run::<lstm_kernel::Gru<1, 10>>("gru-train"),
        Some(other) => {
            eprintln!("unknown model {other:?}: pass nothing (LSTM) or `gru`");
            std::process::exit(2);
        }
    }
}
