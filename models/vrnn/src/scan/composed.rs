//! The latent GRU scan composed from tensor operations, one step at a time: what devices
//! without the fused operation run (wgpu), and the reference the fused operation is tested
//! against. Autodiff derives its gradient.

use burn::prelude::*;
use burn::tensor::activation::relu;

use super::weights::ScanWeights;
use super::{ScanInput, ScanOutput};
use neuromod_core::sigma_from;
use neuromod_kernels::gru_update;

/// Runs the chain step by step with tensor operations.
pub fn latent_gru_scan_composed(input: ScanInput, w: &ScanWeights, sigma_min: f64) -> ScanOutput {
    let ScanInput { x_proj, eps, h0 } = input;
    let [b, steps, _] = x_proj.dims();
    let h_dim = h0.dims()[1];
    let e = w.wh.dims()[1] - 3 * h_dim;
    let ex = x_proj.clone().narrow(2, 0, e);
    let gx = x_proj.narrow(2, e, 3 * h_dim);
    let z = w.head.0.dims()[1] / 2;
    let row = |t: usize| {
        move |x: &Tensor<3>| {
            let width = x.dims()[2];
            x.clone().narrow(1, t, 1).reshape([b, width])
        }
    };
    let mut h = h0;
    let mut outs: [Vec<Tensor<2>>; 4] = Default::default();
    for t in 0..steps {
        let at = row(t);
        let pre = h.clone().matmul(w.wh.clone()); // [B, E + 3H]
        let mut a = relu(pre.clone().narrow(1, 0, e) + at(&ex));
        let gh = pre.narrow(1, e, 3 * h_dim) + w.bhh.clone().unsqueeze_dim(0);
        for (wk, bk) in &w.enc {
            a = relu(a.matmul(wk.clone()) + bk.clone().unsqueeze_dim(0));
        }
        let head = a.matmul(w.head.0.clone()) + w.head.1.clone().unsqueeze_dim(0); // [B, 2Z]
        let mu = head.clone().narrow(1, 0, z);
        let sigma = sigma_from(head.narrow(1, z, z), sigma_min);
        let mut f = mu.clone() + sigma.clone() * at(&eps);
        for (wk, bk) in &w.phiz {
            f = relu(f.matmul(wk.clone()) + bk.clone().unsqueeze_dim(0));
        }
        let gi = at(&gx) + f.clone().matmul(w.wgz.clone());
        h = gru_update(gi, gh, h);
        for (list, value) in outs.iter_mut().zip([h.clone(), mu, sigma, f]) {
            list.push(value);
        }
    }
    let [h, mu, sigma, fz] = outs.map(|v| Tensor::stack::<3>(v, 1));
    ScanOutput { h, mu, sigma, fz }
}
