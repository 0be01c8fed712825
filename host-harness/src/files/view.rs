//! What a writer reads of a model ([`ModelView`]): its sizes, each layer's kind and
//! settings, its tensors in the kernel's [`Tensors`] walk order, and what the kernel's file
//! keeps beside the weights (head activation, scaling). Every [`Model`] is a view; so is a
//! model of the harness's size menu cut down to its true sizes ([`Trimmed`]), so the
//! writers (binary, safetensors, Rust source) serve both from one code path.

use lstm_kernel::{
    HeadActivation, LayerKind, LayerSettings, Model, Recurrent, TensorInfo, TensorKind, Tensors,
};

/// The scaling block as the writers take it: `[input_mean [IN], input_scale [IN],
/// output_scale [OUT], output_mean [OUT]]` ([`lstm_kernel::Scaling`]'s fields in file
/// order).
pub type ScalingParts = [Vec<f32>; 4];

/// A model as the writers see it (see the module docs).
pub trait ModelView {
    /// Inputs per step of layer 0 (`IN`).
    fn input(&self) -> usize;
    /// Outputs of the head (`OUT`).
    fn output(&self) -> usize;
    /// Recurrent layers.
    fn layer_count(&self) -> usize;
    /// The cell of layer `k` (bottom = 0).
    fn kind(&self, k: usize) -> Option<LayerKind>;
    /// The activation and maths of layer `k`.
    fn settings(&self, k: usize) -> Option<LayerSettings>;
    /// Number of tensors.
    fn count(&self) -> usize;
    /// Where tensor `i` sits and its shape.
    fn tensor_info(&self, i: usize) -> Option<TensorInfo>;
    /// Tensor `i`, flat, `tensor_info(i).len()` values.
    fn values(&self, i: usize) -> &[f32];
    /// What the head's outputs mean.
    fn head(&self) -> HeadActivation {
        HeadActivation::Unspecified
    }
    /// The input normalisation and output de-normalisation, if the model has one.
    fn scaling(&self) -> Option<&ScalingParts> {
        None
    }
    /// Whether the model forecasts first differences of one series
    /// ([`lstm_kernel::Differencer`]).
    fn differenced(&self) -> bool {
        false
    }
    /// `(input, hidden)` of every layer, bottom first, from each layer's `W_ih`.
    fn layer_sizes(&self) -> Vec<(usize, usize)> {
        (0..self.count())
            .filter_map(|i| self.tensor_info(i))
            .filter(|t| t.kind == TensorKind::InputWeights)
            .map(|t| (t.dims[0], t.dims[2]))
            .collect()
    }
    /// Hidden units of the top layer (the head's input).
    fn hidden(&self) -> usize {
        self.layer_sizes().last().map_or(0, |l| l.1)
    }
}

impl<R, const IN: usize, const H: usize, const OUT: usize> ModelView for Model<R, IN, H, OUT, f32>
where
    R: Recurrent<IN, H, f32>,
{
    fn input(&self) -> usize {
        IN
    }
    fn output(&self) -> usize {
        OUT
    }
    fn layer_count(&self) -> usize {
        R::LAYERS
    }
    fn kind(&self, k: usize) -> Option<LayerKind> {
        self.rnn.kind(k)
    }
    fn settings(&self, k: usize) -> Option<LayerSettings> {
        self.rnn.settings(k)
    }
    fn count(&self) -> usize {
        <Self as Tensors<f32>>::COUNT
    }
    fn tensor_info(&self, i: usize) -> Option<TensorInfo> {
        <Self as Tensors<f32>>::info(i)
    }
    fn values(&self, i: usize) -> &[f32] {
        Tensors::tensor(self, i)
    }
}

