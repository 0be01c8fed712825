//! `export --format rust`: the model as Rust source, a `static` built by a `const fn`, so
//! a firmware that `include!`s it keeps the weights in flash (`.rodata`) with no RAM copy
//! and no import code. Any stack of LSTM and GRU layers: the kernel's [`Tensors`] walk says
//! which tensors there are and where they go, and each layer's kind which constructor.
//!
//! The generated file defines (paths are absolute, so it can be `include!`d anywhere that
//! depends on `lstm-kernel`):
//! - `pub const IN`, `H` (the top layer's hidden units), `OUT`: the sizes; `LAYERS`;
//! - `pub type Rnn`: `::lstm_kernel::Lstm<IN, H>` (or `Gru<IN, H>`) for one layer, else right-nested
//!   `::lstm_kernel::Stack<Lstm<IN, H0>, Stack<Lstm<H0, H1>, .., H1>, H0>`;
//! - `pub static MODEL: ::lstm_kernel::Model<Rnn, IN, H, OUT>` (for one layer this is
//!   `LstmModel<IN, H, OUT>`), built by `const fn`s that start from `Lstm::zeroed` and
//!   `Dense::zeroed` (`Gru::zeroed` with the layer's variant) and assign whole tensors (no
//!   struct literals, so new kernel fields keep their `zeroed` defaults), one
//!   `const fn layer_k()` per layer with its activation and maths;
//! - with validation data: `pub const STEPS`, `pub const VAL_SEQUENCES`,
//!   `pub static VAL_X: [[[f32; IN]; STEPS]; VAL_SEQUENCES]` and
//!   `pub static VAL_Y: [f32; VAL_SEQUENCES]` (targets `0.0`/`1.0`).
//!
//! Floats are written with Rust's shortest round-trip formatting (`{:?}`), which rustc
//! parses back to the same `f32` bits, so the source is a bit-exact copy of the model.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use lstm_kernel::{HeadActivation, LayerKind};

use super::view::ModelView;

/// Validation sequences to embed: inputs `[n][steps][IN]` and targets `[n]`.
#[derive(Clone, Copy, Debug)]
pub struct ValData<'a, const IN: usize, const STEPS: usize> {
    /// Inputs, `[n][STEPS][IN]`.
    pub xs: &'a [[[f32; IN]; STEPS]],
    /// Targets, `[n]`.
    pub ys: &'a [f32],
}

/// Writes `values` as a Rust array literal on one line, e.g. `[0.5, -1e-7]` (shortest
/// round-trip decimals; a non-finite value is refused).
pub(crate) fn row(out: &mut String, values: &[f32]) -> Result<()> {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if !v.is_finite() {
            bail!("weight {v} is not finite: refusing to export");
        }
        if i > 0 {
            out.push_str(", ");
        }
        write!(out, "{v:?}")?;
    }
    out.push(']');
    Ok(())
}

/// Writes a `[rows][cols]` block (`values` row-major) with one row per line.
fn matrix(out: &mut String, values: &[f32], cols: usize, indent: &str) -> Result<()> {
    out.push_str("[\n");
    for r in values.chunks(cols) {
        out.push_str(indent);
        out.push_str("    ");
        row(out, r)?;
        out.push_str(",\n");
    }
    out.push_str(indent);
    out.push(']');
    Ok(())
}

