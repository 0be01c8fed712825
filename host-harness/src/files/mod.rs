//! Model files: the kernel's binary format ([`binfile`]), safetensors with PyTorch or Keras
//! names ([`safetensors`], names as found mapped by [`names`]), PyTorch state dicts as
//! `torch.save` writes them ([`torch`]), Keras `.keras`, `.weights.h5` and legacy `.h5`
//! files ([`keras`]) and ONNX graphs of `LSTM`/`GRU` operators ([`onnx`]) (all three read
//! only), generated Rust source ([`rust_src`]), plus the one reader every command uses
//! ([`read_bin`]: any of these formats as the kernel's binary model file) and saving that
//! never loses or half-writes a user's file.

pub mod binfile;
pub mod keras;
pub mod names;
pub mod onnx;
pub mod rust_src;
pub mod rust_src_int8;
pub mod safetensors;
pub mod torch;
pub mod view;

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;

use crate::fsutil::{write_atomic, write_new};
use crate::model::HarnessModel;
use lstm_kernel::io::LayerEntry;

/// A model file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The kernel's binary format (`lstm_kernel::io`; extension `.bin`).
    Bin,
    /// safetensors with PyTorch names (extension `.safetensors`).
    Safetensors,
    /// safetensors with Keras names (`lstm.kernel` or `gru.kernel`, ..., `dense.bias`;
    /// export only: on import the layout is detected from the names).
    SafetensorsKeras,
    /// Rust source defining a `static MODEL` (extension `.rs`; export only).
    Rust,
}

/// The format of a model file's bytes: [`Format::Bin`] if they start with the kernel's
/// magic, [`Format::Safetensors`] if they parse as a safetensors header (8-byte
/// little-endian length, then a JSON object); otherwise by the extension of `path`.
///
/// # Errors
/// Neither the content nor the extension tells.
pub fn detect(path: &Path, bytes: &[u8]) -> Result<Format> {
    if bytes.starts_with(&lstm_kernel::io::MAGIC) {
        return Ok(Format::Bin);
    }
    if bytes.len() >= 9 && bytes[8] == b'{' {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
        if n >= 2 && n <= (bytes.len() - 8) as u64 {
            return Ok(Format::Safetensors);
        }
    }
    match Format::from_extension(path) {
        Some(f @ (Format::Bin | Format::Safetensors)) => Ok(f),
        _ => bail!(
            "{}: not a model file this tool reads (a binary model file, magic \\x89LSTM; \
             safetensors; a PyTorch torch.save state dict; a Keras .keras or .weights.h5; an ONNX .onnx)",
            path.display()
        ),
    }
}

impl Format {
    /// The format an output path's extension names: `.bin`, `.safetensors` (PyTorch names)
    /// or `.rs`; `None` for any other (Keras names have no extension of their own).
    pub fn from_extension(path: &Path) -> Option<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("bin") => Some(Self::Bin),
            Some("safetensors") => Some(Self::Safetensors),
            Some("rs") => Some(Self::Rust),
            _ => None,
        }
    }
}

/// The largest model file [`load`] reads: the post's model is about 2-3 KB in either
/// format, so anything beyond 16 MiB is not one (and `/dev/zero` is never read to the end).
pub const MAX_MODEL_FILE_BYTES: u64 = 16 << 20;

/// Reads at most `limit` bytes of `path` (a regular file, a pipe or a device alike).
///
/// # Errors
/// The file cannot be opened or read, or holds more than `limit` bytes (the message names
/// the file and the limit).
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{} is larger than {limit} bytes, the limit for a model file; refusing to read it",
            path.display()
        );
    }
    Ok(bytes)
}

