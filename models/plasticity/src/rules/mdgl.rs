//! MDGL, multidigraph learning (Liu, Smith, Mihalas, Shea-Brown & Sümbül 2021, PNAS 118(51)
//! e2111821118), in rates: e-prop whose learning signal gains the credit carried one synapse
//! back by local, cell-type-specific modulators.
//!
//! Each cell j secretes, in proportion to its own credit, a_j^{t+1} = phi'(h_j^{t+1})
//! L_j^{t+1}; cell p reads it through a receptor for j's type, weighted by the average weight
//! W_ab from p's type to j's type over existing synapses ([`Averaging::Synapses`]):
//!
//!   L~_p^t = L_p^t + sum_j W~_pj a_j^{t+1}   (L~^{T-1} = L^{T-1}),
//!
//! and the update is e-prop's with L~ in place of L. This is the one-hop, one-step path
//! W -> r_p^t -> h_j^{t+1} -> r_j^{t+1} -> readout of the exact gradient (paths of two hops or
//! more, and the leak of j after the hop, are dropped), with W_pj replaced by its type average.
//! With the exact weights ([`Averaging::Exact`]) it equals BPTT for sequences of two steps
//! (tested), as the paper's truncation implies. The time shift (the modulator at t + 1 meets
//! the trace at t) follows the authors' code (MDGL-main, `AccumulatingCues_main.py`).

use super::cell_types::{modulated_weights, Averaging};
use super::eprop::{eligibility_grads, readout_signals};
use super::{Grads, LearningRule};
use crate::network::{Network, Trials};

/// MDGL with a choice of modulated weights.
#[derive(Debug, Clone, Copy)]
pub struct Mdgl {
    /// The paper's: type averages over existing synapses.
    pub averaging: Averaging,
}

/// The paper's MDGL.
pub static MDGL: Mdgl = Mdgl {
    averaging: Averaging::Synapses,
};

impl LearningRule for Mdgl {
    fn name(&self) -> &'static str {
        "mdgl"
    }

    fn grads(&self, net: &Network, trials: &Trials) -> Grads {
        let pass = net.run(trials);
        let signals = readout_signals(net, &pass, trials);
        let w = modulated_weights(net, self.averaging).transpose();
        let steps = signals.len();
        let augmented: Vec<_> = (0..steps)
            .map(|t| match t + 1 < steps {
                true => {
                    let secreted =
                        signals[t + 1].clone() * net.activation.derivative(pass.h[t + 1].clone());
                    signals[t].clone() + secreted.matmul(w.clone())
                }
                false => signals[t].clone(),
            })
            .collect();
        eligibility_grads(net, &pass, trials, &augmented)
    }
}
