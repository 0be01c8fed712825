//! Model files: the kernel's binary format ([`binfile`]), safetensors with PyTorch or Keras
//! names ([`safetensors`]), PyTorch state dicts as `torch.save` writes them (read only,
//! [`torch`]) and generated Rust source ([`rust_src`]), plus loading with
//! format detection and saving that never loses or half-writes a user's file.

pub mod binfile;
pub mod names;
pub mod rust_src;
pub mod safetensors;
pub mod torch;
pub mod view;

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::fsutil::{write_atomic, write_new};
use crate::model::HarnessModel;

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
            "{}: neither a binary model file (magic \\x89LSTM), safetensors nor a PyTorch \
             torch.save file",
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

/// The bytes of the model file at `path` (at most [`MAX_MODEL_FILE_BYTES`]) and their
/// format ([`detect`]); a PyTorch `torch.save` state dict (`.pt`, `.pth`) is read as the
/// safetensors bytes of its tensors ([`torch::to_safetensors`]), so every reader of
/// safetensors reads it.
///
/// # Errors
/// As [`read_limited`] and [`detect`]; a PyTorch file that is not a float32 state dict.
fn read_model(path: &Path) -> Result<(Vec<u8>, Format)> {
    let bytes = read_limited(path, MAX_MODEL_FILE_BYTES)?;
    if torch::is_torch(&bytes) {
        let st = torch::to_safetensors(&bytes)
            .and_then(|st| Ok(names::map(&st, &[])?.bytes))
            .with_context(|| format!("cannot load {} (a PyTorch file)", path.display()))?;
        return Ok((st, Format::Safetensors));
    }
    let format = detect(path, &bytes)?;
    if format == Format::Safetensors {
        let mapped =
            names::map(&bytes, &[]).with_context(|| format!("cannot load {}", path.display()))?;
        return Ok((mapped.bytes, format));
    }
    Ok((bytes, format))
}

/// Loads the post's model (`LstmModel<1, 10, 1>`) from a binary or safetensors file (format
/// detected by [`detect`]; safetensors in PyTorch or Keras layout).
///
/// # Errors
/// The file cannot be read or is larger than [`MAX_MODEL_FILE_BYTES`], its format is
/// unknown, or its content is refused (the message names the file and the reason).
pub fn load(path: &Path) -> Result<(HarnessModel, Format)> {
    let (bytes, format) = read_model(path)?;
    let model = match format {
        Format::Bin => binfile::from_bytes(&bytes),
        Format::Safetensors | Format::SafetensorsKeras => {
            safetensors::from_bytes(&bytes).map(|(m, _)| m)
        }
        Format::Rust => bail!("Rust source is an export format only"),
    }
    .with_context(|| format!("cannot load {}", path.display()))?;
    Ok((model, format))
}

/// Loads any model type (e.g. a stack of the post's layers) from a binary or safetensors
/// file into `model`, which is written only if the file is accepted.
///
/// # Errors
/// As [`load`]; a file with another layer table than the model type is refused with both.
pub fn load_into<R, const IN: usize, const H: usize, const OUT: usize>(
    path: &Path,
    model: &mut lstm_kernel::Model<R, IN, H, OUT, f32>,
) -> Result<Format>
where
    R: lstm_kernel::Recurrent<IN, H, f32> + Clone,
{
    let (bytes, format) = read_model(path)?;
    match format {
        Format::Bin => binfile::read_into(&bytes, model),
        Format::Safetensors | Format::SafetensorsKeras => {
            safetensors::read_into(&bytes, model).map(|_| ())
        }
        Format::Rust => bail!("Rust source is an export format only"),
    }
    .with_context(|| format!("cannot load {}", path.display()))?;
    Ok(format)
}

/// The number of recurrent layers of the model in `path` (binary: its layer table;
/// safetensors: the layers its tensor names refer to), so the CLI can pick the model type
/// when `--layers` is not given.
///
/// # Errors
/// As [`load`] for reading and format detection; the header is not a valid model file.
pub fn layer_count(path: &Path) -> Result<usize> {
    let (bytes, format) = read_model(path)?;
    match format {
        Format::Bin => lstm_kernel::io::parse(&bytes)
            .map(|f| f.header().layer_count())
            .map_err(anyhow::Error::from),
        Format::Safetensors | Format::SafetensorsKeras => safetensors::layer_count(&bytes),
        Format::Rust => bail!("Rust source is an export format only"),
    }
    .with_context(|| format!("cannot load {}", path.display()))
}

/// The cell of the layers of the model in `path` (binary: its layer table; safetensors:
/// its tensor names, and a Keras GRU's bias shape for the variant), so the CLI can pick the
/// model type when `--cell` is not given.
///
/// # Errors
/// As [`layer_count`]; the layers are of different cells (the post's models are one cell
/// throughout; load such a stack with the library).
pub fn cell_of_file(path: &Path) -> Result<lstm_kernel::LayerKind> {
    let (bytes, format) = read_model(path)?;
    let kinds: Vec<lstm_kernel::LayerKind> = match format {
        Format::Bin => lstm_kernel::io::parse(&bytes)
            .map(|f| f.header().layers().iter().map(|l| l.kind).collect())
            .map_err(anyhow::Error::from),
        Format::Safetensors | Format::SafetensorsKeras => safetensors::layer_kinds(&bytes),
        Format::Rust => bail!("Rust source is an export format only"),
    }
    .with_context(|| format!("cannot load {}", path.display()))?;
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
pub fn layers_or_file(given: Option<u8>, path: &Path) -> Result<usize> {
    match given {
        Some(n) => Ok(n.into()),
        None => layer_count(path),
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
        assert_eq!((fa, fb), (Format::Bin, Format::Safetensors));
        assert_bit_exact(&a, &m);
        assert_bit_exact(&b, &m);
        // Detection goes by content, not by name.
        let renamed = d.join("model.dat");
        fs::copy(&st, &renamed).unwrap();
        assert_eq!(load(&renamed).unwrap().1, Format::Safetensors);
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