/// What a model file was before [`read_bin`] made it the kernel's binary model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The kernel's binary model file, read as it is.
    Bin,
    /// safetensors, with the names of this layout (after [`names::map`]).
    Safetensors(safetensors::Layout),
    /// A PyTorch `torch.save` state dict (zip + pickle, [`torch`]), with the names of this
    /// layout (after [`names::map`]).
    Torch(safetensors::Layout),
    /// A Keras 3 `.keras` archive (config and weights, [`keras`]).
    Keras,
    /// A Keras weights file: Keras 3's `.weights.h5`, or Keras 2's legacy `save_weights`
    /// HDF5 (weights only, [`keras`]).
    KerasWeights,
    /// Keras HDF5 weights with the model's config: the legacy whole-model layout
    /// (`model.save("m.h5")`: Keras 2, or Keras 3 given an `.h5` name), or a weights file
    /// given `--config` ([`keras`]).
    KerasH5,
    /// An ONNX graph of `LSTM`/`GRU` operators and a dense head ([`onnx`]).
    Onnx,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layout = |l| match l {
            safetensors::Layout::Torch => "PyTorch names",
            safetensors::Layout::Keras => "Keras names",
        };
        match self {
            Self::Bin => write!(f, "binary model file"),
            Self::Safetensors(l) => write!(f, "safetensors, {}", layout(*l)),
            Self::Torch(safetensors::Layout::Torch) => write!(f, "PyTorch torch.save state dict"),
            Self::Torch(l) => write!(f, "PyTorch torch.save state dict, {}", layout(*l)),
            Self::Keras => write!(f, "Keras .keras archive"),
            Self::KerasWeights => write!(f, "Keras weights file (no architecture config)"),
            Self::KerasH5 => write!(f, "Keras HDF5 weights with their model config"),
            Self::Onnx => write!(f, "ONNX graph"),
        }
    }
}

/// How [`read_bin`] reads a safetensors or PyTorch file (a binary model file states
/// everything itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Tensor renames applied before the name mapping ([`names::map`]).
    pub renames: Vec<names::Rename>,
    /// The recurrent activation of the layers whose activation the file does not give
    /// (`None`: the sigmoid, with a warning note).
    pub activation: Option<lstm_kernel::RecurrentActivation>,
    /// A Keras model config (JSON) giving a Keras weights file its architecture
    /// ([`keras::weights_with_config`]); refused for any other format.
    pub config: Option<std::path::PathBuf>,
}

/// A model file read as the kernel's binary model file ([`read_bin`]).
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The bytes of the kernel's binary model file (version 3 for a converted file; a
    /// binary file's own bytes as they are).
    pub bin: Vec<u8>,
    /// What the file was.
    pub source: Source,
    /// What the reading assumed (an activation the file does not give) or left out (a
    /// Keras model's dropout), one line each.
    pub warnings: Vec<String>,
    /// What the name mapping did ([`names::Mapped::notes`]: tensors renamed, zero biases
    /// added), one line each; empty for a binary file and for this tool's own exports.
    pub mapped: Vec<String>,
}

impl ModelFile {
    /// Prints the warnings to stderr, each after `path`, and how many names were mapped
    /// (what a command that loads a model reports; `inspect` lists them all instead).
    pub fn print_notes(&self, path: &Path) {
        for w in &self.warnings {
            eprintln!("{}: {w}", path.display());
        }
        if !self.mapped.is_empty() {
            eprintln!(
                "{}: {} tensor name(s) mapped to this tool's by role and shape (`lstm-harness \
                 inspect` lists them)",
                path.display(),
                self.mapped.len()
            );
        }
    }
}

