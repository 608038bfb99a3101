//! The identity check of `bench science` (combined task): does the critic's RPE equal
//! w . delta_SF, and do the value parts (the reward taken out of both sides) agree, against a
//! negative control of random directions. The definitions and the known-chain tests of the
//! pieces it uses are in [`super::identity`].

use crate::science::identity::{
    correlation_and_slope, fit_reward, project, random_like, IdentityCheck, RandomW, SAMPLE,
};

/// Seed of the random directions of the identity check's negative control.
const RANDOM_W_SEED: u64 = 0x05ee_d0f3;

/// Random directions drawn per seed for that control.
pub const RANDOM_W_DRAWS: u64 = 200;

/// (phi_t, r_t) of steps 1.. of every sequence: features [rows, f] and rewards \[rows\] in f64.
fn steps_from_one(
    phi: &[f32],
    rewards: &[Vec<f32>],
    steps: usize,
    f: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, r) in rewards.iter().enumerate() {
        for (t, &rt) in r.iter().enumerate().take(steps).skip(1) {
            let row = i * steps + t;
            x.extend(phi[row * f..(row + 1) * f].iter().map(|&v| v as f64));
            y.push(rt as f64);
        }
    }
    (x, y)
}

/// The identity check: w from the training sequences' features `train_phi` [n, steps, f] and
/// rewards (reward at step t against phi_t, t >= 1); then, on the held-out sequences (features
/// `eval_phi` and rewards), the SF TD error `delta` [m, steps, f] of each transition t -> t + 1 at
/// the critic's discount against the RPE of the same transition (`rpe` [m, steps], aligned to
/// the step it arrives at, t + 1): the RPE against w . delta_t, and the value parts alone, the
/// critic's gamma V(s_{t+1}) - V(s_t) = RPE - r_{t+1} against w . (gamma psi_{t+1} - psi_t) =
/// w . delta_t - w . phi_{t+1} (the reward, which both sides of the full identity contain, is
/// taken out of both, so learners that learnt nothing do not pass).
pub fn identity_check(
    train: (&[f32], &[Vec<f32>]),
    eval: (&[f32], &[Vec<f32>]),
    (delta, rpe): (&[f32], &[f32]),
    (steps, f): (usize, usize),
) -> Option<IdentityCheck> {
    let (phi, reward) = steps_from_one(train.0, train.1, steps, f);
    let (w, reward_r2) = fit_reward(&phi, &reward, f)?;
    let (eval_phi, eval_reward) = steps_from_one(eval.0, eval.1, steps, f);
    let m = rpe.len() / steps;
    let w_random: Vec<Vec<f64>> = (0..RANDOM_W_DRAWS)
        .map(|k| random_like(&w, f, RANDOM_W_SEED + k))
        .collect();
    let (mut wd, mut td, mut sf_values, mut critic_values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut random_values = vec![Vec::new(); w_random.len()];
    for i in 0..m {
        for t in 0..steps - 1 {
            let row = i * steps + t;
            let d: Vec<f64> = delta[row * f..(row + 1) * f]
                .iter()
                .map(|&v| v as f64)
                .collect();
            // Step t + 1 of sequence i is row i (steps - 1) + t of the steps-from-one lists.
            let k = i * (steps - 1) + t;
            let sf_part = project(&w, &d, f)[0];
            let reward_part = project(&w, &eval_phi[k * f..(k + 1) * f], f)[0];
            wd.push(sf_part);
            td.push(rpe[row + 1] as f64);
            sf_values.push(sf_part - reward_part);
            let phi_next = &eval_phi[k * f..(k + 1) * f];
            for (v, wr) in random_values.iter_mut().zip(&w_random) {
                v.push(project(wr, &d, f)[0] - project(wr, phi_next, f)[0]);
            }
            critic_values.push(rpe[row + 1] as f64 - eval_reward[k]);
        }
    }
    let (pearson, slope) = correlation_and_slope(&wd, &td)?;
    let (pearson_values, slope_values) = correlation_and_slope(&sf_values, &critic_values)?;
    // |r| of each random direction (its sign is arbitrary): the median, and the share that
    // reaches the reward's own |r|.
    let mut random: Vec<f64> = random_values
        .iter()
        .filter_map(|v| correlation_and_slope(v, &critic_values).map(|(r, _)| r.abs()))
        .collect();
    random.sort_by(f64::total_cmp);
    let random_w = (!random.is_empty()).then(|| RandomW {
        median_abs_r: random[random.len() / 2],
        share_at_least_real: random
            .iter()
            .filter(|r| **r >= pearson_values.abs())
            .count() as f64
            / random.len() as f64,
        draws: random.len(),
    });
    Some(IdentityCheck {
        pearson,
        slope,
        pearson_values,
        slope_values,
        random_w,
        reward_r2,
        transitions: wd.len(),
        sample: sf_values
            .iter()
            .copied()
            .zip(critic_values.iter().copied())
            .take(SAMPLE)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held-out arrays of the known chain (`identity`'s test), rewards 2 phi_0 - phi_1 + 0.7 plus
    /// noise on arrivals in state 0, and the RPE of the value function `v`: (phi, rewards,
    /// delta, rpe) in the benchmark's layout, 30 sequences of 20 steps.
    fn chain_arrays(v: impl Fn(usize) -> f64) -> (Vec<f32>, Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
        use rand::{Rng, SeedableRng};
        let (p, phi, psi) = crate::science::identity::tests::chain();
        let (gamma, w, c) = (0.9, [2.0, -1.0], 0.7);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (mut feats, mut rewards, mut delta, mut rpe) = (vec![], vec![], vec![], vec![]);
        for _ in 0..30 {
            let mut s = rng.random_range(0..3);
            let (mut r_seq, mut rpe_seq) = (vec![0.0f32], vec![0.0f32]);
            feats.extend(phi[s].map(|x| x as f32));
            for _ in 1..20 {
                let next = crate::science::identity::tests::step(&p[s], &mut rng);
                let noise = if next == 0 {
                    rng.random_range(-1.0..1.0)
                } else {
                    0.0
                };
                let r = w[0] * phi[next][0] + w[1] * phi[next][1] + c + noise;
                delta.extend(
                    (0..2).map(|j| (phi[next][j] + gamma * psi[next][j] - psi[s][j]) as f32),
                );
                feats.extend(phi[next].map(|x| x as f32));
                r_seq.push(r as f32);
                rpe_seq.push((r + gamma * v(next) - v(s)) as f32);
                s = next;
            }
            delta.extend([0.0, 0.0]); // no transition out of the last step
            rewards.push(r_seq);
            rpe.extend(rpe_seq);
        }
        (feats, rewards, delta, rpe)
    }

    #[test]
    fn the_value_parts_agree_for_exact_learners_and_not_for_a_wrong_critic() {
        let (_, _, psi) = crate::science::identity::tests::chain();
        let (gamma, w, c) = (0.9, [2.0, -1.0], 0.7);
        let exact = |s: usize| w[0] * psi[s][0] + w[1] * psi[s][1] + c / (1.0 - gamma);
        let check = |v: &dyn Fn(usize) -> f64| {
            let (feats, rewards, delta, rpe) = chain_arrays(v);
            identity_check(
                (&feats, &rewards),
                (&feats, &rewards),
                (&delta, &rpe),
                (20, 2),
            )
            .unwrap()
        };
        let good = check(&exact);
        assert_eq!(good.transitions, 30 * 19);
        // The reward is linear in phi only up to its noise: w . delta alone falls short...
        assert!(good.reward_r2 < 0.99 && good.pearson < 0.99, "{good:?}");
        // ...while the value parts, the reward out of both, agree exactly.
        assert!(good.pearson_values > 0.999, "{good:?}");
        assert!((good.slope_values - 1.0).abs() < 1e-2, "{good:?}");
        // A critic with the wrong values fails the value parts, although its RPE still contains
        // the reward (which made the older "RPE against w . delta + residual" pass it).
        let wrong = [3.0, -2.0, 1.0];
        let bad = check(&|s| wrong[s]);
        assert!(bad.pearson_values < 0.5, "{bad:?}");
    }
}
