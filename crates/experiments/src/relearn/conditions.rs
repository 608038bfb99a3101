//! The relearn experiment's conditions: how the critic's online learning rate is set at each
//! step of the stream, and the critic's run along the stream under each.

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use neuromod_critic::DistCritic;

use crate::critic_fit::{select, Latents};
use crate::relearn::gates::{running_gates, window_gates, Shape};
use crate::{host, ExperimentError};

/// The conditions compared, in report order (the first four are those of the first version,
/// at the same indices, so its results still read).
pub const CONDITIONS: [&str; 9] = [
    "ungated",
    "KL-gated",
    "uncertainty-gated",
    "no online learning",
    "KL-damped, recent window",
    "uncertainty-damped, recent window",
    "KL-boosted, recent window",
    "uncertainty-boosted, recent window",
    "oracle: paused after the switch",
];

/// The condition that never learns online.
pub const FROZEN: usize = 3;

/// The per-step learning-rate multipliers of every condition (None: 1 at every step; the
/// frozen condition's is unused): the whole-past gates of KL and uncertainty, the same
/// signals damped and boosted on the last `window` steps, and the oracle, which learns at
/// the base rate except for the `pause` steps from the true switch on.
pub fn rates(
    (kl, sigma): (&[f64], &[f64]),
    window: usize,
    (switch, pause): (usize, usize),
) -> Vec<Option<Vec<f64>>> {
    let oracle = (0..kl.len())
        .map(|t| f64::from(u8::from(!(switch..switch + pause).contains(&t))))
        .collect();
    vec![
        None,
        Some(running_gates(kl)),
        Some(running_gates(sigma)),
        None,
        Some(window_gates(kl, window, Shape::Damp)),
        Some(window_gates(sigma, window, Shape::Damp)),
        Some(window_gates(kl, window, Shape::Boost)),
        Some(window_gates(sigma, window, Shape::Boost)),
        Some(oracle),
    ]
}

/// The critic along the stream under each condition: value errors |mean_i V_i(s_(t-1)) -
/// G_(t-1)| per transition (t = 1..T), each read before the update on that transition; one
/// SGD step (lr `lr` times the condition's rate at the arriving step) per transition, none
/// for [`FROZEN`].
pub fn critic_online(
    pretrained: &DistCritic,
    lat: &Latents,
    returns: &Tensor<1>,
    rates: &[Option<Vec<f64>>],
    lr: f64,
) -> Result<Vec<Vec<f64>>, ExperimentError> {
    let [_, steps] = lat.dims();
    let device = lat.state.device();
    let all = lat.transitions(1, steps);
    let mut out = Vec::new();
    for (k, rate) in rates.iter().enumerate() {
        let mut critic = pretrained.clone();
        let mut optim = SgdConfig::new().init();
        let mut errors = Vec::with_capacity(steps - 1);
        for t in 1..steps {
            let mut tr = select(&all, &[t - 1]);
            let v = critic
                .values(tr.state.clone())
                .detach()
                .mean_dim(1)
                .reshape([1]);
            errors.push((v - returns.clone().narrow(0, t - 1, 1)).abs());
            if k != FROZEN {
                if let Some(g) = rate {
                    let g = vec![g[t] as f32];
                    tr.weight = Some(Tensor::from_data(TensorData::new(g, [1]), &device));
                }
                let loss = critic.td(&tr).loss;
                let grads = GradientsParams::from_grads(loss.backward(), &critic);
                critic = optim.step(lr, critic, grads);
            }
        }
        let e = host(Tensor::cat(errors, 0), "value errors")?;
        out.push(e.into_iter().map(f64::from).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_condition_has_its_rates_and_the_oracle_pauses_exactly_after_the_switch() {
        let kl: Vec<f64> = (0..40).map(|t| if t < 20 { 0.1 } else { 2.0 }).collect();
        let sigma = vec![0.5; 40];
        let r = rates((&kl, &sigma), 10, (20, 5));
        assert_eq!(r.len(), CONDITIONS.len());
        assert!(r[0].is_none() && r[FROZEN].is_none());
        let oracle = r[8].as_ref().unwrap();
        let paused: Vec<usize> = (0..40).filter(|&t| oracle[t] == 0.0).collect();
        assert_eq!(paused, vec![20, 21, 22, 23, 24]);
        assert!(oracle.iter().all(|&g| g == 0.0 || g == 1.0));
        // A constant uncertainty gates nothing, in any shape.
        for k in [2, 5, 7] {
            assert!(r[k]
                .as_ref()
                .unwrap()
                .iter()
                .all(|&g| (g - 1.0).abs() < 1e-12));
        }
        // At the KL's jump the damped gates close and the boosted one opens.
        let at = |k: usize| r[k].as_ref().unwrap()[20];
        assert!(at(1) < 0.2 && at(4) < 0.2 && at(6) > 5.0, "{r:?}");
    }
}
