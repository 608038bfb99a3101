//! Backpropagation through time: the exact gradient, through burn's automatic
//! differentiation of the whole pass. The reference every other rule is measured against.

use burn::prelude::*;

use super::{Grads, LearningRule};
use crate::network::{Network, Trials};

/// Exact gradients by reverse-mode differentiation through every step.
#[derive(Debug, Clone, Copy)]
pub struct Bptt;

impl LearningRule for Bptt {
    fn name(&self) -> &'static str {
        "bptt"
    }

    fn grads(&self, net: &Network, trials: &Trials) -> Grads {
        let mut tracked = net.clone();
        tracked.w_in = net.w_in.clone().autodiff().require_grad();
        tracked.w_rec = net.w_rec.clone().autodiff().require_grad();
        tracked.w_out = net.w_out.clone().autodiff().require_grad();
        tracked.b_out = net.b_out.clone().autodiff().require_grad();
        tracked.sign = net.sign.clone().autodiff();
        tracked.readout_mask = net.readout_mask.clone().autodiff();
        let on = Trials {
            x: trials.x.clone().autodiff(),
            target: trials.target.clone().autodiff(),
            mask: trials.mask.clone().autodiff(),
        };
        let pass = tracked.run(&on);
        let loss = tracked.loss(&pass, &on);
        let grads = loss.backward();
        let of2 = |w: &Tensor<2>| w.grad(&grads).expect("a weight on the loss's path").inner();
        Grads {
            w_in: of2(&tracked.w_in),
            w_rec: of2(&tracked.w_rec),
            w_out: of2(&tracked.w_out) * net.readout_mask.clone(),
            b_out: tracked
                .b_out
                .grad(&grads)
                .expect("the readout bias")
                .inner(),
            loss: loss.inner(),
        }
    }
}
