//! `export --format rust` of an int8 model file: the [`lstm_kernel::quant::QModel`] as Rust
//! source, a `static` built by `const` expressions, so a firmware that `include!`s it keeps
//! the int8 weights in flash (`.rodata`) with no RAM copy, no float and no import code.
//!
//! The generated file defines (paths absolute, so it can be `include!`d anywhere that
//! depends on `lstm-kernel`):
//! - `pub const IN`, `H` (the top layer's hidden units), `OUT`, `LAYERS`;
//! - `pub type Rnn`: `::lstm_kernel::quant::QLstm<IN, H>` (or `QGru`) for one layer, else
//!   right-nested `::lstm_kernel::Stack<QLstm<IN, H0>, Stack<.., H1>, H0>`, as the f32
//!   source nests its layers ([`super::rust_src`]);
//! - `pub static MODEL: ::lstm_kernel::quant::QModel<Rnn, IN, H, OUT>`, one `const fn
//!   layer_k()` per layer that starts from the layer's `zeroed()` and assigns its rows, cell
//!   format (or GRU variant) and activation;
//! - `pub const HEAD` and `pub const DIFFERENCED`, and with a normalisation block `pub static
//!   SCALING` and `pub fn predict_step`, which normalises, quantizes the inputs, steps
//!   [`MODEL`], converts the Q19.12 outputs and de-normalises: what `predict` writes for the
//!   int8 file.
//!
//! Integers are written as they are stored, the input scales and the normalisation with
//! Rust's shortest round-trip float formatting: the source is a bit-exact copy of the file
//! (tested: `kernel/tests/kernel/quant_source.rs` compiles a generated file and compares it
//! with the file it came from).

use std::fmt::Write as _;

use anyhow::{Result, bail};
use lstm_kernel::quant::{QLayer, QRows};
use lstm_kernel::{GruVariant, HeadActivation, LayerKind};

use crate::files::view::ScalingParts;

/// What the writer needs of an int8 model, at its true sizes.
#[derive(Clone, Copy, Debug)]
pub struct QSource<'a> {
    /// Inputs of layer 0 (the file's `IN`; layer 0's rows may be wider: the rest is zero).
    pub input: usize,
    /// Head outputs (the head's rows may be more: the rest is zero).
    pub output: usize,
    /// Each layer's view, bottom first.
    pub layers: &'a [QLayer<'a>],
    /// The head's rows.
    pub head_rows: QRows<'a>,
    /// Input scales, at least `input` of them.
    pub input_scale: &'a [f32],
    /// What the outputs mean.
    pub head: HeadActivation,
    /// The normalisation, if any.
    pub scaling: Option<&'a ScalingParts>,
    /// Whether the model forecasts first differences.
    pub differenced: bool,
}

/// A `[rows][width]` block of a rows view's first `rows` rows, each cut to `width`, with one
/// row per line; or, with `gates`, `[gates][rows / gates][width]`.
fn weights(s: &mut String, rows: &QRows<'_>, n: usize, width: usize, gates: usize) -> Result<()> {
    let per_gate = n / gates;
    s.push('[');
    for g in 0..gates {
        s.push_str("\n        [");
        for u in 0..per_gate {
            let r = g * per_gate + u;
            let Some(q) = rows.q.get(r * rows.inputs..r * rows.inputs + width) else {
                bail!("row {r} is shorter than {width}");
            };
            s.push_str("\n            [");
            for (i, w) in q.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write!(s, "{w}")?;
            }
            s.push_str("],");
        }
        s.push_str("\n        ],");
    }
    s.push_str("\n    ]");
    Ok(())
}

/// `[[m(..), ..], ..]` and `[[bias, ..], ..]` of the first `n` rows in `gates` groups.
fn per_row(rows: &QRows<'_>, n: usize, gates: usize) -> Result<(String, String)> {
    let per_gate = n / gates;
    let (mut m, mut b) = (String::from("["), String::from("["));
    for g in 0..gates {
        m.push_str("\n        [");
        b.push_str("\n        [");
        for u in 0..per_gate {
            let r = g * per_gate + u;
            let (Some(mul), Some(bias)) = (rows.m.get(r), rows.bias.get(r)) else {
                bail!("row {r} is missing");
            };
            if u > 0 {
                m.push_str(", ");
                b.push_str(", ");
            }
            write!(m, "mult({}, {})", mul.m, mul.shift)?;
            write!(b, "{bias}")?;
        }
        m.push_str("],");
        b.push_str("],");
    }
    m.push_str("\n    ]");
    b.push_str("\n    ]");
    Ok((m, b))
}

