//! `neuromod bench identity`: identity (sensory) prediction errors, which Gardner, Schoenbaum
//! & Gershman 2018 explain with TD over successor features: Takahashi et al. 2017's identity
//! shift at equal value, Chang et al. 2017's identity unblocking (inhibition at the identity
//! change, in the interval, or none) and Sharpe et al. 2017's sensory preconditioning with
//! dopamine inhibited or stimulated at the transition between cues. Two kinds of unit:
//! - the designs: [`neuromod_dopamine::td_sr`] (linear TD over successor features of the
//!   observed features, Gardner et al.'s model and parameters) and value TD on the same trials,
//!   deterministic;
//! - one per seed ([`world`]): the identity shift learned by a world model, read through its
//!   successor-feature TD errors, one-step SPE and a critic's value RPE on the same trials.
//!
//! The published values are those Gardner et al. tabulate in their code (`sim_TDSR.m`).

pub mod encoded;
mod report;
pub mod world;

use std::path::Path;

use neuromod_core::ConfigError;
use neuromod_dopamine::{
    chang_identity_unblocking, sharpe_activation, sharpe_devaluation, sharpe_inhibition,
    takahashi_identity_shift, Inhibition, Shift, TestValues,
};
use neuromod_plots::Format;
use neuromod_train::{ModelKind, SfSettings};
use serde::{Deserialize, Serialize};

use crate::runner::{Context, Experiment};
use crate::world_fit::WorldSpec;
use crate::{pretty, write_file, ExperimentError};
pub use report::{markdown, summarise, SignalSummary};
use world::WorldShiftRun;

/// Takahashi et al. 2017 (as tabulated by Gardner et al.): spikes/s over the last 5 trials
/// before the identity shift and the first 5 after.
pub const TAKAHASHI_LATE_EARLY: (f64, f64) = (2.34, 6.82);

/// Chang et al. 2017 (as tabulated by Gardner et al.: `V = [27.6 17.1; 26.7 47.4]`, rows the
/// conditions "Exp" and "ITI", columns the blocked and unblocked cue): (blocked, unblocked)
/// with inhibition at the identity change, then in the interval.
pub const CHANG_BLOCKED_UNBLOCKED: [(f64, f64); 2] = [(27.6, 17.1), (26.7, 47.4)];

/// Sharpe et al. 2017 (as tabulated by Gardner et al.), inhibition: responding to A and B,
/// NpHR then eYFP.
pub const SHARPE_INHIBITION: [[f64; 2]; 2] = [[51.4, 29.3], [38.5, 36.9]];

/// Sharpe et al. 2017, activation: food-cup entries to F, D and C, ChR2 then eYFP.
pub const SHARPE_ACTIVATION: [[f64; 3]; 2] = [[2.05, 1.66, 2.66], [2.15, 1.47, 1.52]];

/// Sharpe et al. 2017, devaluation: food-cup entries to C, non-devalued then devalued.
pub const SHARPE_DEVALUATION: [f64; 2] = [3.22, 1.23];

/// `bench identity`'s settings: the designs take none (they are the published ones); these
/// are the world model's, for the identity shift it learns.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct IdentityConfig {
    /// World-model seeds (0..N; 0: the published designs only).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 5))]
    pub seeds: usize,
    /// Sessions of the identity-shift task per seed (70% train, 10% validation, 20% measured).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 200))]
    pub sessions: usize,
    /// World-model family (set by the command line's `--model`).
    #[cfg_attr(feature = "clap", arg(skip))]
    #[serde(default)]
    pub model: ModelKind,
    /// World-model epochs.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 80))]
    pub epochs: usize,
    /// Epochs over which the world model's KL weight rises from 0.1 to 1 (0: none).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 20))]
    #[serde(default)]
    pub kl_anneal_epochs: usize,
    /// World-model sequences per batch.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 16))]
    pub batch_size: usize,
    /// World-model recurrent width.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 64))]
    pub h_dim: usize,
    /// World-model latent width.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 8))]
    pub z_dim: usize,
    /// World-model MLP width.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 64))]
    pub hidden: usize,
    /// Critic heads.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 32))]
    pub heads: usize,
    /// Critic discount.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.9))]
    pub gamma: f64,
    /// Critic training passes.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 60))]
    pub critic_epochs: usize,
    /// Critic Adam learning rate.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1e-3))]
    pub critic_lr: f64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            seeds: 5,
            sessions: 200,
            model: ModelKind::Vrnn,
            epochs: 80,
            kl_anneal_epochs: 20,
            batch_size: 16,
            h_dim: 64,
            z_dim: 8,
            hidden: 64,
            heads: 32,
            gamma: 0.9,
            critic_epochs: 60,
            critic_lr: 1e-3,
        }
    }
}

impl IdentityConfig {
    /// The world model every unit of this config trains: its family, widths, epochs and KL
    /// annealing (from [`world::KL_START`]), with the data split `fractions` and SF heads `sf`.
    pub fn world_spec(&self, fractions: (f64, f64), sf: Option<SfSettings>) -> WorldSpec {
        WorldSpec {
            kind: self.model,
            widths: (self.h_dim, self.z_dim, self.hidden),
            epochs: self.epochs,
            batch_size: self.batch_size,
            fractions,
            sf,
            kl_anneal: Some((self.kl_anneal_epochs, world::KL_START)),
        }
    }
}

/// A unit of `bench identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentityUnit {
    /// The published designs with linear TD-SR and value TD.
    Designs,
    /// The world model's identity shift for one seed.
    World(u64),
}

