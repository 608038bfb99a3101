//! Exponential moving average of a module's weights (Polyak averaging), kept on the device.

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;

/// Collects every float parameter, flattened, by id.
struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.insert(param.id, t.reshape([n]));
    }
}

/// Moves each parameter toward the collected one: avg <- decay avg + (1 - decay) current.
struct Blend {
    current: HashMap<ParamId, Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(cur) = self.current.remove(&param.id) else {
            return param;
        };
        let decay = self.decay;
        param.map(|avg| {
            let dims = avg.dims();
            avg.mul_scalar(decay) + cur.reshape(dims).mul_scalar(1.0 - decay)
        })
    }
}

/// Moves `avg` toward `current` (same parameter ids) with weight `1 - decay`; no host read.
pub fn ema_update<M: Module>(avg: M, current: &M, decay: f64) -> M {
    let mut collect = Collect(HashMap::new());
    current.visit(&mut collect);
    avg.map(&mut Blend {
        current: collect.0,
        decay,
    })
}

/// Decay at optimiser step `step` (1-based): min(decay, (1 + step) / (10 + step)), so early
/// averages are not dominated by the random initialisation.
pub fn ema_decay(decay: f64, step: usize) -> f64 {
    decay.min((1.0 + step as f64) / (10.0 + step as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[test]
    fn the_average_moves_by_one_minus_decay_toward_the_current_weights() {
        #[allow(deprecated)]
        let device = Device::ndarray();
        let current: Linear = LinearConfig::new(3, 2).init(&device);
        let zero = current.clone().map(&mut Blend {
            current: HashMap::new(),
            decay: 0.0,
        });
        // An average of all zeros with the same ids.
        let mut zeros = Collect(HashMap::new());
        current.visit(&mut zeros);
        let zeros = zeros
            .0
            .into_iter()
            .map(|(k, v)| (k, v.zeros_like()))
            .collect();
        let avg = zero.map(&mut Blend {
            current: zeros,
            decay: 0.0,
        });
        let avg = ema_update(avg, &current, 0.75);
        let want = current.weight.val().mul_scalar(0.25);
        let got = avg.weight.val();
        let diff: f32 = (got - want).abs().max().into_scalar();
        assert!(diff < 1e-7, "{diff}");
        assert!((ema_decay(0.999, 1) - 2.0 / 11.0).abs() < 1e-12);
        assert_eq!(ema_decay(0.999, 1_000_000), 0.999);
    }
}