/// The model file at `path` (at most [`MAX_MODEL_FILE_BYTES`]) as the kernel's binary model
/// file, at the file's own sizes: a binary file as it is; safetensors and PyTorch
/// `torch.save` state dicts (`.pt`, `.pth`, [`torch::to_safetensors`]) through the name
/// mapping ([`names::map`], `options.renames` first) and the safetensors reader
/// ([`safetensors::to_bin`], `options.activation` for layers whose file does not say).
/// Every command reads models through this function, so every format serves every command.
///
/// # Errors
/// As [`read_limited`] and [`detect`]; a PyTorch file that is not a float32 state dict; the
/// refusals of [`names::map`] and [`safetensors::to_bin`]; a binary file that does not parse
/// (`lstm_kernel::io::parse`), or is given an activation to assume (it states its own). The
/// message names the file.
pub fn read_bin(path: &Path, options: &ReadOptions) -> Result<ModelFile> {
    let bytes = read_limited(path, MAX_MODEL_FILE_BYTES)?;
    let mut warnings = Vec::new();
    if options.config.is_some() && !keras::is_hdf5(&bytes) {
        bail!(
            "{}: --config gives a Keras weights file (.weights.h5, or Keras 2's weights-only \
             .h5) its architecture; this file is not an HDF5 file",
            path.display()
        );
    }
    let (st, kind) = if keras::is_hdf5(&bytes) {
        let read = match &options.config {
            None => keras::weights_to_safetensors(&bytes),
            Some(c) => read_limited(c, MAX_MODEL_FILE_BYTES)
                .and_then(|json| keras::weights_with_config(&bytes, &json))
                .with_context(|| format!("with --config {}", c.display())),
        }
        .with_context(|| format!("cannot load {} (a Keras HDF5 file)", path.display()))?;
        warnings.extend(read.notes);
        let kind = if read.architecture {
            Source::KerasH5
        } else {
            Source::KerasWeights
        };
        (read.safetensors, Some(kind))
    } else if is_keras_file(path, &bytes) {
        let read = keras::keras_to_safetensors(&bytes)
            .with_context(|| format!("cannot load {} (a .keras archive)", path.display()))?;
        warnings.extend(read.notes);
        (read.safetensors, Some(Source::Keras))
    } else if is_onnx_file(path, &bytes) {
        let read = read_onnx(path, &bytes)
            .with_context(|| format!("cannot load {} (an ONNX file)", path.display()))?;
        warnings.extend(read.notes);
        (read.safetensors, Some(Source::Onnx))
    } else if torch::is_torch(&bytes) {
        let st = torch::to_safetensors(&bytes)
            .with_context(|| format!("cannot load {} (a PyTorch file)", path.display()))?;
        (st, Some(Source::Torch(safetensors::Layout::Torch)))
    } else {
        match detect(path, &bytes)? {
            Format::Bin => {
                lstm_kernel::io::parse(&bytes)
                    .with_context(|| format!("cannot load {}", path.display()))?;
                if let Some(r) = options.renames.first() {
                    bail!(
                        "{}: a binary model file has this tool's own layout, with no tensor \
                         names to rename: --map {}={} is for safetensors and framework files",
                        path.display(),
                        r.old,
                        r.new
                    );
                }
                if let Some(a) = options.activation {
                    bail!(
                        "{}: a binary model file states each layer's activation; \
                         --assume-activation {} is for safetensors and PyTorch files that do \
                         not",
                        path.display(),
                        a.name()
                    );
                }
                return Ok(ModelFile {
                    bin: bytes,
                    source: Source::Bin,
                    warnings: Vec::new(),
                    mapped: Vec::new(),
                });
            }
            _ => (bytes, None),
        }
    };
    let what = match kind {
        Some(Source::Torch(_)) => " (a PyTorch file)",
        Some(Source::Keras) => " (a .keras archive)",
        Some(Source::KerasWeights | Source::KerasH5) => " (a Keras HDF5 file)",
        Some(Source::Onnx) => " (an ONNX file)",
        _ => "",
    };
    let mapped = names::map(&st, &options.renames)
        .with_context(|| format!("cannot load {}{what}", path.display()))?;
    warnings.extend(mapped.warnings.iter().cloned());
    let read = safetensors::to_bin(&mapped.bytes, options.activation)
        .map_err(|e| as_the_file_names_it(e, &mapped.origins))
        .with_context(|| format!("cannot load {}{what}", path.display()))?;
    if !read.assumed.is_empty() && options.activation.is_none() {
        let layers: Vec<String> = read.assumed.iter().map(usize::to_string).collect();
        warnings.push(format!(
            "warning: the file does not say the recurrent activation of layer(s) {}: sigmoid \
             assumed (PyTorch's only choice, the Keras >= 2.3 default); a model trained with \
             Keras' hard_sigmoid needs --assume-activation hard-sigmoid-keras3 (Keras 3) or \
             hard-sigmoid-keras2 (Keras 2), or its logits are wrong",
            layers.join(", ")
        ));
    }
    Ok(ModelFile {
        bin: read.bin,
        source: match kind {
            Some(Source::Torch(_)) => Source::Torch(read.layout),
            Some(k) => k,
            None => Source::Safetensors(read.layout),
        },
        warnings,
        mapped: mapped.notes,
    })
}

/// An error of the model reader, which names tensors by this tool's names, with the file's
/// own name of each one it mentions (`lstm.weight_hh_l0 is the file's rnn.weight_hh_l0`),
/// and, for a missing head, what the mapping looked for.
fn as_the_file_names_it(e: anyhow::Error, origins: &[(String, String)]) -> anyhow::Error {
    let msg = format!("{e:#}");
    let mut said: Vec<String> = origins
        .iter()
        .filter(|(here, _)| msg.contains(here.as_str()))
        .map(|(here, file)| format!("{here} is the file's {file}"))
        .collect();
    if [
        "tensor linear.weight is missing",
        "tensor dense/kernel is missing",
    ]
    .iter()
    .any(|m| msg.contains(m))
    {
        said.push(
            "no dense head was found: the kernel's models end in one nn.Linear or Dense layer \
             after the recurrent ones (a 2-D weight besides theirs); if the file has one under \
             another role, --map its weight to linear.weight"
                .to_string(),
        );
    }
    if said.is_empty() {
        e
    } else {
        anyhow!("{msg} ({})", said.join("; "))
    }
}

