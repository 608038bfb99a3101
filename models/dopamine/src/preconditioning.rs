//! Sensory preconditioning with dopamine perturbed at the transition between two neutral cues
//! (Sharpe et al. 2017, Nat Commun): inhibiting dopamine neurons when one cue follows another
//! prevents the rat from learning that association, and stimulating them there unblocks it.
//! Gardner, Schoenbaum & Gershman 2018 model these with TD over successor features (a
//! perturbation enters the successor error). The designs and parameters here are those of
//! their released code (`sim_TDSR.m`: `sharpe17_inhib`, `sharpe17_opto`, `sharpe17_deval`);
//! beside each, value TD over the same features, which learns nothing about a cue that never
//! preceded reward (a preconditioned cue predicts only another neutral cue).

use serde::{Deserialize, Serialize};

use crate::design::{Design, Step};
use crate::{td_sr, value_td};

/// Trials per stage in every Sharpe design.
const TRIALS: usize = 5;

/// Test values of the cues of one experiment: (with the perturbation, without it), one entry
/// per test cue, for TD over successor features and for value TD (never perturbed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestValues {
    /// Names of the test cues, in order.
    pub cues: Vec<String>,
    /// SR model, perturbed group (NpHR or ChR2).
    pub sr_perturbed: Vec<f64>,
    /// SR model, control group (eYFP: same trials, no perturbation).
    pub sr_control: Vec<f64>,
    /// Value TD over the same features.
    pub value_td: Vec<f64>,
}

/// A paradigm: its design (rows, rewards, perturbations) and the rows where test cues are
/// read, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Paradigm {
    /// The design.
    pub design: Design,
    /// (name, row) of each test cue; value TD learns from the rows before the first.
    pub tests: Vec<(String, usize)>,
}

impl Paradigm {
    /// Test values with the design's rows encoded as `x` (the design's own features, or any
    /// re-encoding of the same rows, e.g. a world model's latent features): the SR value
    /// x W u at each test row with and without the perturbations, and value TD's x . w there
    /// after learning from the rows before the tests.
    ///
    /// # Panics
    /// When `x` has not one row per design row.
    pub fn values(&self, x: &[Vec<f64>]) -> TestValues {
        let d = &self.design;
        assert_eq!(x.len(), d.len(), "one encoded row per design row");
        let training = self.tests.first().map_or(d.len(), |t| t.1);
        let at = |v: Vec<crate::SrStep>| -> Vec<f64> {
            self.tests.iter().map(|&(_, row)| v[row].value).collect()
        };
        let (_, w) = value_td(&x[..training], &d.r[..training]);
        let dot = |row: &[f64]| row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        TestValues {
            cues: self.tests.iter().map(|(n, _)| n.clone()).collect(),
            sr_perturbed: at(td_sr(x, &d.r, Some(&d.opto))),
            sr_control: at(td_sr(x, &d.r, None)),
            value_td: self.tests.iter().map(|&(_, row)| dot(&x[row])).collect(),
        }
    }

    /// Appends one test trial per cue (the cue's row, then a blank) and names its row.
    pub(crate) fn test(mut self, cues: &[(&str, usize)]) -> Self {
        for &(name, feature) in cues {
            self.tests.push((name.to_string(), self.design.len()));
            self.design
                .stage(&[Step::cue(&[feature]), Step::cue(&[])], 1);
        }
        self
    }
}

/// Sharpe et al. 2017, inhibition, on the design's own features ([`sharpe_inhibition_paradigm`]).
pub fn sharpe_inhibition() -> TestValues {
    let p = sharpe_inhibition_paradigm();
    p.values(&p.design.x)
}

/// Sharpe et al. 2017, inhibition: A -> X and B -> Y preconditioning, with inhibition (-0.1)
/// when Y follows B; then X -> flavour 1 and Y -> flavour 2, rewarded; test A and B.
pub fn sharpe_inhibition_paradigm() -> Paradigm {
    // Features: A 0, B 1, X 2, Y 3, flavour 1 4, flavour 2 5.
    let mut d = Design::new(6);
    d.stage(
        &[Step::cue(&[0]), Step::cue(&[0, 2]), Step::cue(&[])],
        TRIALS,
    );
    d.stage(
        &[
            Step::cue(&[1]),
            Step::cue(&[1, 3]).stimulated(-0.1),
            Step::cue(&[]),
        ],
        TRIALS,
    );
    d.stage(
        &[
            Step::cue(&[2]),
            Step::cue(&[2, 4]).rewarded(1.0),
            Step::cue(&[]),
        ],
        TRIALS,
    );
    d.stage(
        &[
            Step::cue(&[3]),
            Step::cue(&[3, 5]).rewarded(1.0),
            Step::cue(&[]),
        ],
        TRIALS,
    );
    let tests = Vec::new();
    Paradigm { design: d, tests }.test(&[("A", 0), ("B", 1)])
}

