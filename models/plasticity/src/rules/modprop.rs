//! ModProp (Liu, Smith, Mihalas, Shea-Brown & Sümbül 2022, NeurIPS; arXiv 2206.01338): credit
//! carried back over any number of steps by cell-type-specific modulators, as causal,
//! time-invariant filters on the eligibility traces. Two approximations turn BPTT into it:
//!
//! 1. the recurrent weights on the way back are their type averages over every pair of cells
//!    ([`Averaging::Blocks`]), so a modulator's receptor can know them;
//! 2. the activation derivative on the way back through them is a constant mu (it stays exact
//!    in the cell's own trace and at the readout).
//!
//! With d^t the credit of h^t: d^t = phi'(h^t) L^t + alpha d^{t+1} + mu d^{t+1} W_bar^T, and
//! the update is sum_t r^{t-1 T} d^t (x^{t T} d^t for the inputs): BPTT's recursion with its
//! Jacobian time-invariant, so the sum over paths is a fixed filter per type pair (the paper's
//! filter taps). It is computed here by that backward recursion, which gives the same sums as
//! the forward filters. With a linear network, mu = 1 and the exact weights it is BPTT (tested).
//! The authors' code uses mu = 0.25 for ReLU units (ModProp, `neuron_models.py`); for tanh
//! units here the default is 0.5.

use super::cell_types::{modulated_weights, Averaging};
use super::eprop::readout_signals;
use super::{readout_grads, Grads, LearningRule};
use crate::network::{Network, Trials};

/// ModProp with a choice of weights and derivative.
#[derive(Debug, Clone, Copy)]
pub struct ModProp {
    /// The paper's: type averages over every pair of cells.
    pub averaging: Averaging,
    /// The constant standing for phi' on the way back through the recurrent weights.
    pub mu: f64,
}

/// ModProp with the paper's averages and mu = 0.5.
pub static MODPROP: ModProp = ModProp {
    averaging: Averaging::Blocks,
    mu: 0.5,
};

impl LearningRule for ModProp {
    fn name(&self) -> &'static str {
        "modprop"
    }

    fn grads(&self, net: &Network, trials: &Trials) -> Grads {
        let pass = net.run(trials);
        let signals = readout_signals(net, &pass, trials);
        let (w_out, b_out, loss) = readout_grads(net, &pass, trials);
        let back = modulated_weights(net, self.averaging).transpose() * self.mu;
        let (mut w_in, mut w_rec) = (
            net.w_in.clone().zeros_like(),
            net.w_rec.clone().zeros_like(),
        );
        let mut d = signals[0].clone().zeros_like();
        for t in (0..signals.len()).rev() {
            let local = signals[t].clone() * net.activation.derivative(pass.h[t].clone());
            d = local + d.clone() * net.alpha + d.matmul(back.clone());
            let (x, _, _) = trials.step(t);
            w_in = w_in + x.transpose().matmul(d.clone());
            if t > 0 {
                w_rec = w_rec + pass.r[t - 1].clone().transpose().matmul(d.clone());
            }
        }
        Grads {
            w_in,
            w_rec,
            w_out,
            b_out,
            loss,
        }
    }
}
