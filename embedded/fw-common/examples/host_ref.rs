//! Host reference for the `infer`, `infer-stack` and `infer-gru` firmware: the same
//! validation over the same embedded models and data, with the same step functions
//! (`fw_common::variants`), printing the same `infer ...` (post's model), `stack2 ...`
//! (2-layer model) and `gru ...` (GRU model) lines. CI compares them with the firmware's.
//!
//! On the host the `Simd` kernels run on SSE2 `wide` vectors; on Cortex-M `wide` falls back
//! to plain `[f32; 4]` arrays. Both do the same IEEE single-precision operations in the same
//! order (no FMA: `wide` fuses only with the `fma` target feature, which a plain x86-64
//! build lacks, and rustc never contracts `a * b + c`), and `libm` is the same Rust code,
//! so the outputs are expected to be bit-identical.
use fw_common::report::{Sink, validation_report};
use fw_common::trained::{MODEL, MODEL_FAST, VAL_X, VAL_Y};
use fw_common::variants::{GRU_VARIANTS, STACKED_VARIANTS, VARIANTS};
use fw_common::{trained_gru, trained_stack};

struct Stdout;

impl Sink for Stdout {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        println!("{args}");
    }
}

fn main() {
    for (name, fast, step) in VARIANTS {
        let model = if fast { &MODEL_FAST } else { &MODEL };
        let tag = format!("infer {name}");
        validation_report(&mut Stdout, &tag, &VAL_X, &VAL_Y, |x, s| step(model, x, s));
    }
    for (name, fast, step) in STACKED_VARIANTS {
        let model = if fast {
            &trained_stack::MODEL_FAST
        } else {
            &trained_stack::MODEL
        };
        let tag = format!("stack2 {name}");
        let (xs, ys) = (&trained_stack::VAL_X, &trained_stack::VAL_Y);
        validation_report(&mut Stdout, &tag, xs, ys, |x, s| step(model, x, s));
    }
    for (name, fast, step) in GRU_VARIANTS {
        let model = if fast {
            &trained_gru::MODEL_FAST
        } else {
            &trained_gru::MODEL
        };
        let tag = format!("gru {name}");
        let (xs, ys) = (&trained_gru::VAL_X, &trained_gru::VAL_Y);
        validation_report(&mut Stdout, &tag, xs, ys, |x, s| step(model, x, s));
    }
}
