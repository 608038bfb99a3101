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
    /// Where blocks start in theta, from the one layout (`ScanShape::theta`): b_hh, encoder
    /// layer 2 (layer k + 1 at enc + (k - 1)(E E + E)), the head, phi_z layers 1 and 2 (layer
    /// k + 1 at phiz1 + (k - 1)(Fz Fz + Fz)), W_gz.
    pub bhh: u32,
    pub enc: u32,
    pub head: u32,
    pub phiz0: u32,
    pub phiz1: u32,
    pub wgz: u32,
}

impl Sizes {
    pub(super) fn of(s: &ScanShape) -> Self {
        let th = s.theta();
        let at = |w: usize| w as u32;
        Self {
            bhh: at(s.bhh()),
            // Without a second encoder (phi_z) layer the offset is never read.
            enc: at(th.enc.first().map_or(th.head.w, |d| d.w)),
            head: at(th.head.w),
            phiz0: at(th.phiz[0].w),
            phiz1: at(th.phiz.get(1).map_or(th.wgz.w, |d| d.w)),
            wgz: at(th.wgz.w),
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
