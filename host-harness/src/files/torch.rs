//! PyTorch state dicts as `torch.save(model.state_dict(), "m.pt")` writes them (`.pt`,
//! `.pth`), read without Python: a zip archive (PyTorch's default serialization since 1.6)
//! holding `<name>/data.pkl`, a pickle (protocol 2) of an `OrderedDict` from tensor names
//! to `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` calls, whose
//! storages are persistent ids `('storage', torch.FloatStorage, key, location, numel)`
//! naming the raw little-endian entries `<name>/data/<key>`.
//!
//! [`to_safetensors`] turns such a file into safetensors bytes with the same tensor names
//! (F32, row-major), so the names are mapped to layers by the one importer,
//! [`super::safetensors`] (`lstm.weight_ih_l0` or a bare `weight_ih_l0`, `gru.`, `linear.`).
//!
//! The pickle is not executed: this is a small interpreter of the opcodes a state dict
//! uses, which builds values and accepts only the globals a state dict names
//! (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and `_rebuild_parameter`,
//! `torch.<Type>Storage`). Refused, each by name: a whole pickled module
//! (`torch.save(model)`: any other global, the advice being to save the state dict), the
//! legacy non-zip format, tensors other than float32 (the advice being `model.float()`),
//! non-contiguous tensors, compressed or missing entries, a big-endian file, and anything
//! malformed (offset given). Memory stays proportional to the input: shared values
//! (`BINGET`) are reference-counted, not copied, and deep values are dropped without
//! recursion.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::rc::Rc;

use anyhow::{Context, Result, anyhow, bail};
use safetensors::serialize;
use safetensors::tensor::{Dtype, TensorView};

/// The first bytes of a zip archive (a local file header).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// The first bytes of PyTorch's legacy (pre-1.6, or `_use_new_zipfile_serialization=False`)
/// format: protocol 2, then the magic number `0x1950a86a20f9469cfc6c` as a `LONG1`.
const LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

/// Whether `bytes` look like a file `torch.save` wrote (zip or legacy).
pub fn is_torch(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(LEGACY_MAGIC)
}

