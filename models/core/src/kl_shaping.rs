//! Shaping of the KL term the optimiser sees (never of the KL that is reported):
//! free nats (Kingma et al. 2016; DreamerV3, Hafner et al. 2023) and KL balancing
//! (DreamerV2, Hafner et al. 2021).

use burn::prelude::*;

use crate::gaussian::DiagGaussian;
use crate::trajectory::Trajectory;

/// How the KL term of the training loss is shaped. The default changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KlShaping {
    /// Free nats per step: a step's KL below this counts as this value and passes no gradient,
    /// so the posterior is not pulled onto the prior once it is that close (0: off).
    pub free_nats: f64,
    /// KL balancing alpha in [0, 1]: alpha KL(sg(q) || p) + (1 - alpha) KL(q || sg(p)) trains
    /// the prior towards the posterior faster than the reverse (None: plain KL(q || p)). Its
    /// value equals the KL; only the gradients are split.
    pub balance: Option<f64>,
}

impl KlShaping {
    /// Whether this changes the loss at all.
    pub fn is_identity(&self) -> bool {
        self.free_nats <= 0.0 && self.balance.is_none()
    }

    /// The per-step KL the loss uses: [batch, time], zero on padding.
    pub fn kl(&self, traj: &Trajectory) -> Tensor<2> {
        let mask = traj.elbo.mask.clone();
        let mut kl = match self.balance {
            None => traj.elbo.kl.clone(),
            Some(alpha) => {
                let [b, t, z] = traj.posterior.0.dims();
                let flat = |x: &Tensor<3>| x.clone().reshape([b * t, z]);
                let q = DiagGaussian {
                    mu: flat(&traj.posterior.0),
                    sigma: flat(&traj.posterior.1),
                };
                let p = DiagGaussian {
                    mu: flat(&traj.prior.0),
                    sigma: flat(&traj.prior.1),
                };
                let detached = |g: &DiagGaussian| DiagGaussian {
                    mu: g.mu.clone().detach(),
                    sigma: g.sigma.clone().detach(),
                };
                let train_prior = detached(&q).kl(&p);
                let train_posterior = q.kl(&detached(&p));
                (train_prior * alpha + train_posterior * (1.0 - alpha)).reshape([b, t])
                    * mask.clone()
            }
        };
        if self.free_nats > 0.0 {
            // max(KL, free): below the floor the value is the constant and the gradient is 0.
            kl = kl.clamp_min(self.free_nats) * mask;
        }
        kl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::ElboTerms;

    #[allow(deprecated)]
    fn device() -> Device {
        Device::ndarray().autodiff()
    }

    /// A one-step, one-dimensional trajectory with q = N(mq, 1) and p = N(mp, 1) whose means
    /// are leaves that track gradients: KL = (mq - mp)^2 / 2.
    fn traj(mq: f32, mp: f32, device: &Device) -> (Trajectory, Tensor<3>, Tensor<3>) {
        let leaf = |v: f32| Tensor::<3>::from_floats([[[v]]], device).require_grad();
        let (q, p) = (leaf(mq), leaf(mp));
        let one = Tensor::<3>::ones([1, 1, 1], device);
        let kl = DiagGaussian {
            mu: q.clone().reshape([1, 1]),
            sigma: one.clone().reshape([1, 1]),
        }
        .kl(&DiagGaussian {
            mu: p.clone().reshape([1, 1]),
            sigma: one.clone().reshape([1, 1]),
        })
        .reshape([1, 1]);
        let t = Trajectory {
            elbo: ElboTerms {
                kl,
                nll: Tensor::zeros([1, 1], device),
                reward_nll: None,
                mask: Tensor::ones([1, 1], device),
            },
            prior: (p.clone(), one.clone()),
            posterior: (q.clone(), one),
            h: Tensor::zeros([1, 1, 1], device),
        };
        (t, q, p)
    }

    fn scalar<const D: usize>(t: Tensor<D>) -> f32 {
        t.into_data().try_into_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn balancing_keeps_the_value_and_splits_the_gradient() {
        let device = device();
        for alpha in [0.0, 0.8, 1.0] {
            let (t, q, p) = traj(1.0, -1.0, &device);
            let shaping = KlShaping {
                free_nats: 0.0,
                balance: Some(alpha),
            };
            let kl = shaping.kl(&t).sum();
            assert!((scalar(kl.clone()) - 2.0).abs() < 1e-6, "value changed");
            let grads = kl.backward();
            // d KL / d mq = mq - mp = 2; d KL / d mp = -2; each side gets its share.
            let gq = q.grad(&grads).map_or(0.0, scalar);
            let gp = p.grad(&grads).map_or(0.0, scalar);
            assert!(
                (gq - 2.0 * (1.0 - alpha as f32)).abs() < 1e-6,
                "alpha {alpha}: {gq}"
            );
            assert!(
                (gp + 2.0 * alpha as f32).abs() < 1e-6,
                "alpha {alpha}: {gp}"
            );
        }
    }

    #[test]
    fn free_nats_floor_the_value_and_stop_the_gradient_below_them() {
        let device = device();
        let shaping = KlShaping {
            free_nats: 1.0,
            balance: None,
        };
        // KL 0.125 < 1: the loss sees 1 and no gradient.
        let (t, q, _) = traj(0.5, 0.0, &device);
        let kl = shaping.kl(&t).sum();
        assert_eq!(scalar(kl.clone()), 1.0);
        let g = q.grad(&kl.backward()).map_or(0.0, scalar);
        assert_eq!(g, 0.0);
        // KL 2 > 1: unchanged, gradient mq - mp = 2.
        let (t, q, _) = traj(2.0, 0.0, &device);
        let kl = shaping.kl(&t).sum();
        assert!((scalar(kl.clone()) - 2.0).abs() < 1e-6);
        let g = q.grad(&kl.backward()).map_or(0.0, scalar);
        assert!((g - 2.0).abs() < 1e-6);
        assert!(KlShaping::default().is_identity());
    }
}
