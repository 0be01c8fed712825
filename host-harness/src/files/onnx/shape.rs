//! Shapes computed inside the graph: what an exporter writes for a `Reshape` whose target
//! depends on a dynamic axis (torch's dynamo exporter with `dynamic_shapes`:
//! `Concat(Slice(Shape(x), 0, 1), ..., Mul(Slice(..), Slice(..)))`). Each entry of such a
//! shape is read as a constant times a product of axes of the reshaped tensor; anything
//! else (`Div`, `Add`, a shape of another tensor) is not followed.

use anyhow::Result;

use super::{Reader, attr, attr_int, op_of};

/// One entry of a computed shape: `factor` times the product of the reshaped tensor's
/// axes `axes` (a constant entry has no axes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dim {
    pub factor: i64,
    pub axes: Vec<usize>,
}

impl Dim {
    fn known(k: i64) -> Self {
        Self {
            factor: k,
            axes: Vec::new(),
        }
    }
}

impl core::fmt::Display for Dim {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut parts: Vec<String> = self.axes.iter().map(|a| format!("dim{a}")).collect();
        if self.factor != 1 || parts.is_empty() {
            parts.insert(0, self.factor.to_string());
        }
        write!(f, "{}", parts.join("*"))
    }
}

/// Deepest expression followed (the exporters' are a few nodes deep).
const MAX_DEPTH: usize = 32;

impl<'g> Reader<'g, '_> {
    /// The entries of the 1-D integer tensor `name` as [`Dim`]s over the axes of `data`
    /// (of rank `rank`); `None` if it is not such an expression.
    pub(super) fn shape_dims(
        &mut self,
        name: &str,
        data: &str,
        rank: usize,
        depth: usize,
    ) -> Result<Option<Vec<Dim>>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let Some(n) = self.producer.get(name).copied() else {
            return Ok(match self.consts.contains_key(name) {
                true => Some(self.ints_of(name)?),
                false => None,
            });
        };
        let input = |i: usize| n.input.get(i).filter(|s| !s.is_empty()).cloned();
        let Some(first) = input(0) else {
            return Ok(match op_of(n) {
                "Constant" => Some(self.ints_of(name)?),
                _ => None,
            });
        };
        let sub = |r: &mut Self, i: &str| r.shape_dims(i, data, rank, depth + 1);
        Ok(match op_of(n) {
            "Shape" if first == data => {
                let wrap = |a: i64| (if a < 0 { a + rank as i64 } else { a }).clamp(0, rank as i64);
                let start = wrap(attr_int(n, "start", 0));
                let end = attr(n, "end").and_then(|a| a.i).map_or(rank as i64, wrap);
                Some(
                    (start..end.max(start))
                        .map(|a| Dim {
                            factor: 1,
                            axes: vec![a as usize],
                        })
                        .collect(),
                )
            }
            "Slice" => {
                let (Some(v), Some(s), Some(e)) = (sub(self, &first)?, input(1), input(2)) else {
                    return Ok(None);
                };
                let one_axis = match input(3) {
                    Some(a) => self.ints_of(&a)?.iter().all(|d| d.factor == 0),
                    None => true,
                };
                let unit_step = match input(4) {
                    Some(st) => self.ints_of(&st)?.iter().all(|d| d.factor == 1),
                    None => true,
                };
                let (s, e) = (self.ints_of(&s)?, self.ints_of(&e)?);
                match (one_axis && unit_step, s.as_slice(), e.as_slice()) {
                    (true, [s], [e]) => {
                        let len = v.len() as i64;
                        let wrap = |a: i64| (if a < 0 { a + len } else { a }).clamp(0, len);
                        let (s, e) = (wrap(s.factor), wrap(e.factor));
                        Some(v[s as usize..e.max(s) as usize].to_vec())
                    }
                    _ => None,
                }
            }
            "Gather" if attr_int(n, "axis", 0) == 0 => {
                let (Some(v), Some(i)) = (sub(self, &first)?, input(1)) else {
                    return Ok(None);
                };
                let len = v.len() as i64;
                let mut out = Vec::new();
                for d in self.ints_of(&i)? {
                    let k = if d.factor < 0 {
                        d.factor + len
                    } else {
                        d.factor
                    };
                    match v.get(k as usize).filter(|_| (0..len).contains(&k)) {
                        Some(x) => out.push(x.clone()),
                        None => return Ok(None),
                    }
                }
                Some(out)
            }
            "Concat" => {
                let mut out = Vec::new();
                for i in n.input.clone() {
                    match sub(self, &i)? {
                        Some(v) => out.extend(v),
                        None => return Ok(None),
                    }
                }
                Some(out)
            }
            "Mul" => {
                let (Some(a), Some(b)) = (sub(self, &first)?, input(1)) else {
                    return Ok(None);
                };
                let Some(b) = sub(self, &b)? else {
                    return Ok(None);
                };
                let at = |v: &[Dim], i: usize| v[if v.len() == 1 { 0 } else { i }].clone();
                if a.len() != b.len() && a.len() != 1 && b.len() != 1 {
                    return Ok(None);
                }
                (0..a.len().max(b.len()))
                    .map(|i| {
                        let (x, y) = (at(&a, i), at(&b, i));
                        x.factor.checked_mul(y.factor).map(|factor| Dim {
                            factor,
                            axes: [x.axes, y.axes].concat(),
                        })
                    })
                    .collect()
            }
            "Unsqueeze" | "Squeeze" | "Reshape" | "Cast" | "Identity" => sub(self, &first)?,
            _ => None,
        })
    }

    /// The constant integer tensor `name` as constant [`Dim`]s.
    fn ints_of(&mut self, name: &str) -> Result<Vec<Dim>> {
        let c = self.constant(name, "a shape")?;
        Ok(c.ints(name)?.iter().map(|&k| Dim::known(k)).collect())
    }
}
