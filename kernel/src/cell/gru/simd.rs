//! The GRU cell on `wide` vectors (`f32`): the trait's slice path, whose products are the
//! SIMD primitives (`gemv_t_acc`, `axpy`: 8-lane broadcast multiply-adds), with the gate
//! maths on 8 units per `f32x8` (the `H % 8` tail on scalars, the same formulas). The
//! backward is the trait's (SIMD `ger`, `gemv`). Tested against the scalar cell in
//! `tests/kernel/gru.rs`.

use wide::f32x8;

use super::{GruKernels, UnitMap};
use crate::primitives::Simd;

const LANES: usize = 8;

impl GruKernels<f32> for Simd {
    #[inline(always)]
    fn map_units<M: UnitMap<I, O>, const I: usize, const O: usize>(
        m: M,
        ins: [&[f32]; I],
        mut outs: [&mut [f32]; O],
    ) {
        let n = ins
            .iter()
            .map(|s| s.len())
            .chain(outs.iter().map(|s| s.len()))
            .min()
            .unwrap_or(0);
        let mut j = 0;
        while j + LANES <= n {
            let v = m.apply(ins.map(|s| {
                s.get(j..j + LANES)
                    .and_then(|t| t.first_chunk::<LANES>())
                    .map_or(f32x8::ZERO, |a| f32x8::new(*a))
            }));
            for (o, y) in outs.iter_mut().zip(v) {
                if let Some(d) = o.get_mut(j..j + LANES).and_then(|t| t.first_chunk_mut()) {
                    *d = y.to_array();
                }
            }
            j += LANES;
        }
        while j < n {
            let v = m.apply(ins.map(|s| s.get(j).copied().unwrap_or(0.0)));
            for (o, y) in outs.iter_mut().zip(v) {
                if let Some(d) = o.get_mut(j) {
                    *d = y;
                }
            }
            j += 1;
        }
    }
}