/// `pub const HEAD` and, for a model with a scaling block, `pub static SCALING` and the
/// `predict_step` function that applies it around a step (module docs).
fn scaling_source<V: ModelView + ?Sized>(s: &mut String, model: &V) -> Result<()> {
    let head = model.head();
    let variant = match head {
        HeadActivation::Sigmoid => "Sigmoid",
        HeadActivation::Softmax => "Softmax",
        HeadActivation::Identity => "Identity",
        _ => "Unspecified",
    };
    writeln!(s)?;
    writeln!(
        s,
        "/// What [`MODEL`]'s outputs mean: apply it to the logits to report {}.",
        match head {
            HeadActivation::Sigmoid => "probabilities (one per output)",
            HeadActivation::Softmax => "class probabilities",
            HeadActivation::Identity => "values",
            _ => "them (unspecified: raw logits)",
        }
    )?;
    writeln!(
        s,
        "pub const HEAD: ::lstm_kernel::HeadActivation = ::lstm_kernel::HeadActivation::{variant};"
    )?;
    writeln!(
        s,
        "/// Whether [`MODEL`] forecasts first differences of one series (feed `v[t] - v[t-1]`, add `v[t]` to its outputs)."
    )?;
    writeln!(s, "pub const DIFFERENCED: bool = {};", model.differenced())?;
    let Some([mean, scale, out_scale, out_mean]) = model.scaling() else {
        return Ok(());
    };
    writeln!(s)?;
    writeln!(
        s,
        "/// The input normalisation and output de-normalisation learnt from the training data: feed"
    )?;
    writeln!(
        s,
        "/// `SCALING.input(&x)` to [`MODEL`] and report `SCALING.output(&z)` ([`predict_step`] does both)."
    )?;
    writeln!(
        s,
        "#[allow(clippy::excessive_precision, clippy::approx_constant)]"
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
        write!(s, "    {name}: ")?;
        row(s, v)?;
        s.push_str(",\n");
    }
    s.push_str("};\n\n");
    writeln!(
        s,
        "/// One step on raw inputs `x` (the data's units): normalise, step [`MODEL`] from `state`,"
    )?;
    writeln!(
        s,
        "/// de-normalise, apply [`HEAD`]. Returns what the host's `lstm-harness predict` writes."
    )?;
    let state = "state: &mut <Rnn as ::lstm_kernel::Recurrent<IN, H, f32>>::State";
    if model.differenced() {
        writeln!(
            s,
            "/// `diff` (one per stream, reset with the state) turns the raw value into the change the"
        )?;
        writeln!(
            s,
            "/// model sees, and the predicted change back into a value."
        )?;
        writeln!(
            s,
            "pub fn predict_step(x: &[f32; IN], {state}, diff: &mut ::lstm_kernel::Differencer) -> [f32; OUT] {{"
        )?;
        writeln!(s, "    let d = [diff.input(x[0])];")?;
        writeln!(
            s,
            "    let mut y = SCALING.output(&MODEL.step(&SCALING.input(&d), state));"
        )?;
        writeln!(s, "    HEAD.apply(&mut y);")?;
        writeln!(s, "    diff.output(&y)")?;
    } else {
        writeln!(
            s,
            "pub fn predict_step(x: &[f32; IN], {state}) -> [f32; OUT] {{"
        )?;
        writeln!(
            s,
            "    let mut y = SCALING.output(&MODEL.step(&SCALING.input(x), state));"
        )?;
        writeln!(s, "    HEAD.apply(&mut y);")?;
        writeln!(s, "    y")?;
    }
    s.push_str("}\n");
    Ok(())
}