/// The tensors of a `torch.save(state_dict)` file as safetensors bytes (module docs), each
/// under its state-dict name; metadata `format: pt`, `source: torch.save` and the state
/// dict's order of names ([`super::names::ORDER_KEY`]).
///
/// # Errors
/// Not a zip archive with one `data.pkl`; the legacy format; a pickle that is not a state
/// dict of float32 tensors (module docs); a storage entry that is missing, compressed or
/// shorter than its tensors.
pub fn to_safetensors(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.starts_with(LEGACY_MAGIC) {
        bail!(
            "a PyTorch file in the legacy format (torch.save with \
             _use_new_zipfile_serialization=False, or PyTorch < 1.6): load and save it again \
             with a current PyTorch"
        );
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip archive")?;
    let pickles: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
        .collect();
    let pkl = match pickles.as_slice() {
        [one] => one.clone(),
        [] => bail!("a zip archive without data.pkl: not a file torch.save wrote"),
        _ => bail!("a zip archive with {} data.pkl entries", pickles.len()),
    };
    let prefix = pkl.strip_suffix("data.pkl").unwrap_or_default().to_string();
    if let Ok(order) = read_entry(&mut zip, &format!("{prefix}byteorder"), bytes.len())
        && order != b"little"
    {
        bail!(
            "byteorder {:?}: a big-endian PyTorch file is not read",
            String::from_utf8_lossy(&order)
        );
    }
    let pickle = read_entry(&mut zip, &pkl, bytes.len())?;
    let tensors = state_dict(&pickle)?;
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut storages: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, t) in tensors {
        if t.dtype != "torch.FloatStorage" {
            bail!(
                "tensor {name} is stored as {}: only float32 (torch.FloatStorage) is read; \
                 save model.float().state_dict()",
                t.dtype
            );
        }
        if !storages.contains_key(&t.key) {
            let entry = read_entry(&mut zip, &format!("{prefix}data/{}", t.key), bytes.len())
                .with_context(|| format!("the storage of tensor {name}"))?;
            storages.insert(t.key.clone(), entry);
        }
        let storage = &storages[&t.key];
        let elems = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let range = elems
            .and_then(|n| Some(t.offset..t.offset.checked_add(n)?))
            .and_then(|r| Some(r.start.checked_mul(4)?..r.end.checked_mul(4)?));
        let Some(slice) = range.and_then(|r| storage.get(r)) else {
            bail!(
                "tensor {name}: shape {:?} at offset {} does not fit its storage of {} bytes",
                t.shape,
                t.offset,
                storage.len()
            );
        };
        data.push((name, t.shape, slice.to_vec()));
    }
    let views = data
        .iter()
        .map(|(n, s, d)| {
            TensorView::new(Dtype::F32, s.clone(), d)
                .map(|v| (n.clone(), v))
                .map_err(|e| anyhow!("tensor {n}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    // The state dict's order is the modules' registration order (safetensors keeps none):
    // the name mapping stacks separate modules by it.
    let order: Vec<&str> = data.iter().map(|(n, _, _)| n.as_str()).collect();
    let meta = std::collections::HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("source".to_string(), "torch.save".to_string()),
        (super::names::ORDER_KEY.to_string(), order.join("\n")),
    ]);
    serialize(views, Some(meta)).map_err(|e| anyhow!("{e}"))
}

/// The bytes of zip entry `name` (stored, at most `limit` bytes; also the `.keras` reader's).
pub(crate) fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: usize,
) -> Result<Vec<u8>> {
    let entry = zip
        .by_name(name)
        .map_err(|e| anyhow!("zip entry {name}: {e}"))?;
    if entry.compression() != zip::CompressionMethod::Stored {
        bail!(
            "zip entry {name} is compressed ({}); torch.save and Keras store their entries \
             (this reader reads stored entries only)",
            entry.compression()
        );
    }
    let mut out = Vec::new();
    entry
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| anyhow!("zip entry {name}: {e}"))?;
    if out.len() > limit {
        bail!("zip entry {name} is larger than the file");
    }
    Ok(out)
}

/// One tensor of the state dict: its storage's type (`torch.FloatStorage`) and key, offset
/// and shape (elements).
#[derive(Clone)]
struct TensorRef {
    dtype: String,
    key: String,
    offset: usize,
    shape: Vec<usize>,
}

/// A value built by the interpreter. `Rc` shares memoised values (`BINGET`) instead of
/// copying them; dicts and lists are mutable in place (`SETITEMS`, `APPENDS`).
enum Value {
    None,
    Bool,
    Int(i64),
    Float,
    Str(String),
    Tuple(Vec<V>),
    List(RefCell<Vec<V>>),
    Dict(RefCell<Vec<(V, V)>>),
    /// One of the accepted globals (`module.name`).
    Global(String),
    /// A persistent id's storage: its type (`torch.FloatStorage`) and key.
    Storage {
        dtype: String,
        key: String,
    },
    Tensor(TensorRef),
}

type V = Rc<Value>;

impl Drop for Value {
    /// Drops nested values with a worklist, not recursion, so a deeply nested pickle cannot
    /// overflow the stack.
    fn drop(&mut self) {
        let mut work: Vec<V> = self.take_children();
        while let Some(v) = work.pop() {
            if let Ok(mut inner) = Rc::try_unwrap(v) {
                work.extend(inner.take_children());
            }
        }
    }
}

impl Value {
    fn take_children(&mut self) -> Vec<V> {
        match self {
            Value::Tuple(v) => std::mem::take(v),
            Value::List(v) => std::mem::take(v.get_mut()),
            Value::Dict(d) => std::mem::take(d.get_mut())
                .into_iter()
                .flat_map(|(k, v)| [k, v])
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What the value is, for messages.
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool => "a bool",
            Value::Int(_) => "an int",
            Value::Float => "a float",
            Value::Str(_) => "a str",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Global(_) => "a class or function",
            Value::Storage { .. } => "a storage",
            Value::Tensor(_) => "a tensor",
        }
    }
}

