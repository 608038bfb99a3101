//! Identity (sensory) prediction errors: dopamine neurons answer a change of reward *identity*
//! at equal value (Takahashi et al. 2017), and a change of identity unblocks learning (Chang et
//! al. 2017). Gardner, Schoenbaum & Gershman 2018 model both with a TD error over successor
//! features of the observed features (linear TD-SR). This module runs their model, with the
//! equations, parameters and trial designs of their published MATLAB code (`linearTDSR.m`,
//! `sim_TDSR.m`), beside two value TD models on the same trials: one over the same features
//! (identity-aware) and one blind to identity (it sees only that a reward came).

use serde::{Deserialize, Serialize};

use crate::design::{Design, Step};
use crate::Paradigm;

/// Learning rate of the successor matrix W (Gardner et al.'s alpha_W).
pub const ALPHA_W: f64 = 0.2;
/// Learning rate of the reward weights u (alpha_u).
pub const ALPHA_U: f64 = 0.1;
/// Discount.
pub const GAMMA: f64 = 0.95;
/// Decay of the trace through which an optogenetic perturbation enters the error.
pub const LAMBDA: f64 = 0.8;

/// One step of linear TD-SR.
#[derive(Debug, Clone, PartialEq)]
pub struct SrStep {
    /// The successor-feature prediction error (one entry per feature).
    pub error: Vec<f64>,
    /// Value x W u before the step's update.
    pub value: f64,
}

/// Linear TD-SR over rows `x` (features per time step) with rewards `r` and an optional
/// perturbation `opto` added to the error along the feature trace:
/// e = x_n + (gamma x_{n+1} - x_n) W + opto_n E_n, W += alpha_W x_n^T e,
/// u += alpha_u x_n (r_n - x_n u), after the step's value x_n W u is read (x_{N} = 0).
///
/// # Panics
/// When `r` (or `opto`) is shorter than `x`, or the rows differ in length.
pub fn td_sr(x: &[Vec<f64>], r: &[f64], opto: Option<&[f64]>) -> Vec<SrStep> {
    let d = x.first().map_or(0, Vec::len);
    assert!(r.len() >= x.len(), "one reward per row");
    assert!(
        opto.is_none_or(|o| o.len() >= x.len()),
        "one perturbation per row"
    );
    assert!(x.iter().all(|row| row.len() == d), "rows of one length");
    let (mut w, mut u, mut trace) = (vec![vec![0.0; d]; d], vec![0.0; d], vec![0.0; d]);
    let zero = vec![0.0; d];
    let mut out = Vec::with_capacity(x.len());
    for n in 0..x.len() {
        let (now, next) = (&x[n], x.get(n + 1).unwrap_or(&zero));
        let kick = opto.map_or(0.0, |o| o[n]);
        for (t, xi) in trace.iter_mut().zip(now) {
            *t = LAMBDA * *t + xi;
        }
        // (gamma x' - x) W, one column at a time.
        let error: Vec<f64> = (0..d)
            .map(|j| {
                let back: f64 = (0..d).map(|i| (GAMMA * next[i] - now[i]) * w[i][j]).sum();
                now[j] + back + kick * trace[j]
            })
            .collect();
        let reward_hat: f64 = now.iter().zip(&u).map(|(a, b)| a * b).sum();
        let value: f64 = (0..d)
            .map(|i| now[i] * (0..d).map(|j| w[i][j] * u[j]).sum::<f64>())
            .sum();
        out.push(SrStep {
            error: error.clone(),
            value,
        });
        for i in 0..d {
            for j in 0..d {
                w[i][j] += ALPHA_W * now[i] * error[j];
            }
            u[i] += ALPHA_U * now[i] * (r[n] - reward_hat);
        }
    }
    out
}

/// Value TD(0) over the same rows: delta_n = r_n + gamma V(x_{n+1}) - V(x_n), V(x) = x . w,
/// w += alpha_W x_n delta_n (the SR's learning rate, for a fair comparison). Returns (delta per
/// row, the final weights).
///
/// # Panics
/// When `r` is shorter than `x`.
pub fn value_td(x: &[Vec<f64>], r: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let d = x.first().map_or(0, Vec::len);
    assert!(r.len() >= x.len(), "one reward per row");
    let mut w = vec![0.0; d];
    let v = |row: &[f64], w: &[f64]| row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>();
    let mut deltas = Vec::with_capacity(x.len());
    for n in 0..x.len() {
        let next = x.get(n + 1).map_or(0.0, |row| v(row, &w));
        let delta = r[n] + GAMMA * next - v(&x[n], &w);
        for (wi, xi) in w.iter_mut().zip(&x[n]) {
            *wi += ALPHA_W * xi * delta;
        }
        deltas.push(delta);
    }
    (deltas, w)
}

/// Mean of `v` (0 for none).
pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// A model's response in the last trials before and the first trials after a shift.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// Mean response over the last `k` trials before the shift.
    pub late: f64,
    /// Mean response over the first `k` trials after it.
    pub early: f64,
}

