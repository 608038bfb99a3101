//! e-prop with random feedback (Bellec et al. 2020's "random e-prop"): the learning signal
//! reaches the cells through fixed random weights B instead of the readout's own,
//! L^t = err_t B^T, as in feedback alignment; the eligibility traces are e-prop's. With
//! B = W_out it is e-prop (tested).

use super::eprop::{eligibility_grads, feedback_signals};
use super::{Grads, LearningRule};
use crate::network::{Network, Trials};

/// e-prop through the network's fixed random feedback weights.
#[derive(Debug, Clone, Copy)]
pub struct RandomEprop;

impl LearningRule for RandomEprop {
    fn name(&self) -> &'static str {
        "eprop-random"
    }

    fn grads(&self, net: &Network, trials: &Trials) -> Grads {
        let pass = net.run(trials);
        let signals = feedback_signals(net, &pass, trials, &net.feedback);
        eligibility_grads(net, &pass, trials, &signals)
    }
}
