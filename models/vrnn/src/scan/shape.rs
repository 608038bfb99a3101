//! Sizes of the latent GRU scan and the layouts of its packed tensors.
//!
//! The scan is the part of a VRNN-style filtering pass that must run step by step
//! (`h_{t-1} -> q(z_t | x_t, h_{t-1}) -> z_t -> h_t`). Everything it needs from the
//! observations arrives precomputed for all steps at once, and its weights arrive packed in
//! one flat vector `theta`, so the op has a fixed number of tensor inputs whatever the layer
//! counts.

/// Sizes of one scan. Rows of the `[batch, steps, ..]` tensors are indexed `b * steps + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanShape {
    /// Sequences B.
    pub batch: usize,
    /// Steps T.
    pub steps: usize,
    /// Recurrent width H.
    pub h: usize,
    /// Encoder width E.
    pub e: usize,
    /// Encoder layers (at least 1); the first reads [phi_x(x_t), h_{t-1}], its x part
    /// precomputed.
    pub enc_layers: usize,
    /// Latent width Z.
    pub z: usize,
    /// Width of phi_z.
    pub fz: usize,
    /// Layers of phi_z (at least 1).
    pub phiz_layers: usize,
    /// Floor added to the posterior's standard deviation.
    pub sigma_min: f32,
}

/// Where one weight matrix (and its bias) sits in `theta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dense {
    /// Offset of the row-major weight [rows, cols].
    pub w: usize,
    /// Offset of the bias [cols] (usize::MAX: none).
    pub b: usize,
    pub rows: usize,
    pub cols: usize,
}

/// Offsets of every weight in `theta`, in packing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ThetaLayout {
    /// [W_eh | W_hh]: [H, E + 3H]; the bias b_hh [3H] sits after it (applied to the W_hh part).
    pub wh: Dense,
    /// Encoder layers 2..=L: [E, E] each.
    pub enc: Vec<Dense>,
    /// [mu | sigma] head: [E, 2Z].
    pub head: Dense,
    /// phi_z layers: [Z, Fz], then [Fz, Fz].
    pub phiz: Vec<Dense>,
    /// phi_z(z_t) part of the GRU input projection: [Fz, 3H], no bias (it is in `gx`).
    pub wgz: Dense,
    /// Total length of theta.
    pub len: usize,
}

impl ScanShape {
    /// Width of all output planes together.
    pub fn out_width(&self) -> usize {
        self.h + 2 * self.z + self.fz
    }

    /// Packing order of theta: [W_eh | W_hh], b_hh, encoder layers 2..=L (W, b), head (W, b),
    /// phi_z layers (W, b), W_gz.
    pub(crate) fn theta(&self) -> ThetaLayout {
        let mut at = 0;
        let mut dense = |rows: usize, cols: usize, bias: bool| {
            let w = at;
            at += rows * cols;
            let b = if bias {
                at += cols;
                w + rows * cols
            } else {
                usize::MAX
            };
            Dense { w, b, rows, cols }
        };
        let (h, e, z, fz) = (self.h, self.e, self.z, self.fz);
        let wh = dense(h, e + 3 * h, false);
        let _bhh = dense(1, 3 * h, false); // b_hh, addressed as wh.w + h (e + 3h)
        let enc = (1..self.enc_layers).map(|_| dense(e, e, true)).collect();
        let head = dense(e, 2 * z, true);
        let phiz = (0..self.phiz_layers)
            .map(|k| dense(if k == 0 { z } else { fz }, fz, true))
            .collect();
        let wgz = dense(fz, 3 * h, false);
        ThetaLayout {
            wh,
            enc,
            head,
            phiz,
            wgz,
            len: at,
        }
    }

    /// Widths of the saved planes: a_1..a_L (E), slope of the softplus (Z), z (Z),
    /// f_1..f_L of phi_z (Fz), r, u, n and W_hn h + b_hn (H each).
    pub(crate) fn saved_widths(&self) -> Vec<usize> {
        let mut w = vec![self.e; self.enc_layers];
        w.extend([self.z, self.z]);
        w.extend(std::iter::repeat_n(self.fz, self.phiz_layers));
        w.extend([self.h; 4]);
        w
    }

    /// Widths of the output planes: h_t (H), mu_t (Z), sigma_t (Z), phi_z(z_t) (Fz).
    pub fn out_widths(&self) -> [usize; 4] {
        [self.h, self.z, self.z, self.fz]
    }

    /// Offset of b_hh in theta.
    pub(crate) fn bhh(&self) -> usize {
        self.h * (self.e + 3 * self.h)
    }

    /// Rows B * T.
    pub fn rows(&self) -> usize {
        self.batch * self.steps
    }
}
