//! The scan as CubeCL kernels on the Cube backends (wgpu, CUDA): one persistent launch forward
//! (`forward.rs`) and one backward through time (`backward.rs`), each with one cube per
//! sequence and the time loop inside; the weight gradients are then a few large products over
//! all B x T rows (here), as on the host. Inputs, outputs and saved planes have the host's
//! layouts, so both fused versions unpack the same way.

mod backward;
mod forward;
mod layout;

use burn::backend::ops::FloatTensorOps;
use burn::prelude::Shape;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::ops::reshape;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::CubeBackend;
use neuromod_kernels::cube::grads::{columns, empty_like, flat, layer_grads as layer, plane};
use neuromod_kernels::cube::pieces::units;
use neuromod_kernels::{CubeBackprop, CubeKernel};

use super::ScanShape;
use backward::scan_backward_kernel;
use forward::scan_forward_kernel;
use layout::Sizes;

type Cb = CubeBackend;

/// Whether the kernels' shared memory fits a cube ([`neuromod_kernels::cube::pieces::fits`]).
pub(super) fn fits(s: &ScanShape) -> bool {
    let sizes = Sizes::of(s);
    let floats = sizes.forward_shared().max(sizes.backward_shared());
    neuromod_kernels::cube::pieces::fits(s.batch, floats)
}

impl CubeKernel for ScanShape {
    fn sizes(&self) -> (usize, usize) {
        let rows = self.rows();
        (
            rows * self.out_width(),
            rows * self.saved_widths().iter().sum::<usize>(),
        )
    }

    fn forward(&self, [xproj, eps, h0, theta]: [CubeTensor; 4]) -> (CubeTensor, CubeTensor) {
        let (client, dtype) = (xproj.client.clone(), xproj.dtype);
        let (n_out, n_saved) = CubeKernel::sizes(self);
        let new = |n| empty_like(&xproj, n);
        let (out, saved) = (new(n_out), new(n_saved));
        let sizes = Sizes::of(self);
        scan_forward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units(sizes.widest()),
            xproj.into_tensor_arg(),
            eps.into_tensor_arg(),
            h0.into_tensor_arg(),
            theta.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            saved.clone().into_tensor_arg(),
            self.steps as u32,
            self.sigma_min,
            sizes,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        (out, saved)
    }

    fn backward(&self, pass: CubeBackprop) -> [CubeTensor; 4] {
        let CubeBackprop {
            inputs: [_, eps, h0, theta],
            out,
            saved,
            dout,
        } = pass;
        let (client, dtype) = (eps.client.clone(), eps.dtype);
        let (rows, h, e, z, fz) = (self.rows(), self.h, self.e, self.z, self.fz);
        let (le, lz, wcat) = (self.enc_layers, self.phiz_layers, e + 3 * h);
        let widths = 2 * wcat + 3 * z + (le - 1) * e + lz * fz + h;
        let new = |n| empty_like(&eps, n);
        let (g, dh0) = (new(rows * widths), new(self.batch * h));
        let sizes = Sizes::of(self);
        scan_backward_kernel::launch(
            &client,
            CubeCount::Static(self.batch as u32, 1, 1),
            units(sizes.widest()),
            eps.into_tensor_arg(),
            h0.into_tensor_arg(),
            theta.into_tensor_arg(),
            out.into_tensor_arg(),
            saved.clone().into_tensor_arg(),
            dout.into_tensor_arg(),
            g.clone().into_tensor_arg(),
            dh0.clone().into_tensor_arg(),
            self.steps as u32,
            sizes,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        // Plane offsets (in rows) of the gradients and of the saved activations.
        let (g_eps, g_head) = (2 * wcat, 2 * wcat + z);
        let g_enc = g_head + 2 * z;
        let g_f = g_enc + (le - 1) * e;
        let g_hprev = g_f + lz * fz;
        let (sv_z, sv_f) = (le * e + z, le * e + 2 * z);
        let gp = |at: usize, width: usize| plane(&g, at * rows, rows, width);
        let sp = |at: usize, width: usize| plane(&saved, at * rows, rows, width);
        // theta's order: [W_eh | W_hh], b_hh, encoder layers, head, phi_z layers, W_gz.
        let dpre = gp(wcat, wcat);
        let mut parts = layer(gp(g_hprev, h), dpre.clone(), false);
        let dbhh = columns(Cb::float_sum_dim(dpre, 0), e, 3 * h);
        parts.push(reshape(dbhh, Shape::new([3 * h])));
        for k in 1..le {
            parts.extend(layer(sp((k - 1) * e, e), gp(g_enc + (k - 1) * e, e), true));
        }
        parts.extend(layer(sp((le - 1) * e, e), gp(g_head, 2 * z), true));
        for k in 0..lz {
            let input = match k {
                0 => sp(sv_z, z),
                _ => sp(sv_f + (k - 1) * fz, fz),
            };
            parts.extend(layer(input, gp(g_f + k * fz, fz), true));
        }
        let dgi = columns(gp(0, wcat), e, 3 * h);
        parts.extend(layer(sp(sv_f + (lz - 1) * fz, fz), dgi, false));
        let dtheta = Cb::float_cat(parts, 0);
        let dxproj = plane(&g, 0, rows, wcat);
        let deps = plane(&g, g_eps * rows, rows, z);
        [dxproj, deps, dh0, dtheta].map(flat)
    }
}