/// The Rust source for `model` (see the module docs), with a header comment naming
/// `origin` (e.g. the file it was exported from) and, optionally, validation data.
///
/// # Errors
/// A weight or a validation value is not finite.
pub fn rust_source<V: ModelView + ?Sized, const IN: usize, const STEPS: usize>(
    model: &V,
    origin: &str,
    val: Option<ValData<'_, IN, STEPS>>,
) -> Result<String> {
    let (input, h, output) = (model.input(), model.hidden(), model.output());
    if val.is_some() && IN != input {
        bail!("validation data of {IN} inputs for a model of {input}");
    }
    let mut s = String::new();
    let origin = origin.replace('\n', " ");
    writeln!(
        s,
        "// Generated by `lstm-harness export --format rust` from {origin}."
    )?;
    writeln!(
        s,
        "// Do not edit: re-export instead. Weights are f32, shortest round-trip decimal (bit-exact)."
    )?;
    writeln!(
        s,
        "// Layout: lstm_kernel::LstmWeights per LSTM layer (w_ih [in][4][h], w_hh [h][4][h], b [4][h]; gates i, f, g, o),"
    )?;
    writeln!(
        s,
        "// lstm_kernel::GruWeights per GRU layer (w_ih [in][3][h], w_hh [h][3][h], b [3][h], b_hn [h]; gates r, z, n)"
    )?;
    writeln!(s, "// and lstm_kernel::Dense (w [OUT][H], b [OUT]).")?;
    writeln!(s)?;
    // Layer sizes from the walk: (input, hidden) of every layer's W_ih.
    let sizes = model.layer_sizes();
    let mut kinds = Vec::new();
    for k in 0..sizes.len() {
        let Some(kind) = model.kind(k) else {
            bail!("layer {k} has no cell kind");
        };
        kinds.push(kind);
    }
    let layer_type = |k: usize| {
        let (a, b) = sizes[k];
        match kinds[k] {
            LayerKind::Lstm => format!("::lstm_kernel::Lstm<{a}, {b}>"),
            LayerKind::Gru(_) => format!("::lstm_kernel::Gru<{a}, {b}>"),
        }
    };
    let mut rnn = layer_type(sizes.len() - 1);
    for k in (0..sizes.len() - 1).rev() {
        rnn = format!(
            "::lstm_kernel::Stack<{}, {rnn}, {}>",
            layer_type(k),
            sizes[k].1
        );
    }
    writeln!(s, "/// Inputs per step of [`MODEL`].")?;
    writeln!(s, "pub const IN: usize = {input};")?;
    writeln!(s, "/// Hidden units of [`MODEL`]'s top layer.")?;
    writeln!(s, "pub const H: usize = {h};")?;
    writeln!(s, "/// Outputs (logits) of [`MODEL`].")?;
    writeln!(s, "pub const OUT: usize = {output};")?;
    writeln!(s, "/// Recurrent layers of [`MODEL`].")?;
    writeln!(s, "pub const LAYERS: usize = {};", sizes.len())?;
    writeln!(s, "/// The recurrent layers' type (bottom layer first).")?;
    writeln!(s, "pub type Rnn = {rnn};")?;
    writeln!(s)?;
    writeln!(
        s,
        "/// The trained model: a `static` built at compile time, so its weights are in flash (`.rodata`)."
    )?;
    writeln!(
        s,
        "pub static MODEL: ::lstm_kernel::Model<Rnn, IN, H, OUT> = build_model();"
    )?;
    // One const fn per layer, from the walk's tensors (3 per LSTM layer, 4 per GRU layer),
    // then the head.
    let mut i = 0;
    for (k, &(a, b)) in sizes.iter().enumerate() {
        let Some(st) = model.settings(k) else {
            bail!("layer {k} has no settings");
        };
        writeln!(s)?;
        writeln!(
            s,
            "#[allow(clippy::excessive_precision, clippy::approx_constant)]"
        )?;
        writeln!(s, "const fn layer_{k}() -> {} {{", layer_type(k))?;
        let act = st.activation.variant();
        match kinds[k] {
            LayerKind::Lstm => writeln!(
                s,
                "    let mut l = ::lstm_kernel::Lstm::<{a}, {b}>::zeroed(::lstm_kernel::RecurrentActivation::{act});"
            )?,
            LayerKind::Gru(v) => writeln!(
                s,
                "    let mut l = ::lstm_kernel::Gru::<{a}, {b}>::zeroed(::lstm_kernel::GruVariant::{}, ::lstm_kernel::RecurrentActivation::{act});",
                v.variant()
            )?,
        }
        let gates = kinds[k].gates();
        writeln!(
            s,
            "    l.maths = ::lstm_kernel::Maths::{};",
            st.maths.variant()
        )?;
        for field in ["w_ih", "w_hh"] {
            writeln!(s, "    l.weights.{field} = [")?;
            for r in model.values(i).chunks(gates * b) {
                s.push_str("        ");
                matrix(&mut s, r, b, "        ")?;
                s.push_str(",\n");
            }
            s.push_str("    ];\n");
            i += 1;
        }
        s.push_str("    l.weights.b = ");
        matrix(&mut s, model.values(i), b, "    ")?;
        s.push_str(";\n");
        i += 1;
        if let LayerKind::Gru(_) = kinds[k] {
            s.push_str("    l.weights.b_hn = ");
            row(&mut s, model.values(i))?;
            s.push_str(";\n");
            i += 1;
        }
        s.push_str("    l\n}\n");
    }
    let mut nest = format!("layer_{}()", sizes.len() - 1);
    for k in (0..sizes.len() - 1).rev() {
        nest = format!("::lstm_kernel::Stack::new(layer_{k}(), {nest})");
    }
    writeln!(s)?;
    writeln!(
        s,
        "#[allow(clippy::excessive_precision, clippy::approx_constant)]"
    )?;
    writeln!(
        s,
        "const fn build_model() -> ::lstm_kernel::Model<Rnn, IN, H, OUT> {{"
    )?;
    writeln!(
        s,
        "    let mut head = ::lstm_kernel::Dense::<H, OUT>::zeroed();"
    )?;
    s.push_str("    head.w = ");
    matrix(&mut s, model.values(i), h, "    ")?;
    s.push_str(";\n    head.b = ");
    row(&mut s, model.values(i + 1))?;
    writeln!(s, ";")?;
    writeln!(s, "    ::lstm_kernel::Model::new({nest}, head)")?;
    s.push_str("}\n");
    scaling_source(&mut s, model)?;
    if let Some(v) = val {
        if v.xs.len() != v.ys.len() {
            bail!(
                "validation data: {} input sequences but {} targets",
                v.xs.len(),
                v.ys.len()
            );
        }
        let n = v.xs.len();
        writeln!(s)?;
        writeln!(s, "/// Steps per validation sequence.")?;
        writeln!(s, "pub const STEPS: usize = {STEPS};")?;
        writeln!(s, "/// Number of validation sequences.")?;
        writeln!(s, "pub const VAL_SEQUENCES: usize = {n};")?;
        writeln!(
            s,
            "/// Validation inputs, `[VAL_SEQUENCES][STEPS][IN]` (one line per sequence)."
        )?;
        writeln!(
            s,
            "pub static VAL_X: [[[f32; IN]; STEPS]; VAL_SEQUENCES] = ["
        )?;
        for seq in v.xs {
            s.push_str("    [");
            for (t, x) in seq.iter().enumerate() {
                if t > 0 {
                    s.push_str(", ");
                }
                row(&mut s, x)?;
            }
            s.push_str("],\n");
        }
        writeln!(s, "];")?;
        writeln!(s, "/// Validation targets, `[VAL_SEQUENCES]`.")?;
        s.push_str("pub static VAL_Y: [f32; VAL_SEQUENCES] = ");
        row(&mut s, v.ys)?;
        s.push_str(";\n");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lstm_kernel::Tensors;
    use lstm_kernel::{LstmModel, RecurrentActivation};

    fn sample() -> LstmModel<2, 3, 2> {
        let mut m = LstmModel::<2, 3, 2>::zeroed(RecurrentActivation::HardSigmoidKeras2);
        let mut i = 0_u32;
        for t in 0..<LstmModel<2, 3, 2> as Tensors<f32>>::COUNT {
            for v in m.tensor_mut(t) {
                // Values needing all 9 significant digits, tiny and huge exponents, -0.0.
                *v = match i % 4 {
                    0 => (i as f32 * 0.7).sin() / 3.0,
                    1 => 1e-30 * i as f32,
                    2 => -3.4e37 / (i as f32 + 1.0),
                    _ => -0.0,
                };
                i += 1;
            }
        }
        m
    }

    /// Every float literal between `build_model` and the end of the file, in order.
    fn literals(src: &str) -> Vec<f32> {
        let body = &src[src.find("const fn layer_0").unwrap()..];
        let body = &body[body.find('\n').unwrap()..];
        body.split(|c: char| !(c.is_ascii_alphanumeric() || "+-._".contains(c)))
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit() || c == '-'))
            .filter(|t| t.contains('.') || t.contains('e'))
            .map(|t| t.parse::<f32>().unwrap())
            .collect()
    }

    #[test]
    fn the_generated_source_holds_every_weight_bit_exactly_in_file_order() {
        let m = sample();
        let src = rust_source::<_, 2, 4>(&m, "test", None).unwrap();
        let got = literals(&src);
        let want: Vec<f32> = (0..<LstmModel<2, 3, 2> as Tensors<f32>>::COUNT)
            .flat_map(|t| m.tensor(t).to_vec())
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.to_bits(), w.to_bits(), "{g:?} vs {w:?}");
        }
        assert!(src.contains("HardSigmoidKeras2"));
        assert!(src.contains("pub static MODEL: ::lstm_kernel::Model<Rnn, IN, H, OUT>"));
        assert!(src.contains("pub type Rnn = ::lstm_kernel::Lstm<2, 3>;"));
    }

    #[test]
    fn validation_data_is_embedded_with_its_sizes() {
        let xs = [[[1.0_f32, 0.0]; 4], [[0.0, 0.5]; 4]];
        let ys = [1.0_f32, 0.0];
        let val = ValData { xs: &xs, ys: &ys };
        let src = rust_source::<_, 2, 4>(&sample(), "test", Some(val)).unwrap();
        assert!(src.contains("pub const STEPS: usize = 4;"));
        assert!(src.contains("pub const VAL_SEQUENCES: usize = 2;"));
        assert!(src.contains("    [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]],\n"));
        assert!(src.contains("pub static VAL_Y: [f32; VAL_SEQUENCES] = [1.0, 0.0];"));
    }

    #[test]
    fn a_model_with_a_nan_weight_is_not_exported_as_source() {
        let mut m = sample();
        m.rnn.weights.b[2][1] = f32::NAN;
        let e = rust_source::<_, 2, 4>(&m, "test", None).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
    }

    /// A 3-layer stack: every weight of the walk appears once, in walk order, bit for bit,
    /// each layer's settings are written, and the type nests the layers bottom first.
    #[test]
    fn a_stack_is_written_layer_by_layer_in_walk_order() {
        use lstm_kernel::{Dense, Lstm, Lstm3, Maths, Model, Stack};
        type Net = Model<Lstm3<2, 3, 4, 2>, 2, 2, 1>;
        let a = RecurrentActivation::Sigmoid;
        let mut m: Net = Model::new(
            Stack::new(
                Lstm::zeroed(a),
                Stack::new(Lstm::zeroed(a), Lstm::zeroed(a)),
            ),
            Dense::zeroed(),
        );
        m.rnn.upper.lower.maths = Maths::Fast;
        m.rnn.upper.upper.activation = RecurrentActivation::HardSigmoidKeras3;
        let mut i = 0_u32;
        for t in 0..<Net as Tensors<f32>>::COUNT {
            for v in m.tensor_mut(t) {
                *v = (i as f32 * 0.7).sin() / 3.0 + if i.is_multiple_of(5) { 1e-30 } else { 0.0 };
                i += 1;
            }
        }
        let src = rust_source::<_, 2, 4>(&m, "test", None).unwrap();
        let want: Vec<f32> = (0..<Net as Tensors<f32>>::COUNT)
            .flat_map(|t| m.tensor(t).to_vec())
            .collect();
        let got = literals(&src);
        assert_eq!(got.len(), want.len());
        assert!(
            got.iter()
                .zip(&want)
                .all(|(g, w)| g.to_bits() == w.to_bits())
        );
        assert!(src.contains(
            "pub type Rnn = ::lstm_kernel::Stack<::lstm_kernel::Lstm<2, 3>, ::lstm_kernel::Stack<::lstm_kernel::Lstm<3, 4>, ::lstm_kernel::Lstm<4, 2>, 4>, 3>;"
        ));
        assert!(src.contains("const fn layer_2() -> ::lstm_kernel::Lstm<4, 2>"));
        assert!(src.contains("l.maths = ::lstm_kernel::Maths::Fast;"));
        assert!(src.contains("RecurrentActivation::HardSigmoidKeras3"));
        assert!(src.contains(
            "::lstm_kernel::Model::new(::lstm_kernel::Stack::new(layer_0(), ::lstm_kernel::Stack::new(layer_1(), layer_2())), head)"
        ));
    }
}