/// A model compiled at padded sizes seen at its true `input` and `output` (each at most
/// the padded size): layer 0's `W_ih` `[IN][G][H]` keeps its first `input` rows, the head's
/// `W` `[OUT][H]` and `b` `[OUT]` their first `output` rows. Both are prefixes of the
/// row-major storage, so the trimmed tensors are slices of the padded ones. The padded rows
/// are zero in every model the harness pads (zero inputs, and outputs that no loss reads
/// and so get no gradient).
pub struct Trimmed<'a, V: ?Sized> {
    /// The padded model.
    pub inner: &'a V,
    /// True inputs per step.
    pub input: usize,
    /// True outputs.
    pub output: usize,
    /// What the outputs mean.
    pub head: HeadActivation,
    /// The scaling, at the true sizes.
    pub scaling: Option<&'a ScalingParts>,
    /// Whether the model forecasts first differences.
    pub differenced: bool,
}

/// `info` at the true sizes `input`, `output` of a padded model's tensor (see [`Trimmed`]).
pub fn trimmed_info(mut t: TensorInfo, input: usize, output: usize) -> TensorInfo {
    match t.kind {
        TensorKind::InputWeights if t.layer == 0 => t.dims[0] = input.min(t.dims[0]),
        TensorKind::HeadWeights | TensorKind::HeadBias => t.dims[0] = output.min(t.dims[0]),
        _ => {}
    }
    t
}

impl<V: ModelView + ?Sized> ModelView for Trimmed<'_, V> {
    fn input(&self) -> usize {
        self.input
    }
    fn output(&self) -> usize {
        self.output
    }
    fn layer_count(&self) -> usize {
        self.inner.layer_count()
    }
    fn kind(&self, k: usize) -> Option<LayerKind> {
        self.inner.kind(k)
    }
    fn settings(&self, k: usize) -> Option<LayerSettings> {
        self.inner.settings(k)
    }
    fn count(&self) -> usize {
        self.inner.count()
    }
    fn tensor_info(&self, i: usize) -> Option<TensorInfo> {
        Some(trimmed_info(
            self.inner.tensor_info(i)?,
            self.input,
            self.output,
        ))
    }
    fn values(&self, i: usize) -> &[f32] {
        let all = self.inner.values(i);
        let n = self.tensor_info(i).map_or(0, |t| t.len());
        all.get(..n).unwrap_or(all)
    }
    fn head(&self) -> HeadActivation {
        self.head
    }
    fn scaling(&self) -> Option<&ScalingParts> {
        self.scaling
    }
    fn differenced(&self) -> bool {
        self.differenced
    }
}

/// The scaling block's values (`input_mean [features]`, `input_scale [features]`,
/// `output_scale [outputs]`, `output_mean [outputs]`, as a model file stores them) as parts.
/// Values past those are ignored; missing ones leave their parts short (the file readers
/// check the block's length first).
pub fn scaling_parts(
    values: impl Iterator<Item = f32>,
    features: usize,
    outputs: usize,
) -> ScalingParts {
    let v: Vec<f32> = values.collect();
    let mut at = 0;
    [features, features, outputs, outputs].map(|n| {
        let part = v.get(at..at + n).unwrap_or(&[]).to_vec();
        at += n;
        part
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lstm_kernel::{LstmModel, RecurrentActivation};

    #[test]
    fn a_trimmed_view_keeps_the_leading_rows_of_the_input_weights_and_the_head() {
        let mut m = LstmModel::<4, 2, 3>::zeroed(RecurrentActivation::Sigmoid);
        for t in 0..<LstmModel<4, 2, 3> as Tensors<f32>>::COUNT {
            for (j, v) in Tensors::tensor_mut(&mut m, t).iter_mut().enumerate() {
                *v = (100 * t + j) as f32;
            }
        }
        let v = Trimmed {
            inner: &m,
            input: 1,
            output: 2,
            head: HeadActivation::Softmax,
            scaling: None,
            differenced: false,
        };
        assert_eq!((v.input(), v.output(), v.hidden()), (1, 2, 2));
        assert_eq!(v.tensor_info(0).unwrap().dims, [1, 4, 2]);
        assert_eq!(v.values(0), &m.rnn.weights.w_ih[0].concat()[..]);
        assert_eq!(v.values(1).len(), 2 * 4 * 2);
        assert_eq!(v.values(3), &[m.head.w[0], m.head.w[1]].concat()[..]);
        assert_eq!(v.values(4), &m.head.b[..2]);
        assert_eq!(v.layer_sizes(), [(1, 2)]);
    }
}