/// The preconditioning stages of the activation and devaluation experiments, features A 0, C 1,
/// D 2, E 3, F 4, X 5, food 6: A -> X, EF -> X, AD -> X with stimulation (0.4) in the interval
/// (the control cue D), AC -> X with stimulation when X arrives (the blocked cue C), A -> X.
/// Then X -> food, rewarded.
fn activation_design() -> Design {
    let mut d = Design::new(7);
    let pair = |cues: &'static [usize], with_x: &'static [usize]| {
        [Step::cue(cues), Step::cue(with_x), Step::cue(&[])]
    };
    d.stage(&pair(&[0], &[0, 5]), TRIALS);
    d.stage(&pair(&[3, 4], &[3, 4, 5]), TRIALS);
    let [a, b, c] = pair(&[0, 2], &[0, 2, 5]);
    d.stage(&[a, b, c.stimulated(0.4)], TRIALS);
    let [a, b, c] = pair(&[0, 1], &[0, 1, 5]);
    d.stage(&[a, b.stimulated(0.4), c], TRIALS);
    d.stage(&pair(&[0], &[0, 5]), TRIALS);
    d.stage(
        &[
            Step::cue(&[5]),
            Step::cue(&[5, 6]).rewarded(1.0),
            Step::cue(&[]),
        ],
        TRIALS,
    );
    d
}

/// Sharpe et al. 2017, activation, on the design's own features ([`sharpe_activation_paradigm`]).
pub fn sharpe_activation() -> TestValues {
    let p = sharpe_activation_paradigm();
    p.values(&p.design.x)
}

/// Sharpe et al. 2017, activation: C, blocked by A in preconditioning, is unblocked by
/// stimulation (0.4) when X follows AC; D, stimulated in the interval, is the control, and F
/// (preconditioned with E, not blocked) the reference. Test F, D, C.
pub fn sharpe_activation_paradigm() -> Paradigm {
    let design = activation_design();
    let tests = Vec::new();
    Paradigm { design, tests }.test(&[("F", 4), ("D", 2), ("C", 1)])
}

/// Sharpe et al. 2017, devaluation after activation: the food presented alone with reward -5
/// (devalued) or followed by -5 on the blank row after it (the released code's non-devalued
/// control: a blank row carries no feature, so it teaches nothing), then C tested. Returns C's
/// SR value (stimulated group) as (non-devalued, devalued).
pub fn sharpe_devaluation() -> (f64, f64) {
    let value_of_c = |devalued: bool| {
        let mut d = activation_design();
        let (food, after) = if devalued { (-5.0, 0.0) } else { (0.0, -5.0) };
        d.stage(
            &[
                Step::cue(&[6]).rewarded(food),
                Step::cue(&[]).rewarded(after),
            ],
            1,
        );
        d.stage(&[Step::cue(&[1])], 1);
        let sr = td_sr(&d.x, &d.r, Some(&d.opto));
        sr[d.len() - 1].value
    };
    (value_of_c(false), value_of_c(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from a NumPy port of Gardner et al.'s `linearTDSR.m` (the version with
    // the perturbation along a feature trace) and `sim_TDSR.m`, written for these tests and
    // kept outside the repository (a translation of their code is not ours to ship).

    #[test]
    fn inhibition_at_the_transition_blocks_preconditioning() {
        let v = sharpe_inhibition();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(v.sr_perturbed[0], 0.169_278_586_104));
        assert!(close(v.sr_perturbed[1], 0.134_767_950_243));
        assert!(close(v.sr_control[0], 0.169_278_586_104));
        assert!(close(v.sr_control[1], 0.169_278_586_104));
        // Value TD: A and B never preceded a reward, so their weights never move.
        assert_eq!(v.value_td, vec![0.0, 0.0]);
    }

    #[test]
    fn stimulation_at_the_transition_unblocks_the_blocked_cue() {
        let v = sharpe_activation();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let chr2 = [0.101_038_949_545, 0.030_758_771_766, 0.112_554_874_782];
        let eyfp = [0.101_038_949_545, 0.030_758_771_766, 0.021_494_650_249];
        for i in 0..3 {
            assert!(close(v.sr_perturbed[i], chr2[i]), "{v:?}");
            assert!(close(v.sr_control[i], eyfp[i]), "{v:?}");
        }
        assert_eq!(v.cues, ["F", "D", "C"]);
    }

    #[test]
    fn devaluing_the_food_leaves_the_preconditioned_cue_as_released() {
        // C was paired with X before X predicted food: its successor row holds X, not food,
        // so the food's new value does not reach it (the port agrees: 0.1125549 both).
        let (kept, devalued) = sharpe_devaluation();
        assert!((kept - 0.112_554_874_782).abs() < 1e-9);
        assert!((devalued - kept).abs() < 1e-12);
    }
}
