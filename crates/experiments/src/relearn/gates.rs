//! The relearn experiment's gates: each step's learning rate scaled by a signal (KL surprise or
//! posterior uncertainty) normalised on the stream's own past, so no gate reads the future.

use crate::science::gating::{gate, median};

/// (kappa, c) of a gate from the values of its signal on the old rule's steps: kappa their
/// median and c the scale that makes the gate average 1 over them.
pub fn normalise(values: &[f32]) -> (f64, f64) {
    let kappa = median(&mut values.to_vec());
    let mean = values
        .iter()
        .map(|&u| gate(u as f64, kappa, 1.0))
        .sum::<f64>()
        / values.len().max(1) as f64;
    (kappa, 1.0 / mean.max(1e-12))
}

/// The gate of every step from its own past: g_0 = 1, and for t >= 1 the gate of u_t with
/// kappa and c normalised (by [`normalise`]) on u_1 .. u_{t-1}, so no step's gate reads the
/// future and, under a stable rule, the gate averages about 1 (exactly 1 everywhere when u is
/// constant). With fewer than two past values the gate is 1.
pub fn running_gates(u: &[f64]) -> Vec<f64> {
    (0..u.len())
        .map(|t| {
            if t < 3 {
                return 1.0;
            }
            let past: Vec<f32> = u[1..t].iter().map(|&v| v as f32).collect();
            let (kappa, scale) = normalise(&past);
            // In f32 like the past it is normalised on.
            gate(u[t] as f32 as f64, kappa, scale)
        })
        .collect()
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