/// The globals a state dict may name; anything else is refused (module docs).
const GLOBALS: [&str; 3] = [
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
];

/// The accepted global `module.name`, or the refusal.
fn global(module: &str, name: &str) -> Result<String> {
    let full = format!("{module}.{name}");
    if GLOBALS.contains(&full.as_str()) || (module == "torch" && name.ends_with("Storage")) {
        return Ok(full);
    }
    bail!(
        "the pickle names {full}: the file holds more than a state dict of tensors (torch.save(model) \
         pickles the whole module, which this reader does not run); save the weights with \
         torch.save(model.state_dict(), path)"
    )
}

/// Runs the pickle and returns the state dict's tensors in file order.
fn state_dict(pickle: &[u8]) -> Result<Vec<(String, TensorRef)>> {
    let top = run(pickle)?;
    let Value::Dict(items) = &*top else {
        bail!(
            "data.pkl holds {}, not a state dict (an OrderedDict of tensors)",
            top.kind()
        );
    };
    let mut items = items.take();
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in items.drain(..) {
        let Value::Str(name) = &*k else {
            bail!("a state dict key is {}, not a str", k.kind());
        };
        match &*v {
            Value::Tensor(t) => out.push((name.clone(), t.clone())),
            other => bail!(
                "state dict entry {name} is {}, not a tensor (a training checkpoint? save the \
                 model's state_dict() alone)",
                other.kind()
            ),
        }
    }
    Ok(out)
}

