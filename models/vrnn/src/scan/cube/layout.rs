//! What the scan's two CubeCL kernels share: their compile-time sizes and shared-memory
//! lengths.

use crate::scan::ScanShape;

/// The scan's sizes as the kernels are compiled for them (one compilation per model size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Sizes {
    pub h: u32,
    pub e: u32,
    pub z: u32,
    pub fz: u32,
    pub enc_layers: u32,
    pub phiz_layers: u32,
}

impl Sizes {
    pub(super) fn of(s: &ScanShape) -> Self {
        Self {
            h: s.h as u32,
            e: s.e as u32,
            z: s.z as u32,
            fz: s.fz as u32,
            enc_layers: s.enc_layers as u32,
            phiz_layers: s.phiz_layers as u32,
        }
    }

    /// Forward: h | a (2 E) | head (2 Z) | z (Z) | f (2 Fz) | gh (3 H).
    pub(super) fn forward_shared(&self) -> usize {
        (4 * self.h + 2 * self.e + 3 * self.z + 2 * self.fz) as usize
    }

    /// Backward: dcarry (H) | dgi (3 H) | dpre (E + 3 H) | df (2 max(Fz, Z)) | dhead (2 Z) |
    /// da (2 E).
    pub(super) fn backward_shared(&self) -> usize {
        (7 * self.h + 3 * self.e + 2 * self.fz.max(self.z) + 2 * self.z) as usize
    }

    /// The widest stage of a step.
    pub(super) fn widest(&self) -> usize {
        (self.e + 3 * self.h).max(2 * self.z).max(self.fz) as usize
    }
}
