//! Training a network on a task with one rule: the rule's gradient estimate goes to burn's
//! Adam, then the weights are held to Dale's law and the readout's cells. The learning curve
//! is the loss per scored step of every batch, before its update.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::NetworkConfig;
use crate::network::{Activation, Network};
use crate::rules::LearningRule;
use crate::tasks::Task;

/// What one training run is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlasticityRun {
    /// The task.
    pub task: Task,
    /// Adam updates.
    pub iterations: usize,
    /// Trials per update.
    pub batch: usize,
    /// Adam's step size.
    pub lr: f64,
    /// Seed of the weights, the trials and the pattern task's fixed input and target.
    pub seed: u64,
    /// Excitatory and inhibitory cells per internal type, excitatory output cells
    /// ([`NetworkConfig::six_types`]).
    pub cells: [usize; 3],
    /// Recurrent gain at initialisation.
    pub gain: f64,
    /// The rate function.
    pub activation: Activation,
}

impl PlasticityRun {
    /// Defaults for `task`: 300 updates of 32 trials, lr 3e-3, 16 + 16 excitatory, 8 + 8
    /// inhibitory internal cells, 8 + 8 output cells, gain 1.
    pub fn new(task: Task, seed: u64) -> Self {
        Self {
            task,
            iterations: 300,
            batch: 32,
            lr: 3e-3,
            seed,
            cells: [16, 8, 8],
            gain: 1.0,
            activation: Activation::Tanh,
        }
    }

    /// The network this run trains.
    pub fn network(&self) -> NetworkConfig {
        let [e, i, out] = self.cells;
        NetworkConfig::six_types(self.task.inputs(), self.task.outputs(), e, i, out)
    }
}

/// The trainable weights, for the optimiser.
#[derive(Module, Debug)]
struct Weights {
    w_in: Param<Tensor<2>>,
    w_rec: Param<Tensor<2>>,
    w_out: Param<Tensor<2>>,
    b_out: Param<Tensor<1>>,
}

/// Trains with `rule`; returns the loss per scored step of each update's batch (from the
/// rule's own pass, before the update) and the final network.
pub fn train(run: &PlasticityRun, rule: &dyn LearningRule, device: &Device) -> (Vec<f64>, Network) {
    device.seed(run.seed);
    let template = Network::new(&run.network(), run.gain, run.activation, device);
    let param = |t: Tensor<2>| Param::from_tensor(t.autodiff());
    let mut weights = Weights {
        w_in: param(template.w_in.clone()),
        w_rec: param(template.w_rec.clone()),
        w_out: param(template.w_out.clone()),
        b_out: Param::from_tensor(template.b_out.clone().autodiff()),
    };
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(run.seed);
    let mut curve = Vec::with_capacity(run.iterations);
    let net_of = |w: &Weights| Network {
        w_in: w.w_in.val().inner(),
        w_rec: w.w_rec.val().inner(),
        w_out: w.w_out.val().inner(),
        b_out: w.b_out.val().inner(),
        ..template.clone()
    };
    for _ in 0..run.iterations {
        let trials = run.task.trials(run.batch, run.seed, &mut rng, device);
        let net = net_of(&weights);
        let scored = trials.mask.clone().sum().into_scalar::<f32>() as f64;
        let g = rule.grads(&net, &trials);
        let loss = g.loss.into_scalar::<f32>() as f64;
        curve.push(loss * run.batch as f64 / scored.max(1.0));
        let mut grads = GradientsParams::new();
        grads.register(weights.w_in.id, g.w_in);
        grads.register(weights.w_rec.id, g.w_rec);
        grads.register(weights.w_out.id, g.w_out);
        grads.register(weights.b_out.id, g.b_out);
        weights = optim.step(run.lr, weights, grads);
        let (w_rec, w_out) = template.hold(weights.w_rec.val(), weights.w_out.val());
        weights.w_rec = weights.w_rec.map(|_| w_rec);
        weights.w_out = weights.w_out.map(|_| w_out);
    }
    (curve, net_of(&weights))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Bptt, Eprop};

    #[allow(deprecated)]
    fn cpu() -> Device {
        Device::ndarray()
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn both_rules_learn_delayed_match_and_a_seed_repeats_itself() {
        let mut run = PlasticityRun::new(Task::DelayedMatch, 0);
        run.iterations = 60;
        run.batch = 8;
        for rule in [&Bptt as &dyn LearningRule, &Eprop] {
            let (curve, net) = train(&run, rule, &cpu());
            let (first, last) = (mean(&curve[..5]), mean(&curve[50..]));
            assert!(last < 0.5 * first, "{}: {first} -> {last}", rule.name());
            let w = net.w_rec.into_data().try_into_vec::<f32>().unwrap();
            let s = net.sign.into_data().try_into_vec::<f32>().unwrap();
            let n = s.len();
            assert!((0..n * n).all(|k| w[k] * s[k / n] >= 0.0), "Dale's law");
            assert!((0..n).all(|i| w[i * n + i] == 0.0), "no self-connections");
            let out = net.w_out.into_data().try_into_vec::<f32>().unwrap();
            let mask = net.readout_mask.into_data().try_into_vec::<f32>().unwrap();
            let k = out.len() / n;
            assert!(
                (0..n * k).all(|e| mask[e / k] == 1.0 || out[e] == 0.0),
                "readout cells"
            );
        }
        let a = train(&run, &Eprop, &cpu()).0;
        let b = train(&run, &Eprop, &cpu()).0;
        assert_eq!(a, b);
    }
}