/// A little-endian integer of `n` bytes at `pos`.
fn le(pickle: &[u8], pos: usize, n: usize) -> Result<u64> {
    let b = pickle
        .get(pos..pos + n)
        .ok_or_else(|| anyhow!("data.pkl ends inside an argument at byte {pos}"))?;
    Ok(b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

/// The interpreter (module docs): the value `STOP` returns.
fn run(pickle: &[u8]) -> Result<V> {
    let mut stack: Vec<V> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: BTreeMap<u64, V> = BTreeMap::new();
    let mut pos = 0usize;
    let pop = |stack: &mut Vec<V>, at: usize| {
        stack
            .pop()
            .ok_or_else(|| anyhow!("data.pkl: empty stack at byte {at}"))
    };
    let since_mark = |stack: &mut Vec<V>, marks: &mut Vec<usize>, at: usize| -> Result<Vec<V>> {
        let m = marks
            .pop()
            .ok_or_else(|| anyhow!("data.pkl: no MARK for the opcode at byte {at}"))?;
        if m > stack.len() {
            bail!("data.pkl: MARK above the stack at byte {at}");
        }
        Ok(stack.split_off(m))
    };
    loop {
        let at = pos;
        let op = *pickle
            .get(pos)
            .ok_or_else(|| anyhow!("data.pkl ends at byte {pos} without STOP"))?;
        pos += 1;
        let mut arg = |n: usize| -> Result<u64> {
            let v = le(pickle, pos, n)?;
            pos += n;
            Ok(v)
        };
        match op {
            0x80 => {
                // PROTO
                let p = arg(1)?;
                if p > 5 {
                    bail!("data.pkl: pickle protocol {p}");
                }
            }
            0x95 => {
                arg(8)?; // FRAME (protocol 4): a size hint
            }
            b'.' => return pop(&mut stack, at),
            b'(' => marks.push(stack.len()),
            b'N' => stack.push(Rc::new(Value::None)),
            0x88 | 0x89 => stack.push(Rc::new(Value::Bool)),
            b'K' => stack.push(Rc::new(Value::Int(arg(1)? as i64))),
            b'M' => stack.push(Rc::new(Value::Int(arg(2)? as i64))),
            b'J' => stack.push(Rc::new(Value::Int(i64::from(arg(4)? as u32 as i32)))),
            0x8a => {
                // LONG1: n bytes, little-endian two's complement
                let n = arg(1)? as usize;
                if n > 8 {
                    bail!("data.pkl: an integer of {n} bytes at byte {at}");
                }
                let v = if n == 0 { 0 } else { arg(n)? };
                let v = if n > 0 && n < 8 && v >> (8 * n - 1) & 1 == 1 {
                    (v | (!0u64 << (8 * n))) as i64
                } else {
                    v as i64
                };
                stack.push(Rc::new(Value::Int(v)));
            }
            b'G' => {
                arg(8)?; // BINFLOAT (big-endian f64): no state dict value needs it
                stack.push(Rc::new(Value::Float));
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    0x8c => arg(1)?,
                    b'X' => arg(4)?,
                    _ => arg(8)?,
                };
                let end = usize::try_from(n)
                    .ok()
                    .and_then(|n| pos.checked_add(n))
                    .filter(|&e| e <= pickle.len())
                    .ok_or_else(|| anyhow!("data.pkl: a string past the end at byte {at}"))?;
                let s = std::str::from_utf8(&pickle[pos..end])
                    .map_err(|_| anyhow!("data.pkl: a string that is not UTF-8 at byte {at}"))?;
                pos = end;
                stack.push(Rc::new(Value::Str(s.to_string())));
            }
            b'}' => stack.push(Rc::new(Value::Dict(RefCell::new(Vec::new())))),
            b']' => stack.push(Rc::new(Value::List(RefCell::new(Vec::new())))),
            b')' => stack.push(Rc::new(Value::Tuple(Vec::new()))),
            b't' => {
                let items = since_mark(&mut stack, &mut marks, at)?;
                stack.push(Rc::new(Value::Tuple(items)));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if stack.len() < n {
                    bail!(
                        "data.pkl: TUPLE{n} on a stack of {} at byte {at}",
                        stack.len()
                    );
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Rc::new(Value::Tuple(items)));
            }
            b'q' | b'r' | 0x94 => {
                // BINPUT, LONG_BINPUT, MEMOIZE
                let key = match op {
                    b'q' => arg(1)?,
                    b'r' => arg(4)?,
                    _ => memo.len() as u64,
                };
                let top = stack
                    .last()
                    .ok_or_else(|| anyhow!("data.pkl: PUT on an empty stack at byte {at}"))?;
                memo.insert(key, Rc::clone(top));
            }
            b'h' | b'j' => {
                let key = if op == b'h' { arg(1)? } else { arg(4)? };
                let v = memo
                    .get(&key)
                    .ok_or_else(|| anyhow!("data.pkl: GET of unset memo {key} at byte {at}"))?;
                stack.push(Rc::clone(v));
            }
            b'c' => {
                let mut line = || -> Result<String> {
                    let rest = &pickle[pos.min(pickle.len())..];
                    let n = rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .ok_or_else(|| anyhow!("data.pkl: GLOBAL without newline at byte {at}"))?;
                    let s = String::from_utf8_lossy(&rest[..n]).into_owned();
                    pos += n + 1;
                    Ok(s)
                };
                let (module, name) = (line()?, line()?);
                stack.push(Rc::new(Value::Global(global(&module, &name)?)));
            }
            0x93 => {
                // STACK_GLOBAL
                let name = pop(&mut stack, at)?;
                let module = pop(&mut stack, at)?;
                let (Value::Str(m), Value::Str(n)) = (&*module, &*name) else {
                    bail!("data.pkl: STACK_GLOBAL of non-strings at byte {at}");
                };
                stack.push(Rc::new(Value::Global(global(m, n)?)));
            }
            b'Q' => {
                let pid = pop(&mut stack, at)?;
                stack.push(Rc::new(storage(&pid).with_context(|| {
                    format!("data.pkl: the persistent id at byte {at}")
                })?));
            }
            b'R' => {
                let args = pop(&mut stack, at)?;
                let f = pop(&mut stack, at)?;
                let v = reduce(&f, &args)
                    .with_context(|| format!("data.pkl: the call at byte {at}"))?;
                stack.push(Rc::new(v));
            }
            b's' | b'u' => {
                let items = if op == b's' {
                    if stack.len() < 3 {
                        bail!(
                            "data.pkl: SETITEM on a stack of {} at byte {at}",
                            stack.len()
                        );
                    }
                    stack.split_off(stack.len() - 2)
                } else {
                    since_mark(&mut stack, &mut marks, at)?
                };
                let Some(Value::Dict(d)) = stack.last().map(|v| &**v) else {
                    bail!("data.pkl: SETITEMS on a non-dict at byte {at}");
                };
                let mut it = items.into_iter();
                let mut d = d.borrow_mut();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    d.push((k, v));
                }
            }
            b'a' | b'e' => {
                let items = if op == b'a' {
                    vec![pop(&mut stack, at)?]
                } else {
                    since_mark(&mut stack, &mut marks, at)?
                };
                let Some(Value::List(l)) = stack.last().map(|v| &**v) else {
                    bail!("data.pkl: APPEND on a non-list at byte {at}");
                };
                l.borrow_mut().extend(items);
            }
            b'b' => {
                // BUILD: an OrderedDict's attributes (a state dict's `_metadata`: versions)
                let state = pop(&mut stack, at)?;
                match stack.last().map(|v| &**v) {
                    Some(Value::Dict(_)) if matches!(*state, Value::Dict(_)) => {}
                    _ => bail!(
                        "data.pkl: BUILD of an object at byte {at}: the file holds more than a \
                         state dict (save model.state_dict())"
                    ),
                }
            }
            0x81 | 0x92 | b'i' | b'o' => bail!(
                "data.pkl creates an object at byte {at}: the file holds more than a state \
                 dict (torch.save(model) pickles the whole module); save the weights with \
                 torch.save(model.state_dict(), path)"
            ),
            _ => bail!("data.pkl: opcode 0x{op:02x} at byte {at} is not one a state dict uses"),
        }
    }
}

