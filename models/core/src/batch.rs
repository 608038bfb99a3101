//! A padded batch of sequences as the model consumes it.

use burn::prelude::*;

/// Sequences padded to a common length T; padding is marked by `mask` = 0.
#[derive(Debug, Clone)]
pub struct SeqBatch {
    /// Observations x: [batch, time, x_dim].
    pub x: Tensor<3>,
    /// 1 on real steps, 0 on padding: [batch, time].
    pub mask: Tensor<2>,
    /// Optional actions a_t taken after observing x_t: [batch, time, action_dim].
    pub actions: Option<Tensor<3>>,
    /// Optional rewards r_t delivered with x_t: [batch, time].
    pub rewards: Option<Tensor<2>>,
}

impl SeqBatch {
    /// A batch without actions or rewards.
    pub fn new(x: Tensor<3>, mask: Tensor<2>) -> Self {
        Self {
            x,
            mask,
            actions: None,
            rewards: None,
        }
    }

    /// [batch, time, x_dim]
    pub fn dims(&self) -> [usize; 3] {
        self.x.dims()
    }

    /// The same batch on another device.
    pub fn to_device(self, device: &Device) -> Self {
        Self {
            x: self.x.to_device(device),
            mask: self.mask.to_device(device),
            actions: self.actions.map(|a| a.to_device(device)),
            rewards: self.rewards.map(|r| r.to_device(device)),
        }
    }
}