/// `::lstm_kernel::quant::QLinear { q, m, bias }` of `n` rows in `gates` groups, `width`
/// weights each.
fn linear(rows: &QRows<'_>, n: usize, width: usize, gates: usize) -> Result<String> {
    let mut s = String::from("::lstm_kernel::quant::QLinear {\n    q: ");
    weights(&mut s, rows, n, width, gates)?;
    let (m, b) = per_row(rows, n, gates)?;
    write!(s, ",\n    m: {m},\n    bias: {b},\n}}")?;
    Ok(s)
}

/// `values` as a one-line array literal ([`super::rust_src::row`]).
fn floats(values: &[f32]) -> Result<String> {
    let mut s = String::new();
    super::rust_src::row(&mut s, values)?;
    Ok(s)
}

/// The layer type of layer `k` of inputs `input` and `hidden` units.
fn layer_type(kind: LayerKind, input: usize, hidden: usize) -> String {
    match kind {
        LayerKind::Lstm => format!("::lstm_kernel::quant::QLstm<{input}, {hidden}>"),
        LayerKind::Gru(_) => format!("::lstm_kernel::quant::QGru<{input}, {hidden}>"),
    }
}

/// The Rust source of `model` (module docs), with a header comment naming `origin`.
///
/// # Errors
/// No layers, a row view shorter than the sizes, or a non-finite scale.
pub fn qrust_source(model: &QSource<'_>, origin: &str) -> Result<String> {
    let n = model.layers.len();
    let Some(top) = model.layers.last() else {
        bail!("a model without layers");
    };
    let (input, output, hidden) = (model.input, model.output, top.h.inputs);
    let mut s = String::new();
    let origin = origin.replace('\n', " ");
    writeln!(
        s,
        "// Generated by `lstm-harness export --format rust` from {origin} (an int8 model file)."
    )?;
    writeln!(
        s,
        "// Do not edit: re-export instead. int8 weights, i32 biases and multipliers as stored (bit-exact)."
    )?;
    s.push('\n');
    writeln!(s, "/// Inputs per step.\npub const IN: usize = {input};")?;
    writeln!(
        s,
        "/// Hidden units of the top layer.\npub const H: usize = {hidden};"
    )?;
    writeln!(
        s,
        "/// Head outputs (Q19.12 logits).\npub const OUT: usize = {output};"
    )?;
    writeln!(s, "/// Recurrent layers.\npub const LAYERS: usize = {n};\n")?;
    // Each layer's (input, hidden) and type.
    let mut dims = Vec::with_capacity(n);
    let mut below = input;
    for l in model.layers {
        dims.push((below, l.h.inputs));
        below = l.h.inputs;
    }
    let types: Vec<String> = model
        .layers
        .iter()
        .zip(&dims)
        .map(|(l, &(i, h))| layer_type(l.kind, i, h))
        .collect();
    // Right-nested stack type: Stack<L0, Stack<L1, L2, H1>, H0>.
    let mut rnn_type = types[n - 1].clone();
    let mut rnn_expr = format!("layer_{}()", n - 1);
    for k in (0..n - 1).rev() {
        rnn_type = format!(
            "::lstm_kernel::Stack<{}, {rnn_type}, {}>",
            types[k], dims[k].1
        );
        rnn_expr = format!("::lstm_kernel::Stack::new(layer_{k}(), {rnn_expr})");
    }
    writeln!(
        s,
        "/// The integer recurrent layers, bottom first.\npub type Rnn = {rnn_type};\n"
    )?;
    writeln!(
        s,
        "/// The int8 model: `MODEL.step(&MODEL.quantize_input(&x)?, &mut state)` gives Q19.12 outputs."
    )?;
    writeln!(
        s,
        "pub static MODEL: ::lstm_kernel::quant::QModel<Rnn, IN, H, OUT> = ::lstm_kernel::quant::QModel {{"
    )?;
    writeln!(s, "    rnn: {rnn_expr},")?;
    let head = linear(&model.head_rows, output, hidden, 1)?;
    writeln!(s, "    head: {},", head.replace('\n', "\n    "))?;
    let Some(scales) = model.input_scale.get(..input) else {
        bail!("fewer input scales than inputs");
    };
    writeln!(s, "    input_scale: {},", floats(scales)?)?;
    writeln!(s, "}};\n")?;
    writeln!(
        s,
        "const fn mult(m: i32, shift: u8) -> ::lstm_kernel::quant::Multiplier {{\n    ::lstm_kernel::quant::Multiplier {{ m, shift }}\n}}\n"
    )?;
    for (k, (l, &(i, h))) in model.layers.iter().zip(&dims).enumerate() {
        let g = l.kind.gates();
        let width = i;
        let x = linear(&l.x, g * h, width, g)?;
        let hh = linear(&l.h, g * h, h, g)?;
        writeln!(s, "const fn layer_{k}() -> {} {{", types[k])?;
        let zero = match l.kind {
            LayerKind::Lstm => "::lstm_kernel::quant::QLstm::zeroed()",
            LayerKind::Gru(_) => "::lstm_kernel::quant::QGru::zeroed()",
        };
        writeln!(s, "    let mut l = {zero};")?;
        writeln!(s, "    l.x = {};", x.replace('\n', "\n    "))?;
        writeln!(s, "    l.h = {};", hh.replace('\n', "\n    "))?;
        match (l.kind, l.cell) {
            (LayerKind::Lstm, Some(c)) => writeln!(
                s,
                "    l.cell = match ::lstm_kernel::quant::CellFormat::new({}) {{\n        Some(c) => c,\n        None => panic!(\"cell format\"),\n    }};",
                c.frac()
            )?,
            (LayerKind::Gru(v), _) => writeln!(
                s,
                "    l.variant = ::lstm_kernel::GruVariant::{};",
                match v {
                    GruVariant::ResetAfter => "ResetAfter",
                    GruVariant::ResetBefore => "ResetBefore",
                }
            )?,
            (LayerKind::Lstm, None) => bail!("layer {k}: an LSTM without a cell format"),
        }
        writeln!(
            s,
            "    l.activation = ::lstm_kernel::RecurrentActivation::{:?};",
            l.activation
        )?;
        writeln!(s, "    l\n}}\n")?;
    }
    pipeline(&mut s, model)?;
    Ok(s)
}

