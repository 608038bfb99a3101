//! Every per-step signal of a world model over a split, gathered once into host arrays padded
//! to the longest sequence (what `neuromod signals` exports, `report` draws and `bench science`
//! measures): the observations and mask, the one-step SPE (vector, norm, KL surprise), the
//! prior and posterior, the state h_t, and the SF TD errors per timescale. The latents are the
//! posterior means (deterministic); one host read per batch and tensor.

use std::collections::BTreeMap;

use burn::prelude::*;
use neuromod_core::Noise;
use neuromod_datasets::SequenceSet;
use neuromod_spe::{one_step, SfHeads};
use neuromod_world::{SequenceModel, WorldModel};

use crate::batcher::{batch_indices, to_batch};
use crate::TrainError;

/// A named float32 array, C order: [sequences, t_max, ..], zeros past each sequence's end.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalArray {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

impl SignalArray {
    fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Self {
            shape,
            data: vec![0.0; n],
        }
    }

    /// Copies row `row` of a [batch, t_max, d] batch tensor's values into sequence `seq`,
    /// first `steps` steps only.
    fn put(&mut self, seq: usize, values: &[f32], row: usize, t_batch: usize, steps: usize) {
        let d: usize = self.shape[2..].iter().product();
        let t_all = self.shape[1];
        let src = &values[row * t_batch * d..(row * t_batch + steps) * d];
        self.data[seq * t_all * d..(seq * t_all + steps) * d].copy_from_slice(src);
    }
}

fn host<const D: usize>(t: Tensor<D>, what: &'static str) -> Result<Vec<f32>, TrainError> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| TrainError::Readback {
            what,
            reason: format!("{e:?}"),
        })
}

/// The signals of `model` over `set`, by name: `x`, `mask`,
/// `spe/onestep/{vec,norm,kl}`, `prior/{mu,sigma}`, `posterior/{mu,sigma}`, `h`, and with SF
/// heads `spe/sf/gamma_<g>/{delta,rms}` (the TD error of the transition t -> t+1 at step t).
/// The model's posterior must be causal (the caller checks `filtering()`).
pub fn collect_signals(
    set: &SequenceSet,
    model: &WorldModel,
    sf: Option<&SfHeads>,
    batch_size: usize,
    device: &Device,
) -> Result<BTreeMap<String, SignalArray>, TrainError> {
    // The state s_t is [h_t, muq_t]; h_t is whatever the family carries forward in time.
    let layout = model.state_layout();
    let (z, h) = (layout.z, layout.deterministic);
    let n = set.len();
    let t_max = (0..n).map(|i| set.steps(i)).max().unwrap_or(0);
    let mut arrays = BTreeMap::new();
    let mut add = |name: &str, shape: Vec<usize>| {
        arrays.insert(name.to_string(), SignalArray::zeros(shape));
    };
    add("x", vec![n, t_max, set.dim]);
    add("mask", vec![n, t_max]);
    add("spe/onestep/vec", vec![n, t_max, z]);
    add("spe/onestep/norm", vec![n, t_max]);
    add("spe/onestep/kl", vec![n, t_max]);
    for name in ["prior/mu", "prior/sigma", "posterior/mu", "posterior/sigma"] {
        add(name, vec![n, t_max, z]);
    }
    add("h", vec![n, t_max, h]);
    if let Some(sf) = sf {
        for g in &sf.gammas {
            add(&format!("spe/sf/gamma_{g}/delta"), vec![n, t_max, z]);
            add(&format!("spe/sf/gamma_{g}/rms"), vec![n, t_max]);
        }
    }
    for idx in batch_indices(set, batch_size, None) {
        let batch = to_batch(set, &idx, device);
        let t_batch = batch.x.dims()[1];
        let traj = model.forward(&batch, Noise::Mean);
        let spe = one_step(&traj);
        let mut tensors: Vec<(String, Vec<f32>)> = vec![
            ("x".into(), host(batch.x.clone(), "x")?),
            ("mask".into(), host(batch.mask.clone(), "mask")?),
            ("spe/onestep/vec".into(), host(spe.vec, "SPE")?),
            ("spe/onestep/norm".into(), host(spe.norm, "SPE norm")?),
            ("spe/onestep/kl".into(), host(spe.kl, "KL")?),
            ("prior/mu".into(), host(traj.prior.0.clone(), "prior")?),
            ("prior/sigma".into(), host(traj.prior.1.clone(), "prior")?),
            (
                "posterior/mu".into(),
                host(traj.posterior.0.clone(), "posterior")?,
            ),
            (
                "posterior/sigma".into(),
                host(traj.posterior.1.clone(), "posterior")?,
            ),
            ("h".into(), host(traj.h.clone(), "h")?),
        ];
        if let Some(sf) = sf {
            let out = sf.sequence_td(&traj, true);
            for ((g, d), r) in sf.gammas.iter().zip(out.delta).zip(out.rms) {
                tensors.push((format!("spe/sf/gamma_{g}/delta"), host(d, "SF delta")?));
                tensors.push((format!("spe/sf/gamma_{g}/rms"), host(r, "SF rms")?));
            }
        }
        for (name, values) in tensors {
            let array = arrays.get_mut(&name).expect("allocated above");
            for (row, &seq) in idx.iter().enumerate() {
                array.put(seq, &values, row, t_batch, set.steps(seq));
            }
        }
    }
    Ok(arrays)
}