/// Whether the model file `path` of `bytes` is ONNX: by content ([`onnx::is_onnx`]), or by
/// its extension `.onnx` (so a damaged one is refused as ONNX).
pub fn is_onnx_file(path: &Path, bytes: &[u8]) -> bool {
    onnx::is_onnx(bytes) || is_named(path, "onnx")
}

/// Whether the model file `path` of `bytes` is a `.keras` archive: by content
/// ([`keras::is_keras_zip`]), or by its extension (so a damaged one is refused as one).
pub fn is_keras_file(path: &Path, bytes: &[u8]) -> bool {
    keras::is_keras_zip(bytes) || is_named(path, "keras")
}

/// Whether `path`'s extension is `ext`.
fn is_named(path: &Path, ext: &str) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some(ext)
}

/// The ONNX model file `path` of `bytes` as safetensors ([`onnx::onnx_to_safetensors`]),
/// external data read from the model's folder.
///
/// # Errors
/// As [`onnx::onnx_to_safetensors`]; an external data location outside the model's folder,
/// or a file that cannot be read.
pub fn read_onnx(path: &Path, bytes: &[u8]) -> Result<onnx::Read> {
    onnx::onnx_to_safetensors(bytes, &mut |location| external_data(path, location))
}

/// The bytes of the external data file `location` of the ONNX model at `model` (at most
/// [`MAX_MODEL_FILE_BYTES`]): a relative path inside the model's folder.
///
/// # Errors
/// An absolute location, or one that leaves the folder (`..`); the file cannot be read.
fn external_data(model: &Path, location: &str) -> Result<Vec<u8>> {
    let rel = Path::new(location);
    if location.is_empty()
        || !rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        bail!(
            "the location {location:?} is not a file name inside the model's folder; this \
             reader reads external data beside the model only"
        );
    }
    let dir = model.parent().unwrap_or(Path::new("."));
    read_limited(&dir.join(rel), MAX_MODEL_FILE_BYTES)
}

/// Loads the post's model (`LstmModel<1, 10, 1>`) from any model file ([`read_bin`]).
///
/// # Errors
/// As [`load_into`].
pub fn load(path: &Path) -> Result<(HarnessModel, Source)> {
    let mut model = HarnessModel::zeroed(lstm_kernel::RecurrentActivation::Sigmoid);
    let source = load_into(path, &ReadOptions::default(), &mut model)?;
    Ok((model, source))
}

/// Loads any model type (e.g. a stack of the post's layers) from any model file
/// ([`read_bin`]) into `model`, which is written only if the file is accepted.
///
/// # Errors
/// As [`read_bin`]; a file with another layer table than the model type is refused with
/// both (and the `--layers` or `--cell` that reads it); a model with a pipeline around its
/// weights (a `fit` model's scaling, differencing, softmax or identity head) is refused
/// with the commands that serve it.
pub fn load_into<R, const IN: usize, const H: usize, const OUT: usize>(
    path: &Path,
    options: &ReadOptions,
    model: &mut lstm_kernel::Model<R, IN, H, OUT, f32>,
) -> Result<Source>
where
    R: lstm_kernel::Recurrent<IN, H, f32> + Clone,
{
    let file = read_bin(path, options)?;
    let head = lstm_kernel::io::parse(&file.bin)?.header().head;
    if !matches!(
        head,
        lstm_kernel::HeadActivation::Unspecified | lstm_kernel::HeadActivation::Sigmoid
    ) {
        bail!(
            "cannot load {}: a model with a {} head (from `fit`): `eval MODEL --data FILE`, \
             `predict`, `inspect` and `export` serve it; `train` and `eval` without --data run \
             the post's own model and data",
            path.display(),
            head.name()
        );
    }
    binfile::read_into(&file.bin, model)
        .with_context(|| format!("cannot load {}", path.display()))?;
    file.print_notes(path);
    Ok(file.source)
}