/// `HEAD`, `DIFFERENCED` and, with a normalisation, `SCALING` and `predict_step`.
fn pipeline(s: &mut String, model: &QSource<'_>) -> Result<()> {
    let variant = match model.head {
        HeadActivation::Sigmoid => "Sigmoid",
        HeadActivation::Softmax => "Softmax",
        HeadActivation::Identity => "Identity",
        _ => "Unspecified",
    };
    writeln!(
        s,
        "/// What [`MODEL`]'s outputs mean (apply it to `QModel::output_value` of each).\npub const HEAD: ::lstm_kernel::HeadActivation = ::lstm_kernel::HeadActivation::{variant};"
    )?;
    writeln!(
        s,
        "/// Whether [`MODEL`] forecasts first differences of one series.\npub const DIFFERENCED: bool = {};",
        model.differenced
    )?;
    let Some([mean, scale, out_scale, out_mean]) = model.scaling else {
        return Ok(());
    };
    writeln!(
        s,
        "\n/// The input normalisation and output de-normalisation learnt from the training data."
    )?;
    writeln!(
        s,
        "pub static SCALING: ::lstm_kernel::Scaling<IN, OUT> = ::lstm_kernel::Scaling {{"
    )?;
    for (name, v) in [
        ("input_mean", mean),
        ("input_scale", scale),
        ("output_scale", out_scale),
        ("output_mean", out_mean),
    ] {
        writeln!(s, "    {name}: {},", floats(v)?)?;
    }
    writeln!(s, "}};\n")?;
    let state = "state: &mut <Rnn as ::lstm_kernel::quant::QRecurrent<IN, H>>::State";
    writeln!(
        s,
        "/// One step on raw inputs `x`: normalise, quantize, step [`MODEL`] from `state`, convert the\n/// outputs, de-normalise, apply [`HEAD`] (what `lstm-harness predict` writes for the int8\n/// file). `None` for a NaN or infinite input."
    )?;
    let (args, first) = if model.differenced {
        (
            format!("x: &[f32; IN], {state}, diff: &mut ::lstm_kernel::Differencer"),
            "    let x = &[diff.input(x[0])];\n",
        )
    } else {
        (format!("x: &[f32; IN], {state}"), "")
    };
    writeln!(s, "pub fn predict_step({args}) -> Option<[f32; OUT]> {{")?;
    s.push_str(first);
    writeln!(s, "    let q = MODEL.quantize_input(&SCALING.input(x))?;")?;
    writeln!(
        s,
        "    let z = MODEL.step(&q, state).map(::lstm_kernel::quant::QModel::<Rnn, IN, H, OUT>::output_value);"
    )?;
    writeln!(s, "    let mut y = SCALING.output(&z);")?;
    writeln!(s, "    HEAD.apply(&mut y);")?;
    if model.differenced {
        writeln!(s, "    Some(diff.output(&y))")?;
    } else {
        writeln!(s, "    Some(y)")?;
    }
    writeln!(s, "}}")?;
    Ok(())
}