/// The published designs' results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DesignResult {
    /// Takahashi: SR error, value TD on the same features, value TD blind to identity.
    pub takahashi: [Shift; 3],
    /// Chang, inhibition at the change, in the interval, none: SR value of (blocked X,
    /// unblocked Y).
    pub chang_sr: [(f64, f64); 3],
    /// Chang: value TD's (X, Y), no inhibition.
    pub chang_td: (f64, f64),
    /// Sharpe, inhibition: test values of A and B.
    pub sharpe_inhibition: TestValues,
    /// Sharpe, activation: test values of F, D and C.
    pub sharpe_activation: TestValues,
    /// Sharpe, devaluation: C's SR value (non-devalued, devalued).
    pub sharpe_devaluation: (f64, f64),
}

/// What a unit measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdentityUnitResult {
    /// [`IdentityUnit::Designs`].
    Designs(Box<DesignResult>),
    /// [`IdentityUnit::World`].
    World(Box<WorldShiftRun>),
}

/// Everything `bench identity` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityResult {
    /// The settings.
    pub config: IdentityConfig,
    /// The published designs.
    pub designs: DesignResult,
    /// The world model's identity shift, one run per seed.
    pub world: Vec<WorldShiftRun>,
    /// Per signal, over seeds.
    pub world_summary: Vec<SignalSummary>,
    /// Per signal, over the seeds whose world model learned the task.
    pub world_summary_learned: Vec<SignalSummary>,
}

/// The published designs, each model.
pub fn designs() -> DesignResult {
    let (exp, td) = chang_identity_unblocking(Inhibition::Outcome);
    let (iti, _) = chang_identity_unblocking(Inhibition::Interval);
    let (off, _) = chang_identity_unblocking(Inhibition::Off);
    DesignResult {
        takahashi: takahashi_identity_shift(),
        chang_sr: [exp, iti, off],
        chang_td: td,
        sharpe_inhibition: sharpe_inhibition(),
        sharpe_activation: sharpe_activation(),
        sharpe_devaluation: sharpe_devaluation(),
    }
}

impl Experiment for IdentityConfig {
    const NAME: &'static str = "identity";
    type Unit = IdentityUnit;
    type UnitResult = IdentityUnitResult;
    type Result = IdentityResult;

    fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: &str| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        if self.seeds > 0 && self.sessions < 20 {
            return bad("sessions", "at least 20 (a fifth of them is measured)");
        }
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("h_dim", self.h_dim),
            ("z_dim", self.z_dim),
            ("hidden", self.hidden),
            ("heads", self.heads),
            ("critic_epochs", self.critic_epochs),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, v)| self.seeds > 0 && *v == 0) {
            return bad(field, "must be positive");
        }
        if !(self.gamma > 0.0 && self.gamma < 1.0) {
            return bad("gamma", "in (0, 1)");
        }
        if self.critic_lr.is_nan() || self.critic_lr <= 0.0 {
            return bad("critic_lr", "must be positive");
        }
        Ok(())
    }

    fn units(&self) -> Vec<IdentityUnit> {
        let seeds = (0..self.seeds as u64).map(IdentityUnit::World);
        std::iter::once(IdentityUnit::Designs)
            .chain(seeds)
            .collect()
    }

    fn run_unit(
        &self,
        unit: &IdentityUnit,
        ctx: &Context,
    ) -> Result<IdentityUnitResult, ExperimentError> {
        Ok(match *unit {
            IdentityUnit::Designs => IdentityUnitResult::Designs(Box::new(designs())),
            IdentityUnit::World(seed) => {
                IdentityUnitResult::World(Box::new(world::run(self, seed, &ctx.out, &ctx.device)?))
            }
        })
    }

    fn describe(r: &IdentityUnitResult) -> String {
        match r {
            IdentityUnitResult::Designs(d) => {
                let s = d.takahashi[0];
                format!("designs: SR error late {:.4}, early {:.4}", s.late, s.early)
            }
            IdentityUnitResult::World(w) => {
                let name = world::signal_names()[2].clone();
                let s = w.signals[&name].shift;
                format!(
                    "seed {}: bound {:.3}, {name} late {:.4}, early {:.4}",
                    w.seed, w.valid_bound, s.late, s.early
                )
            }
        }
    }

    fn finish(
        &self,
        runs: Vec<IdentityUnitResult>,
        _: &Context,
    ) -> Result<IdentityResult, ExperimentError> {
        let (mut designs, mut world) = (None, Vec::new());
        for r in runs {
            match r {
                IdentityUnitResult::Designs(d) => designs = Some(*d),
                IdentityUnitResult::World(w) => world.push(*w),
            }
        }
        let designs = designs.ok_or(ExperimentError::Readback("the designs unit"))?;
        let learned: Vec<WorldShiftRun> = world.iter().filter(|w| w.learned).cloned().collect();
        Ok(IdentityResult {
            config: self.clone(),
            world_summary: summarise(&world),
            world_summary_learned: summarise(&learned),
            designs,
            world,
        })
    }

    /// `identity.json` and `identity.md`; the lines are the tables.
    fn report(
        r: &IdentityResult,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        write_file(&Self::json_path(out), pretty("the result", r)?.as_bytes())?;
        let md = markdown(r);
        write_file(&out.join("identity.md"), md.as_bytes())?;
        if !r.world.is_empty() {
            let png = report::figure(r).render(format)?;
            let path = out.join(format!("identity-shift.{}", format.extension()));
            write_file(&path, &png)?;
        }
        Ok(md.lines().map(str::to_string).collect())
    }
}
