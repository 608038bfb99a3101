//! The weights a latent GRU scan reads, as tensors (views of a model's parameters).

use burn::prelude::*;

use super::shape::ScanShape;

pub use neuromod_kernels::Layer;

/// Weights of the step-by-step chain, in the order [`ScanWeights::pack`] lays them out.
#[derive(Debug, Clone)]
pub struct ScanWeights {
    /// [W_eh | W_hh]: the h_{t-1} rows of the first encoder layer beside the GRU's hidden
    /// projection: [H, E + 3H].
    pub wh: Tensor<2>,
    /// Bias of the GRU's hidden projection b_hh: \[3H\].
    pub bhh: Tensor<1>,
    /// Encoder layers 2..=L: [E, E] each.
    pub enc: Vec<Layer>,
    /// Posterior head [mu | pre-softplus sigma]: [E, 2Z].
    pub head: Layer,
    /// phi_z layers: [Z, Fz], then [Fz, Fz].
    pub phiz: Vec<Layer>,
    /// phi_z(z_t) rows of the GRU input projection: [Fz, 3H].
    pub wgz: Tensor<2>,
}

impl ScanWeights {
    /// The sizes these weights imply for a scan over `batch` x `steps`.
    pub fn shape(&self, batch: usize, steps: usize, sigma_min: f64) -> ScanShape {
        let [h, wcat] = self.wh.dims();
        let [fz, _] = self.wgz.dims();
        let [e, z2] = self.head.0.dims();
        ScanShape {
            batch,
            steps,
            h,
            e: wcat - 3 * h,
            enc_layers: self.enc.len() + 1,
            z: z2 / 2,
            fz,
            phiz_layers: self.phiz.len(),
            sigma_min: sigma_min as f32,
        }
        .with_encoder_width(e)
    }

    /// All weights flattened into one vector (the fused scan's `theta`).
    pub fn pack(&self) -> Tensor<1> {
        let flat = |t: &Tensor<2>| t.clone().flatten::<1>(0, 1);
        let mut parts = vec![flat(&self.wh), self.bhh.clone()];
        for (w, b) in self.enc.iter().chain([&self.head]).chain(&self.phiz) {
            parts.extend([flat(w), b.clone()]);
        }
        parts.push(flat(&self.wgz));
        Tensor::cat(parts, 0)
    }
}

impl ScanShape {
    /// Checks that the encoder width read from the heads agrees with the one read from `wh`.
    fn with_encoder_width(self, e: usize) -> Self {
        assert_eq!(
            self.e, e,
            "encoder width of [W_eh | W_hh] and of the head disagree"
        );
        self
    }
}
