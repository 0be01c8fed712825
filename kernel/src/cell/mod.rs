//! Recurrent cells: the numeric kernels of one time step of one cell type, forward and
//! backward, with scalar and SIMD twins. One sub-module per cell type ([`lstm`], [`gru`]). Layer: above [`crate::primitives`] and [`crate::activation`], below the layers
//! ([`crate::lstm`]). See docs/architecture.md, "adding a cell type".

pub mod gru;
mod lanes;
pub mod lstm;
