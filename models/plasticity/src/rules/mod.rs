//! Learning rules behind one trait: each turns a batch of trials into a gradient estimate for
//! every weight of the [`Network`]. A rule is one file here and one line of [`RULES`].

mod bptt;
mod cell_types;
mod eprop;
mod mdgl;
mod modprop;
mod random_eprop;

pub use bptt::Bptt;
pub use cell_types::{modulated_weights, Averaging};
pub use eprop::Eprop;
pub use mdgl::{Mdgl, MDGL};
pub use modprop::{ModProp, MODPROP};
pub use random_eprop::RandomEprop;

use burn::prelude::*;

use crate::network::{Network, Pass, Trials};

/// A gradient (estimate) for every weight, shaped like the weights.
#[derive(Debug, Clone)]
pub struct Grads {
    /// [I, N].
    pub w_in: Tensor<2>,
    /// [N, N], [from, to].
    pub w_rec: Tensor<2>,
    /// [N, K].
    pub w_out: Tensor<2>,
    /// \[K\].
    pub b_out: Tensor<1>,
    /// The loss of the pass the estimate came from, shape \[1\].
    pub loss: Tensor<1>,
}

/// A learning rule.
pub trait LearningRule: Sync {
    /// Its name on the command line and in tables.
    fn name(&self) -> &'static str;
    /// The weights' update direction (a gradient estimate of the loss) for `trials`.
    fn grads(&self, net: &Network, trials: &Trials) -> Grads;
}

/// Every rule, in the order tables list them.
pub static RULES: &[&dyn LearningRule] = &[&Bptt, &Eprop, &MDGL, &MODPROP, &RandomEprop];

/// The rule of that name.
pub fn rule(name: &str) -> Option<&'static dyn LearningRule> {
    RULES.iter().copied().find(|r| r.name() == name)
}

/// The readout's exact gradient and the pass's loss, which every rule shares (the readout is local to its cells):
/// dE/dW_out = sum_t r_t^T err_t, dE/db_out = sum_t sum_b err_t.
pub(crate) fn readout_grads(
    net: &Network,
    pass: &Pass,
    trials: &Trials,
) -> (Tensor<2>, Tensor<1>, Tensor<1>) {
    let mut w_out = net.w_out.clone().zeros_like();
    let mut b_out = net.b_out.clone().zeros_like();
    for t in 0..trials.steps() {
        let err = net.error(pass, trials, t);
        w_out = w_out + pass.r[t].clone().transpose().matmul(err.clone());
        b_out = b_out + err.sum_dim(0).squeeze_dim(0);
    }
    (
        w_out * net.readout_mask.clone(),
        b_out,
        net.loss(pass, trials),
    )
}

#[cfg(test)]
mod tests;
