//! An ONNX file's constant tensors: their values (float32, int32, int64; inline, or in an
//! external data file read once through the caller's function), bounded by what the file
//! holds.

use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};

use super::proto;

/// `TensorProto.DataType` FLOAT, INT32, INT64.
pub(super) const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
/// `TensorProto.DataLocation` EXTERNAL.
const EXTERNAL: i32 = 1;
/// The most values one tensor may hold (64 Mi: far beyond any model this tool runs).
pub(super) const MAX_VALUES: usize = 1 << 26;

/// A constant's values.
#[derive(Clone, Debug)]
pub(super) enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// A constant tensor: its shape and values.
#[derive(Clone, Debug)]
pub(super) struct Const {
    pub(super) dims: Vec<usize>,
    pub(super) values: Values,
}

impl Const {
    pub(super) fn f32(&self, what: &str) -> Result<&[f32]> {
        match &self.values {
            Values::F32(v) => Ok(v),
            Values::I64(_) => bail!("{what} is an integer tensor, expected float32"),
        }
    }

    pub(super) fn ints(&self, what: &str) -> Result<&[i64]> {
        match &self.values {
            Values::I64(v) => Ok(v),
            Values::F32(_) => bail!("{what} is a float tensor, expected integers"),
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        match &self.values {
            Values::F32(v) => v.iter().all(|&x| x == 0.0),
            Values::I64(v) => v.iter().all(|&x| x == 0),
        }
    }
}

/// The values of `t` (float32, int32 or int64; inline, or in external data).
pub(super) fn tensor_values(t: &proto::Tensor, external: &mut External<'_>) -> Result<Const> {
    let name = t.name.as_deref().unwrap_or("?");
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut count = 1usize;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| anyhow!("tensor {name}: dimension {d}"))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_VALUES)
            .ok_or_else(|| anyhow!("tensor {name}: more than {MAX_VALUES} values"))?;
        dims.push(d);
    }
    let ty = t.data_type.unwrap_or(0);
    let width = match ty {
        FLOAT | INT32 => 4,
        INT64 => 8,
        other => bail!(
            "tensor {name}: data type {other} (ONNX TensorProto.DataType); this reader takes \
             float32 weights (FLOAT = 1) and integer shapes (INT32 = 6, INT64 = 7)"
        ),
    };
    let raw: Option<Vec<u8>> = if t.data_location == Some(EXTERNAL) {
        Some(external.read(t, name, count * width)?)
    } else {
        t.raw_data.clone()
    };
    let values = if let Some(raw) = raw {
        if raw.len() != count * width {
            bail!(
                "tensor {name}: {} bytes of data for shape {dims:?} ({} bytes)",
                raw.len(),
                count * width
            );
        }
        match ty {
            FLOAT => Values::F32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            INT32 => Values::I64(
                raw.chunks_exact(4)
                    .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect(),
            ),
            _ => Values::I64(
                raw.chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
        }
    } else {
        let values = match ty {
            FLOAT => Values::F32(t.float_data.clone()),
            INT32 => Values::I64(t.int32_data.iter().map(|&v| i64::from(v)).collect()),
            _ => Values::I64(t.int64_data.clone()),
        };
        let n = match &values {
            Values::F32(v) => v.len(),
            Values::I64(v) => v.len(),
        };
        if n != count {
            bail!("tensor {name}: {n} values for shape {dims:?} ({count} values)");
        }
        values
    };
    Ok(Const { dims, values })
}

/// The external data files of one model, read once each through the caller's function.
pub(super) struct External<'a> {
    load: &'a mut dyn FnMut(&str) -> Result<Vec<u8>>,
    files: HashMap<String, Vec<u8>>,
}

impl<'a> External<'a> {
    /// External data read through `load` (given a tensor's `location`).
    pub(super) fn new(load: &'a mut dyn FnMut(&str) -> Result<Vec<u8>>) -> Self {
        Self {
            load,
            files: HashMap::new(),
        }
    }

    /// The `len` bytes of tensor `t`'s external data (`location`, `offset`, `length`).
    fn read(&mut self, t: &proto::Tensor, name: &str, len: usize) -> Result<Vec<u8>> {
        let mut location = None;
        let (mut offset, mut length) = (0usize, None);
        for e in &t.external_data {
            let value = e.value.as_deref().unwrap_or("");
            let number = || {
                value
                    .parse::<usize>()
                    .map_err(|_| anyhow!("tensor {name}: external data {value:?} is not a number"))
            };
            match e.key.as_deref().unwrap_or("") {
                "location" => location = Some(value.to_string()),
                "offset" => offset = number()?,
                "length" => length = Some(number()?),
                "checksum" => {}
                other => bail!("tensor {name}: external data key {other:?} is not read"),
            }
        }
        let Some(location) = location else {
            bail!("tensor {name}: external data without a location");
        };
        if let Some(l) = length
            && l != len
        {
            bail!("tensor {name}: external data of {l} bytes, its shape needs {len}");
        }
        if !self.files.contains_key(&location) {
            let bytes = (self.load)(&location)
                .map_err(|e| anyhow!("tensor {name}: external data {location}: {e:#}"))?;
            self.files.insert(location.clone(), bytes);
        }
        let file = &self.files[&location];
        offset
            .checked_add(len)
            .and_then(|end| file.get(offset..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                anyhow!(
                    "tensor {name}: external data {location} holds {} bytes, the tensor is at \
                     {offset}..{}",
                    file.len(),
                    offset.saturating_add(len)
                )
            })
    }
}
