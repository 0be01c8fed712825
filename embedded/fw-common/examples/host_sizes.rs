//! Host reference for the `sizes` firmware: the same models, quantization and steps
//! (`fw_common::sizes`), printing the same `sizes ...` lines; CI compares them with the
//! firmware's (int8 bit-identical). `host_sizes small` runs (1, 10) alone, as the
//! 16 KiB-RAM build does.
use fw_common::report::Sink;
use fw_common::sizes::Probe;

struct Stdout;

impl Sink for Stdout {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        println!("{args}");
    }
}

struct Plain;

impl Probe for Plain {
    fn measure<T>(&mut self, step: impl FnOnce() -> T) -> T {
        step()
    }
}

fn main() {
    let small = std::env::args().nth(1).as_deref() == Some("small");
    use fw_common::sizes::{Storage, zeroed};
    let mut q1x10 = Box::new(zeroed::<1, 10>());
    let mut q1x32 = Box::new(zeroed::<1, 32>());
    let mut q8x64 = Box::new(zeroed::<8, 64>());
    let storage = Storage {
        q1x10: &mut q1x10,
        large: (!small).then_some((&mut *q1x32, &mut *q8x64)),
    };
    if !fw_common::sizes::report(&mut Stdout, &mut Plain, storage) {
        eprintln!("host_sizes: a quantization failed or an output was not finite");
        std::process::exit(1);
    }
}
