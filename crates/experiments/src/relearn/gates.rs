//! The relearn experiment's gates: each step's learning rate scaled by a signal (KL surprise or
//! posterior uncertainty) normalised on the stream's own past, so no gate reads the future:
//! on the whole past ([`running_gates`], the first version) or on a sliding window of recent
//! steps ([`window_gates`]), damping learning where the signal is high (Patel's reading: a
//! surprise or uncertainty signal slows reward learning) or boosting it (Grossman, Bari & Cohen
//! 2022: learning speeds up when the world changes).

use crate::science::gating::{gate, median};

/// How a gate answers its signal u (kappa: a typical u; c: the normalising scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Shape {
    /// g = c / (1 + u / kappa): less learning where u is high.
    Damp,
    /// g = c (1 + u / kappa): more learning where u is high.
    Boost,
}

impl Shape {
    /// The gate of `u` with `kappa` and scale `c`.
    pub fn gate(self, u: f64, kappa: f64, c: f64) -> f64 {
        match self {
            Shape::Damp => gate(u, kappa, c),
            Shape::Boost => c * (1.0 + u / kappa.max(1e-12)),
        }
    }

    /// (kappa, c) of this gate from the values of its signal: kappa their median and c the
    /// scale that makes the gate average 1 over them.
    pub fn normalise(self, values: &[f32]) -> (f64, f64) {
        let kappa = median(&mut values.to_vec());
        let mean = values
            .iter()
            .map(|&u| self.gate(u as f64, kappa, 1.0))
            .sum::<f64>()
            / values.len().max(1) as f64;
        (kappa, 1.0 / mean.max(1e-12))
    }

    /// The gate of every step normalised on the steps `from(t)..t` before it (step 0 never:
    /// nothing predicts it): 1 for the first 3 steps, then the gate of u_t. Values in f32, as
    /// the signals are read.
    fn causal(self, u: &[f64], from: impl Fn(usize) -> usize) -> Vec<f64> {
        (0..u.len())
            .map(|t| {
                if t < 3 {
                    return 1.0;
                }
                let past: Vec<f32> = u[from(t).max(1)..t].iter().map(|&v| v as f32).collect();
                let (kappa, scale) = self.normalise(&past);
                self.gate(u[t] as f32 as f64, kappa, scale)
            })
            .collect()
    }
}

/// (kappa, c) of a damping gate (see [`Shape::normalise`]).
pub fn normalise(values: &[f32]) -> (f64, f64) {
    Shape::Damp.normalise(values)
}

/// The damping gate of every step from its whole past: g_t = 1 for t < 3, then the gate of
/// u_t with kappa and c normalised on u_1 .. u_{t-1}, so no step's gate reads the future and,
/// under a stable rule, the gate averages about 1 (exactly 1 everywhere when u is constant).
pub fn running_gates(u: &[f64]) -> Vec<f64> {
    Shape::Damp.causal(u, |_| 1)
}

/// The gate of every step normalised on the `window` steps before it: under a stable signal
/// it averages about 1; after a lasting change the window fills with the new values and the
/// gate returns towards 1 within about `window` / 2 steps.
pub fn window_gates(u: &[f64], window: usize, shape: Shape) -> Vec<f64> {
    shape.causal(u, |t| t.saturating_sub(window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_signal_gates_nothing() {
        // Constant posterior uncertainty (or surprise): kappa is that value, c = 2, g = 1.
        let (kappa, scale) = normalise(&[0.3; 50]);
        assert_eq!((kappa, scale), (0.30000001192092896, 2.0));
        assert_eq!(gate(0.3f32 as f64, kappa, scale), 1.0);
        // A varying one averages 1 over its own values, lower where it is larger.
        let v: Vec<f32> = (0..40).map(|k| k as f32 / 10.0).collect();
        let (kappa, scale) = normalise(&v);
        let mean = v.iter().map(|&u| gate(u as f64, kappa, scale)).sum::<f64>() / 40.0;
        assert!((mean - 1.0).abs() < 1e-12);
        assert!(gate(3.9, kappa, scale) < gate(0.1, kappa, scale));
    }

    #[test]
    fn window_gates_close_or_open_at_a_lasting_jump_and_recover_within_the_window() {
        for shape in [Shape::Damp, Shape::Boost] {
            assert!(window_gates(&[0.7; 40], 10, shape)
                .iter()
                .all(|&g| (g - 1.0).abs() < 1e-12));
        }
        // u = 0.1 for 50 steps, then 1.0 for ever.
        let u: Vec<f64> = (0..100).map(|t| if t < 50 { 0.1 } else { 1.0 }).collect();
        let damp = window_gates(&u, 20, Shape::Damp);
        let boost = window_gates(&u, 20, Shape::Boost);
        // At the jump: kappa 0.1; damp c = 2, g = 2 / (1 + 10); boost c = 1 / 2, g = 11 / 2.
        assert!((damp[50] - 2.0 / 11.0).abs() < 1e-6, "{}", damp[50]);
        assert!((boost[50] - 5.5).abs() < 1e-6, "{}", boost[50]);
        // Once the window holds only new values the gate is 1 again; a whole-past gate is not.
        assert!((damp[75] - 1.0).abs() < 1e-12 && (boost[75] - 1.0).abs() < 1e-12);
        // (Whole past at step 75: median 0.1, c = 74 / (49 / 2 + 25 / 11), g = c / 11 = 0.25.)
        assert!(running_gates(&u)[75] < 0.3, "{}", running_gates(&u)[75]);
        // Causal: a later value changes no earlier gate.
        let mut later = u.clone();
        later[80] = 9.0;
        assert_eq!(window_gates(&later, 20, Shape::Damp)[..80], damp[..80]);
    }

    #[test]
    fn running_gates_read_only_the_past_and_are_1_for_a_constant_signal() {
        assert!(running_gates(&[0.7; 30]).iter().all(|&g| g == 1.0));
        // A jump at step 20 closes the gate there; changing later values changes no earlier gate.
        let mut u = vec![0.1; 30];
        u[20] = 5.0;
        let g = running_gates(&u);
        assert!(g[20] < 0.1 && g[19] == 1.0, "{g:?}");
        let mut later = u.clone();
        later[25] = 9.0;
        assert_eq!(running_gates(&later)[..25], g[..25]);
    }
}
