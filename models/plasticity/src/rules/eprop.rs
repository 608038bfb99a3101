//! e-prop (Bellec et al. 2020, Nat Commun 11:3625), for leaky rate units: the gradient
//! factorised as dE/dW_ji ~ sum_t L_j^t e_ji^t, a learning signal broadcast from the readout
//! times an eligibility trace computed forward in time, local to the synapse.
//!
//! - Learning signal: L_j^t = dE/dr_j^t through the readout alone (symmetric feedback):
//!   L^t = err_t W_out^T. Only the output types' cells receive one (the readout reads only
//!   them): the top-down, dopamine-like factor of the rule.
//! - Eligibility: e_ji^t = phi'(h_j^t) eps_ji^t with eps_ji^t = alpha eps_ji^{t-1} +
//!   dh_j^t/dW_ji. For these units dh_j^t/dW_ji = r_i^{t-1} does not depend on j, so the
//!   eligibility vector is a low-pass filter of the presynaptic rate, rbar_i^t = alpha
//!   rbar_i^{t-1} + r_i^{t-1} (and xbar for the inputs), and the update is
//!   sum_t rbar^t^T (L^t * phi'(h^t)).
//! - What it truncates: every path from W_ji to the loss through the recurrent weights (the
//!   dependence of h_l^{t+1} on r_j^t; the network has no self-connections, so only through
//!   other cells). Without recurrent weights nothing is truncated and e-prop is exact (tested
//!   against BPTT).

use burn::prelude::*;

use super::{readout_grads, Grads, LearningRule};
use crate::network::{Network, Pass, Trials};

/// e-prop with symmetric feedback.
#[derive(Debug, Clone, Copy)]
pub struct Eprop;

impl LearningRule for Eprop {
    fn name(&self) -> &'static str {
        "eprop"
    }

    fn grads(&self, net: &Network, trials: &Trials) -> Grads {
        let pass = net.run(trials);
        let signals = readout_signals(net, &pass, trials);
        eligibility_grads(net, &pass, trials, &signals)
    }
}

/// The learning signals L^t = err_t W_out^T, each [B, N].
pub(crate) fn readout_signals(net: &Network, pass: &Pass, trials: &Trials) -> Vec<Tensor<2>> {
    feedback_signals(net, pass, trials, &net.w_out)
}

/// The learning signals through feedback weights `b` [N, K]: L^t = err_t b^T, each [B, N].
pub(crate) fn feedback_signals(
    net: &Network,
    pass: &Pass,
    trials: &Trials,
    b: &Tensor<2>,
) -> Vec<Tensor<2>> {
    (0..trials.steps())
        .map(|t| net.error(pass, trials, t).matmul(b.clone().transpose()))
        .collect()
}

/// sum_t L^t e^t for the given learning signals, through the eligibility traces computed
/// forward in time; the readout's gradients are exact.
pub(crate) fn eligibility_grads(
    net: &Network,
    pass: &Pass,
    trials: &Trials,
    signals: &[Tensor<2>],
) -> Grads {
    let (w_out, b_out, loss) = readout_grads(net, pass, trials);
    let (mut w_in, mut w_rec) = (
        net.w_in.clone().zeros_like(),
        net.w_rec.clone().zeros_like(),
    );
    let (b, n) = (trials.batch(), net.cells());
    let mut rbar = Tensor::<2>::zeros([b, n], &trials.x.device());
    let mut xbar = trials.step(0).0.zeros_like();
    let mut r_prev = rbar.clone();
    for (t, signal) in signals.iter().enumerate() {
        let (x, _, _) = trials.step(t);
        rbar = rbar * net.alpha + r_prev;
        xbar = xbar * net.alpha + x;
        let post = signal.clone() * net.activation.derivative(pass.h[t].clone());
        w_rec = w_rec + rbar.clone().transpose().matmul(post.clone());
        w_in = w_in + xbar.clone().transpose().matmul(post);
        r_prev = pass.r[t].clone();
    }
    Grads {
        w_in,
        w_rec,
        w_out,
        b_out,
        loss,
    }
}