/// The layer table of the model in `path` ([`read_bin`]): each layer's cell, sizes and
/// settings, bottom first.
///
/// # Errors
/// As [`read_bin`].
pub fn layer_table(path: &Path, options: &ReadOptions) -> Result<Vec<LayerEntry>> {
    let file = read_bin(path, options)?;
    Ok(lstm_kernel::io::parse(&file.bin)?
        .header()
        .layers()
        .to_vec())
}

/// The number of recurrent layers of the model in `path` ([`layer_table`]), so the CLI can
/// pick the model type when `--layers` is not given.
///
/// # Errors
/// As [`read_bin`].
pub fn layer_count(path: &Path, options: &ReadOptions) -> Result<usize> {
    Ok(layer_table(path, options)?.len())
}

/// The cell of the layers of the model in `path` ([`layer_table`]), so the CLI can pick the
/// model type when `--cell` is not given.
///
/// # Errors
/// As [`read_bin`]; the layers are of different cells (the post's models are one cell
/// throughout; load such a stack with the library).
pub fn cell_of_file(path: &Path, options: &ReadOptions) -> Result<lstm_kernel::LayerKind> {
    let kinds: Vec<lstm_kernel::LayerKind> =
        layer_table(path, options)?.iter().map(|l| l.kind).collect();
    match kinds.as_slice() {
        [first, rest @ ..] if rest.iter().all(|k| k == first) => Ok(*first),
        [] => bail!("{}: the file has no recurrent layer", path.display()),
        _ => {
            let names: Vec<_> = kinds.iter().map(|k| k.name()).collect();
            bail!(
                "{}: the layers are of different cells ({}); the CLI builds one cell throughout",
                path.display(),
                names.join(", ")
            )
        }
    }
}

/// `given` (a `--layers` value), or else the layer count of the model in `path`
/// ([`layer_count`]).
///
/// # Errors
/// As [`layer_count`], when `given` is `None`.
pub fn layers_or_file(given: Option<u8>, path: &Path, options: &ReadOptions) -> Result<usize> {
    match given {
        Some(n) => Ok(n.into()),
        None => layer_count(path, options),
    }
}