/// Takahashi et al. 2017 as Gardner et al. simulate it: 15 trials of reward identity 1, then 15
/// of identity 2, each trial an outcome row and a blank row, every row rewarded 1 and carrying
/// that reward as a feature too; the response is read at the outcome row, over the last 5
/// trials before the shift (late) and the first 5 after (early). Returns the SR error (mean
/// over features, as their code), the value TD error over the same features, and the value TD
/// error of a model that sees only the reward column (blind to identity).
pub fn takahashi_identity_shift() -> [Shift; 3] {
    let (n, k) = (15, 5);
    let mut design = Design::new(3);
    for identity in [0, 1] {
        let outcome = [identity, 2];
        design.stage(
            &[
                Step::cue(&outcome).rewarded(1.0),
                Step::cue(&[2]).rewarded(1.0),
            ],
            n,
        );
    }
    let (x, r) = (&design.x, &design.r);
    let at_outcome = |v: Vec<f64>| -> Vec<f64> { v.into_iter().step_by(2).collect() };
    let shift = |per_trial: Vec<f64>| Shift {
        late: mean(&per_trial[n - k..n]),
        early: mean(&per_trial[n..n + k]),
    };
    let sr = td_sr(x, r, None)
        .into_iter()
        .map(|s| mean(&s.error))
        .collect();
    let blind: Vec<Vec<f64>> = x.iter().map(|row| vec![row[2]]).collect();
    [
        shift(at_outcome(sr)),
        shift(at_outcome(value_td(x, r).0)),
        shift(at_outcome(value_td(&blind, r).0)),
    ]
}

/// Where Chang et al. 2017's optogenetic inhibition falls in the BY trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inhibition {
    /// None (the model's own unblocking, to compare with value TD).
    Off,
    /// At the outcome (the identity change): "Exp".
    Outcome,
    /// In the inter-trial interval: "ITI" (the control).
    Interval,
}

/// Chang et al. 2017 identity unblocking as Gardner et al. simulate it: A -> flavour 1 and
/// B -> flavour 2 (5 trials each, rows cue / cue + outcome / blank, reward 1 at the outcome),
/// then AX -> flavour 1 (X blocked) and BY -> flavour 1 (identity changed: Y unblocked), with
/// inhibition of -0.1 at the BY outcome, in its interval, or none; then X and Y alone. Returns
/// the SR model's value of X and of Y at test, and a value TD model's (never inhibited), as
/// (blocked X, unblocked Y).
pub fn chang_identity_unblocking(inhibition: Inhibition) -> ((f64, f64), (f64, f64)) {
    let p = chang_paradigm(inhibition);
    let v = p.values(&p.design.x);
    (
        (v.sr_perturbed[0], v.sr_perturbed[1]),
        (v.value_td[0], v.value_td[1]),
    )
}

/// The design of [`chang_identity_unblocking`], test cues X and Y; its perturbation is the
/// inhibition asked for (none for [`Inhibition::Off`]).
pub fn chang_paradigm(inhibition: Inhibition) -> Paradigm {
    let n = 5;
    // Features: A 0, B 1, X 2, Y 3, flavour 1 4, flavour 2 5.
    let stages: [(&[usize], usize); 4] = [(&[0], 4), (&[1], 5), (&[0, 2], 4), (&[1, 3], 4)];
    let mut design = Design::new(6);
    for (s, (cues, flavour)) in stages.iter().enumerate() {
        let outcome: Vec<usize> = cues.iter().copied().chain([*flavour]).collect();
        let kick = |at: Inhibition| match s == 3 && inhibition == at {
            true => -0.1,
            false => 0.0,
        };
        design.stage(
            &[
                Step::cue(cues),
                Step::cue(&outcome)
                    .rewarded(1.0)
                    .stimulated(kick(Inhibition::Outcome)),
                Step::cue(&[]).stimulated(kick(Inhibition::Interval)),
            ],
            n,
        );
    }
    let tests = Vec::new();
    Paradigm { design, tests }.test(&[("X", 2), ("Y", 3)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_shift_matches_a_port_of_the_published_code() {
        // A NumPy port of Gardner et al.'s linearTDSR.m / sim_TDSR.m (written for this test,
        // and by a second reader independently; kept outside the repository): late 0.0089190,
        // early 0.3499787; value TD on the same features -0.0063341, 0.4751419.
        let [sr, td, blind] = takahashi_identity_shift();
        assert!((sr.late - 0.008_918_997).abs() < 1e-8, "{sr:?}");
        assert!((sr.early - 0.349_978_695).abs() < 1e-8, "{sr:?}");
        assert!((td.late + 0.006_334_135).abs() < 1e-8, "{td:?}");
        assert!((td.early - 0.475_141_936).abs() < 1e-8, "{td:?}");
        // A value TD blind to identity has nothing to answer at the shift: its error (still
        // shrinking, since every row is rewarded) does not rise there.
        assert!(blind.early < blind.late, "{blind:?}");
    }

    #[test]
    fn identity_unblocking_needs_the_change_and_inhibition_at_it_prevents_it() {
        // NumPy port: V(X) 0.1451138; V(Y) 0.2098264 (interval), 0.1218850 (outcome); value TD
        // V(X) 0.1088481, V(Y) 0.1241096.
        let ((x_iti, y_iti), (td_x, td_y)) = chang_identity_unblocking(Inhibition::Interval);
        let ((x_exp, y_exp), _) = chang_identity_unblocking(Inhibition::Outcome);
        // Inhibition in the interval does not touch the BY outcome: the same as none.
        let ((x_off, y_off), _) = chang_identity_unblocking(Inhibition::Off);
        assert!((x_off - x_iti).abs() < 1e-12 && (y_off - y_iti).abs() < 1e-12);
        assert!((x_iti - 0.145_113_789).abs() < 1e-8 && (y_iti - 0.209_826_397).abs() < 1e-8);
        assert!((x_exp - x_iti).abs() < 1e-12 && (y_exp - 0.121_885_048).abs() < 1e-8);
        assert!((td_x - 0.108_848_061).abs() < 1e-8 && (td_y - 0.124_109_649).abs() < 1e-8);
        assert!(y_iti > x_iti && y_exp < x_exp);
    }
}