/// A persistent id `('storage', torch.<Type>Storage, key, location, numel)`.
fn storage(pid: &Value) -> Result<Value> {
    let Value::Tuple(t) = pid else {
        bail!("it is {}, not a tuple", pid.kind());
    };
    match t.iter().map(|v| &**v).collect::<Vec<_>>().as_slice() {
        [
            Value::Str(tag),
            Value::Global(dtype),
            Value::Str(key),
            Value::Str(_),
            Value::Int(_),
        ] if tag == "storage" => Ok(Value::Storage {
            dtype: dtype.clone(),
            key: key.clone(),
        }),
        _ => bail!("not a ('storage', type, key, location, numel) tuple"),
    }
}

/// The accepted calls: `OrderedDict()`, `_rebuild_tensor_v2(storage, offset, size, stride,
/// requires_grad, hooks[, metadata])`, `_rebuild_parameter(tensor, requires_grad, hooks)`.
fn reduce(f: &Value, args: &Value) -> Result<Value> {
    let (Value::Global(g), Value::Tuple(a)) = (f, args) else {
        bail!("a call of {} with {}", f.kind(), args.kind());
    };
    let a: Vec<&Value> = a.iter().map(|v| &**v).collect();
    match (g.as_str(), a.as_slice()) {
        ("collections.OrderedDict", []) => Ok(Value::Dict(RefCell::new(Vec::new()))),
        (
            "torch._utils._rebuild_tensor_v2",
            [
                st,
                Value::Int(off),
                Value::Tuple(size),
                Value::Tuple(stride),
                ..,
            ],
        ) => {
            let Value::Storage { dtype, key } = st else {
                bail!("_rebuild_tensor_v2 of {}, not a storage", st.kind());
            };
            let ints = |t: &[V], what: &str| -> Result<Vec<usize>> {
                t.iter()
                    .map(|v| match &**v {
                        Value::Int(i) => usize::try_from(*i).map_err(|_| anyhow!("{what} {i}")),
                        other => bail!("a {what} of {}", other.kind()),
                    })
                    .collect()
            };
            let shape = ints(size, "size")?;
            let stride = ints(stride, "stride")?;
            // Row-major contiguous: stride[k] = product of shape[k+1..] (any stride where
            // the size is 1).
            let mut want = 1usize;
            for (k, (&n, &s)) in shape.iter().zip(&stride).enumerate().rev() {
                if n != 1 && s != want {
                    bail!(
                        "a tensor of size {shape:?} with stride {stride:?} is not contiguous \
                         (dimension {k}); save tensor.contiguous() (state_dict() tensors are)"
                    );
                }
                want = want
                    .checked_mul(n)
                    .ok_or_else(|| anyhow!("size {shape:?} overflows"))?;
            }
            if shape.len() != stride.len() {
                bail!("size {shape:?} and stride {stride:?} differ in length");
            }
            Ok(Value::Tensor(TensorRef {
                dtype: dtype.clone(),
                key: key.clone(),
                offset: usize::try_from(*off).map_err(|_| anyhow!("storage offset {off}"))?,
                shape,
            }))
        }
        ("torch._utils._rebuild_parameter", [Value::Tensor(t), ..]) => {
            Ok(Value::Tensor(TensorRef {
                dtype: t.dtype.clone(),
                key: t.key.clone(),
                offset: t.offset,
                shape: t.shape.clone(),
            }))
        }
        (g, a) => bail!(
            "{g} with {} argument(s) is not a state dict's call",
            a.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/torch")
                .join(name),
        )
        .unwrap()
    }

    /// The real file reads as its 6 tensors with the state dict's names and shapes.
    #[test]
    fn a_real_state_dict_reads_as_its_tensors() {
        let st = to_safetensors(&fixture("lstm1.pt")).unwrap();
        let file = safetensors::SafeTensors::deserialize(&st).unwrap();
        let mut names: Vec<(String, Vec<usize>)> = file
            .tensors()
            .into_iter()
            .map(|(n, t)| (n, t.shape().to_vec()))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("linear.bias", vec![1]),
                ("linear.weight", vec![1, 10]),
                ("lstm.bias_hh_l0", vec![40]),
                ("lstm.bias_ih_l0", vec![40]),
                ("lstm.weight_hh_l0", vec![40, 10]),
                ("lstm.weight_ih_l0", vec![40, 1]),
            ]
            .map(|(n, s)| (n.to_string(), s))
        );
    }

    /// Every truncation and every single-byte change of a real file is read or refused
    /// with a message, never a panic (the fuzz target `read_torch` searches further).
    #[test]
    #[cfg_attr(miri, ignore = "thousands of zip parses")]
    fn damaged_files_are_refused_not_panicked_on() {
        let good = fixture("gru1.pt");
        for n in (0..good.len()).step_by(7) {
            let _ = to_safetensors(&good[..n]);
        }
        for i in 0..good.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= x;
                let _ = to_safetensors(&bad);
            }
        }
    }

    /// A million nested tuples are built and dropped without recursion.
    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let mut p = vec![0x80, 2, b')'];
        p.extend(std::iter::repeat_n(0x85u8, 1_000_000)); // TUPLE1
        p.push(b'.');
        let v = run(&p).unwrap();
        assert_eq!(v.kind(), "a tuple");
        drop(v);
        let e = state_dict(&p).err().unwrap().to_string();
        assert!(e.contains("a tuple, not a state dict"), "{e}");
    }

    /// Globals outside a state dict's are refused before anything is built from them.
    #[test]
    fn other_globals_are_refused_by_name() {
        let p = b"\x80\x02cos\nsystem\nq\x00.";
        let e = run(p).err().unwrap().to_string();
        assert!(e.contains("os.system") && e.contains("state_dict()"), "{e}");
    }
}