/// Writes `bytes` to `path` so that nothing a user saved is lost or half-written: the
/// bytes go to a temporary file in the same directory first. Without `force`, an existing
/// `path` is refused (the new file is hard-linked into place, which fails atomically if
/// `path` exists); with `force`, it is replaced by a rename.
///
/// # Errors
/// `path` exists and `force` is off (the message says to pass `--force`), or any I/O
/// error; the temporary file is removed on failure.
pub fn save(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    if force {
        return write_atomic(path, bytes);
    }
    if path.exists() {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    write_new(path, bytes).map_err(|e| {
        let exists = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::AlreadyExists)
        });
        if exists {
            anyhow::anyhow!("{} exists; pass --force to overwrite it", path.display())
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::keras_model;
    use lstm_kernel::RecurrentActivation;
    use std::fs;
    use std::path::PathBuf;

    fn scratch_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lstm-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn assert_bit_exact(a: &HarnessModel, b: &HarnessModel) {
        assert!(crate::model::same_bits(a, b), "{a:?}\nvs\n{b:?}");
    }

    #[test]
    fn saving_refuses_to_overwrite_without_force_and_keeps_the_old_file() {
        let d = scratch_dir("force");
        let p = d.join("m.bin");
        save(&p, b"old", false).unwrap();
        let e = save(&p, b"new", false).unwrap_err();
        assert!(format!("{e:#}").contains("--force"), "{e:#}");
        assert_eq!(fs::read(&p).unwrap(), b"old");
        save(&p, b"new", true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn both_formats_round_trip_bit_exactly_through_disk_with_detection() {
        let d = scratch_dir("roundtrip");
        let mut m = keras_model(3, RecurrentActivation::HardSigmoidKeras3);
        m.rnn.weights.b[0][0] = -0.0; // survives too
        let bin = d.join("m.bin");
        let st = d.join("m.safetensors");
        save(&bin, &binfile::to_bytes(&m).unwrap(), false).unwrap();
        save(&st, &safetensors::to_torch_bytes(&m).unwrap(), false).unwrap();
        let (a, fa) = load(&bin).unwrap();
        let (b, fb) = load(&st).unwrap();
        assert_eq!(
            (fa, fb),
            (Source::Bin, Source::Safetensors(safetensors::Layout::Torch))
        );
        assert_bit_exact(&a, &m);
        assert_bit_exact(&b, &m);
        // Detection goes by content, not by name.
        let renamed = d.join("model.dat");
        fs::copy(&st, &renamed).unwrap();
        assert_eq!(
            load(&renamed).unwrap().1,
            Source::Safetensors(safetensors::Layout::Torch)
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_file_over_the_limit_is_refused_naming_it_and_the_limit_and_one_at_it_is_read() {
        let d = scratch_dir("limit");
        let p = d.join("big.bin");
        fs::write(&p, [7_u8; 101]).unwrap();
        let e = format!("{:#}", read_limited(&p, 100).unwrap_err());
        assert!(e.contains("big.bin") && e.contains("100 bytes"), "{e}");
        assert_eq!(read_limited(&p, 101).unwrap().len(), 101);
        fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_is_refused_after_the_limit_instead_of_read_until_out_of_memory() {
        let e = format!("{:#}", load(Path::new("/dev/zero")).unwrap_err());
        assert!(
            e.contains("/dev/zero") && e.contains(&MAX_MODEL_FILE_BYTES.to_string()),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_is_neither_format_is_refused_with_its_name() {
        let d = scratch_dir("neither");
        let p = d.join("notes.txt");
        fs::write(&p, b"hello").unwrap();
        let e = load(&p).unwrap_err();
        assert!(format!("{e:#}").contains("notes.txt"), "{e:#}");
        fs::remove_dir_all(&d).unwrap();
    }
}

/// The model readers never panic: the fuzz seeds of `read_safetensors`, `read_torch`,
/// `read_keras` and `read_onnx` (host-harness/fuzz/corpus) with random bytes overwritten, inserted or cut go through the
/// path of every command (`torch::to_safetensors`, `names::map`, `safetensors::to_bin`) to
/// a binary model file the kernel parses, or are refused with a message
/// (`scripts/fuzz.sh` runs the same claims under libFuzzer).
#[cfg(test)]
mod no_panic {
    use crate::fuzz_seeds::{mutate, seeds};
    use proptest::prelude::*;

    /// Maps and reads safetensors bytes; a model it returns must parse.
    fn read(st: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(m) = super::names::map(st, &[])
            && let Ok(r) = super::safetensors::to_bin(&m.bytes, None)
        {
            prop_assert!(lstm_kernel::io::parse(&r.bin).is_ok());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn mutated_safetensors_files_are_read_as_models_or_refused(
            which in 0usize..3,
            edits in proptest::collection::vec((0usize..8192, any::<u8>(), 0u8..3), 0..8),
            keep in 0usize..8192,
        ) {
            let seeds = seeds("read_safetensors");
            read(&mutate(seeds[which % seeds.len()].clone(), &edits, keep))?;
        }

        #[test]
        fn mutated_keras_files_are_read_as_models_or_refused(
            which in 0usize..3,
            edits in proptest::collection::vec((0usize..32768, any::<u8>(), 0u8..3), 0..8),
            keep in 0usize..32768,
        ) {
            let seeds = seeds("read_keras");
            let b = mutate(seeds[which % seeds.len()].clone(), &edits, keep);
            let reads = [super::keras::keras_to_safetensors(&b), super::keras::weights_to_safetensors(&b)];
            for r in reads.into_iter().flatten() {
                read(&r.safetensors)?;
            }
        }

        #[test]
        fn mutated_torch_files_are_read_as_models_or_refused(
            which in 0usize..3,
            edits in proptest::collection::vec((0usize..8192, any::<u8>(), 0u8..3), 0..8),
            keep in 0usize..8192,
        ) {
            let seeds = seeds("read_torch");
            let b = mutate(seeds[which % seeds.len()].clone(), &edits, keep);
            if let Ok(st) = super::torch::to_safetensors(&b) {
                read(&st)?;
            }
        }

        #[test]
        fn mutated_onnx_files_are_read_as_models_or_refused(
            which in 0usize..3,
            edits in proptest::collection::vec((0usize..8192, any::<u8>(), 0u8..3), 0..8),
            keep in 0usize..8192,
        ) {
            let seeds = seeds("read_onnx");
            let b = mutate(seeds[which % seeds.len()].clone(), &edits, keep);
            let mut no_files = |_: &str| anyhow::bail!("no external data here");
            if let Ok(r) = super::onnx::onnx_to_safetensors(&b, &mut no_files) {
                read(&r.safetensors)?;
            }
        }
    }
}
