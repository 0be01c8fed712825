//! Host reference for the `train` firmware: the same on-device training run (same seed,
//! same `no_std` code, same kernels), printing the same `train ...` lines.
use fw_common::report::{Sink, training_lines};
use fw_common::train::{Trainer, learn_on_device};

struct Stdout;

impl Sink for Stdout {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        println!("{args}");
    }
}

fn main() {
    let seed = fw_common::train::DEVICE_SEED;
    let mut trainer = Trainer::keras_init(seed);
    match learn_on_device(&mut trainer, seed, 1000, 200) {
        Ok(o) => {
            training_lines(&mut Stdout, &o, &trainer.model);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
