//! Trial designs in Gardner, Schoenbaum & Gershman 2018's encoding: each time step a row of
//! binary features (cues, reward identities), a reward, and an optogenetic perturbation, trials
//! repeated stage by stage. The identity paradigms ([`crate::takahashi_identity_shift`],
//! [`crate::chang_identity_unblocking`], the Sharpe et al. 2017 experiments) are built with it.

/// A row with the features `on` set, of width `d`.
fn row(d: usize, on: &[usize]) -> Vec<f64> {
    let mut v = vec![0.0; d];
    for &i in on {
        v[i] = 1.0;
    }
    v
}

/// One time step of a trial: the features on, its reward and its perturbation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step<'a> {
    /// Features present.
    pub on: &'a [usize],
    /// Reward delivered.
    pub reward: f64,
    /// Optogenetic perturbation (added to the error along the feature trace).
    pub opto: f64,
}

impl<'a> Step<'a> {
    /// Features `on`, no reward, no perturbation.
    pub fn cue(on: &'a [usize]) -> Self {
        Self {
            on,
            reward: 0.0,
            opto: 0.0,
        }
    }

    /// The same step with reward `r`.
    pub fn rewarded(self, reward: f64) -> Self {
        Self { reward, ..self }
    }

    /// The same step with perturbation `opto`.
    pub fn stimulated(self, opto: f64) -> Self {
        Self { opto, ..self }
    }
}

/// A design being built: rows, rewards, perturbations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Design {
    /// Features per row.
    pub d: usize,
    /// Rows (time steps).
    pub x: Vec<Vec<f64>>,
    /// Reward per row.
    pub r: Vec<f64>,
    /// Perturbation per row.
    pub opto: Vec<f64>,
}

impl Design {
    /// An empty design over `d` features.
    pub fn new(d: usize) -> Self {
        Self {
            d,
            ..Self::default()
        }
    }

    /// Appends `trials` repetitions of `trial`.
    pub fn stage(&mut self, trial: &[Step], trials: usize) -> &mut Self {
        for _ in 0..trials {
            for s in trial {
                self.x.push(row(self.d, s.on));
                self.r.push(s.reward);
                self.opto.push(s.opto);
            }
        }
        self
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// No rows yet.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_repeats_its_trial_row_by_row() {
        let mut d = Design::new(3);
        d.stage(
            &[
                Step::cue(&[0]),
                Step::cue(&[0, 2]).rewarded(1.0).stimulated(-0.1),
            ],
            2,
        );
        assert_eq!(d.len(), 4);
        assert_eq!(d.x[1], vec![1.0, 0.0, 1.0]);
        assert_eq!(d.r, vec![0.0, 1.0, 0.0, 1.0]);
        assert_eq!(d.opto, vec![0.0, -0.1, 0.0, -0.1]);
    }
}
