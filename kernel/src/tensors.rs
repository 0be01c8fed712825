//! The one source of truth for a model's parameters: a walk over its tensors, each with a
//! name, a shape and a layout convention ([`TensorInfo`]). The optimizers, the binary model
//! file ([`crate::io`]), the harness's safetensors import/export and its Rust-source
//! exporter all read the parameters through [`Tensors`]; a layer kind implements the walk
//! once.
//!
//! Layer: bottom (it imports nothing from the crate); implemented by the weight types
//! ([`crate::LstmWeights`], [`crate::Dense`]) and composed by the layers and the model.

/// What a tensor is, and so its layout (row-major, the kernel's storage order). `G` is the
/// number of gates of the layer's cell (4 for the LSTM: i, f, g, o in PyTorch's order,
/// Keras' i, f, c, o being the same; 3 for the GRU: r, z, n in PyTorch's order, Keras
/// storing z, r, h), `IN` the layer's inputs, `H` its hidden units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TensorKind {
    /// `W_ih`, `[IN][G][H]`: flattened, Keras' `kernel` `[IN, G·H]`; PyTorch's
    /// `weight_ih_l{k}` `[G·H, IN]` is its transpose.
    InputWeights,
    /// `W_hh`, `[H][G][H]`: Keras' `recurrent_kernel` `[H, G·H]`; PyTorch's
    /// `weight_hh_l{k}` `[G·H, H]` is its transpose.
    RecurrentWeights,
    /// The gate bias `[G][H]`: for the LSTM one bias, Keras' `bias` = PyTorch's
    /// `bias_ih_l{k} + bias_hh_l{k}`; for the GRU the input bias with the recurrent bias of
    /// the r and z gates folded in (`b_ir + b_hr`, `b_iz + b_hz`, `b_in`).
    Bias,
    /// The part of the recurrent bias that cannot be folded into [`Self::Bias`]: the GRU's
    /// `b_hn` `[H]` (PyTorch `bias_hh_l{k}[2H..3H]`, Keras `bias[1][2H..3H]`), which sits
    /// inside `r ⊙ (W_hn h + b_hn)`. Stored as `[1, H, 1]`.
    RecurrentBias,
    /// The dense head's weight `[OUT][H]` (PyTorch `Linear.weight`; Keras' `Dense.kernel`
    /// `[H, OUT]` is its transpose).
    HeadWeights,
    /// The dense head's bias `[OUT]`.
    HeadBias,
}

impl TensorKind {
    /// The tensor's short name, unique within a layer: `w_ih`, `w_hh`, `b`, `b_hn`, `w`,
    /// `b` (head). Field names of the kernel's structs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::InputWeights => "w_ih",
            Self::RecurrentWeights => "w_hh",
            Self::Bias => "b",
            Self::RecurrentBias => "b_hn",
            Self::HeadWeights => "w",
            Self::HeadBias => "b",
        }
    }

    /// Whether the tensor belongs to the dense head (else to a recurrent layer).
    pub const fn is_head(self) -> bool {
        matches!(self, Self::HeadWeights | Self::HeadBias)
    }
}

/// One tensor of a walk: where it sits and its storage shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TensorInfo {
    /// Index of the recurrent layer it belongs to (0 = the bottom layer, fed by `x_t`); the
    /// head's tensors carry the number of recurrent layers.
    pub layer: usize,
    /// What the tensor is (its layout follows).
    pub kind: TensorKind,
    /// Storage shape, row-major, outermost first, padded with trailing 1s: `[IN, G, H]`,
    /// `[H, G, H]`, `[G, H, 1]`, `[1, H, 1]` (GRU `b_hn`), `[OUT, H, 1]`, `[OUT, 1, 1]`.
    pub dims: [usize; 3],
}

impl TensorInfo {
    /// Number of elements (`dims` multiplied).
    pub const fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// True if the tensor has no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same tensor shifted `layers` recurrent layers up (how a stack numbers the layers
    /// of its upper part).
    pub const fn shifted(mut self, layers: usize) -> Self {
        self.layer += layers;
        self
    }
}

/// Tensor `j` of one recurrent layer at run-time sizes (`layer: 0`): `W_ih` `[input, G,
/// hidden]`, `W_hh` `[hidden, G, hidden]`, `b` `[G, hidden, 1]`, then, when
/// `recurrent_bias` (the GRU), `b_hn` `[1, hidden, 1]`; `None` past the last. The walk of
/// [`crate::LstmWeights`] (`G = 4`) and [`crate::GruWeights`] (`G = 3`, `b_hn`) is this
/// function at their const sizes, so a host tool that knows sizes only at run time (an
/// importer writing a model file) walks the same tensors in the same order.
pub const fn layer_tensor(
    j: usize,
    gates: usize,
    input: usize,
    hidden: usize,
    recurrent_bias: bool,
) -> Option<TensorInfo> {
    let (kind, dims) = match j {
        0 => (TensorKind::InputWeights, [input, gates, hidden]),
        1 => (TensorKind::RecurrentWeights, [hidden, gates, hidden]),
        2 => (TensorKind::Bias, [gates, hidden, 1]),
        3 if recurrent_bias => (TensorKind::RecurrentBias, [1, hidden, 1]),
        _ => return None,
    };
    Some(TensorInfo {
        layer: 0,
        kind,
        dims,
    })
}

/// Tensor `j` of the dense head at run-time sizes (`layer: 0`): `W` `[output, hidden, 1]`,
/// `b` `[output, 1, 1]`; `None` past the last. [`crate::Dense`]'s walk is this function at
/// its const sizes.
pub const fn head_tensor(j: usize, hidden: usize, output: usize) -> Option<TensorInfo> {
    let (kind, dims) = match j {
        0 => (TensorKind::HeadWeights, [output, hidden, 1]),
        1 => (TensorKind::HeadBias, [output, 1, 1]),
        _ => return None,
    };
    Some(TensorInfo {
        layer: 0,
        kind,
        dims,
    })
}

/// A fixed set of flat tensors (parameters, gradients or optimizer moments), walked by
/// index. Two values of the same type list the same tensors in the same order.
pub trait Tensors<F> {
    /// The type holding this type's gradients (and optimizer moments): the same tensors,
    /// same order, same lengths (`Grads` for a [`crate::Model`], the weights themselves for
    /// a layer's weights). Optimizers require it, so parameters can only be stepped with
    /// gradients of their own shape: a mismatch is a compile error, not a silent wrong
    /// update. [`Default`] is the all-zero value; plain data (`Send + Sync`), so a host may
    /// compute gradients on threads.
    type Grads: Tensors<F> + Default + Clone + Send + Sync;
    /// Number of tensors.
    const COUNT: usize;
    /// Number of recurrent layers the tensors cover (0 for a head alone).
    const LAYERS: usize;
    /// Where tensor `i` sits and its shape; `None` for `i >= COUNT`.
    fn info(i: usize) -> Option<TensorInfo>;
    /// Tensor `i` as a flat slice (empty for `i >= COUNT`).
    fn tensor(&self, i: usize) -> &[F];
    /// Tensor `i` as a mutable flat slice (empty for `i >= COUNT`).
    fn tensor_mut(&mut self, i: usize) -> &mut [F];

    /// Total number of scalars over every tensor.
    fn param_count() -> usize {
        (0..Self::COUNT)
            .map(|i| Self::info(i).map_or(0, |t| t.len()))
            .sum()
    }
}
