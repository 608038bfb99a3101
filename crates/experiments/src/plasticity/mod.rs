//! `bench plasticity`: learning rules side by side on the tasks of the neuromodulatory-learning
//! papers (Bellec et al. 2020; Liu et al. 2021, 2022). One unit is a (task, rule, seed): a
//! network of six cell types trained with that rule ([`neuromod_plasticity::train`]); the
//! report gives each rule's final loss and its distance to BPTT's with 95 % intervals over
//! seeds, the learning curves, and the seconds per update.
//!
//! The prediction declared before the runs (the papers' result): on each task the final loss
//! orders BPTT <= ModProp, MDGL <= e-prop. The report says, per task, whether it held.

mod report;

use std::path::Path;

use neuromod_core::ConfigError;
use neuromod_plasticity::{rule, train, PlasticityRun, RULES};
use neuromod_plots::Format;
use serde::{Deserialize, Serialize};

pub use neuromod_plasticity::Task;
pub use report::{ordering_held, summarise, RuleSummary};

use crate::runner::{Context, Experiment};
use crate::ExperimentError;

/// What `bench plasticity` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlasticityConfig {
    /// The tasks.
    pub tasks: Vec<Task>,
    /// The rules, by name (`bptt` must be among them: the others are measured against it).
    pub rules: Vec<String>,
    /// Seeds per (task, rule).
    pub seeds: usize,
    /// Adam updates per run.
    pub iterations: usize,
    /// Trials per update.
    pub batch: usize,
    /// Adam's step size.
    pub lr: f64,
}

impl Default for PlasticityConfig {
    fn default() -> Self {
        let run = PlasticityRun::new(Task::Pattern, 0);
        Self {
            tasks: Task::ALL.to_vec(),
            rules: ["bptt", "eprop", "mdgl", "modprop"]
                .map(String::from)
                .to_vec(),
            seeds: 5,
            iterations: run.iterations,
            batch: run.batch,
            lr: run.lr,
        }
    }
}

/// One (task, rule, seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlasticityUnit {
    /// The task.
    pub task: Task,
    /// The rule's name.
    pub rule: String,
    /// The seed (the same seed gives every rule the same initial network and trials).
    pub seed: u64,
}

/// What one unit measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlasticityRunResult {
    /// Which unit.
    pub unit: PlasticityUnit,
    /// Loss per scored step of each update's batch, before the update.
    pub curve: Vec<f64>,
    /// Wall seconds of the whole run.
    pub seconds: f64,
}

impl PlasticityRunResult {
    /// The final loss: the mean over the last tenth of the updates.
    pub fn final_loss(&self) -> f64 {
        let tail = (self.curve.len() / 10).max(1);
        let last = &self.curve[self.curve.len() - tail..];
        last.iter().sum::<f64>() / last.len() as f64
    }
}

/// The experiment's result: every run, and the summary per (task, rule).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlasticityResult {
    /// The config it ran.
    pub config: PlasticityConfig,
    /// The device it ran on.
    pub device: String,
    /// Every run, in unit order.
    pub runs: Vec<PlasticityRunResult>,
    /// Per task and rule.
    pub summary: Vec<RuleSummary>,
}

impl PlasticityConfig {
    fn run_of(&self, unit: &PlasticityUnit) -> PlasticityRun {
        let mut run = PlasticityRun::new(unit.task, unit.seed);
        run.iterations = self.iterations;
        run.batch = self.batch;
        run.lr = self.lr;
        run
    }
}

impl Experiment for PlasticityConfig {
    const NAME: &'static str = "plasticity";
    type Unit = PlasticityUnit;
    type UnitResult = PlasticityRunResult;
    type Result = PlasticityResult;

    fn check(&self) -> Result<(), ExperimentError> {
        let bad = |field: &str, reason: String| Err(ConfigError::new(field, reason).into());
        if self.tasks.is_empty() {
            return bad("tasks", "name at least one task".into());
        }
        if let Some(r) = self.rules.iter().find(|r| rule(r).is_none()) {
            let known: Vec<_> = RULES.iter().map(|r| r.name()).collect();
            return bad(
                "rules",
                format!("no rule `{r}` (known: {})", known.join(", ")),
            );
        }
        if !self.rules.iter().any(|r| r == "bptt") {
            return bad(
                "rules",
                "include bptt: every rule is measured against it".into(),
            );
        }
        if let Some(t) = self
            .tasks
            .iter()
            .enumerate()
            .find_map(|(i, t)| self.tasks[..i].contains(t).then_some(t))
        {
            return bad("tasks", format!("`{}` is named twice", t.name()));
        }
        if let Some(r) = self
            .rules
            .iter()
            .enumerate()
            .find_map(|(i, r)| self.rules[..i].contains(r).then_some(r))
        {
            return bad("rules", format!("`{r}` is named twice"));
        }
        for (field, value, least) in [
            ("seeds", self.seeds, 1),
            ("iterations", self.iterations, 10),
            ("batch", self.batch, 1),
        ] {
            if value < least {
                return bad(field, format!("must be at least {least}, got {value}"));
            }
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("must be a positive number, got {}", self.lr));
        }
        Ok(())
    }

    fn units(&self) -> Vec<PlasticityUnit> {
        let mut units = Vec::new();
        for &task in &self.tasks {
            for seed in 0..self.seeds as u64 {
                for r in &self.rules {
                    units.push(PlasticityUnit {
                        task,
                        rule: r.clone(),
                        seed,
                    });
                }
            }
        }
        units
    }

    fn run_unit(
        &self,
        unit: &PlasticityUnit,
        ctx: &Context,
    ) -> Result<PlasticityRunResult, ExperimentError> {
        let learning_rule = rule(&unit.rule).expect("checked");
        let started = std::time::Instant::now();
        let (curve, _) = train(&self.run_of(unit), learning_rule, &ctx.device);
        Ok(PlasticityRunResult {
            unit: unit.clone(),
            curve,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn describe(r: &PlasticityRunResult) -> String {
        format!(
            "{} {} seed {}: final loss {:.4} ({:.1} s)",
            r.unit.task.name(),
            r.unit.rule,
            r.unit.seed,
            r.final_loss(),
            r.seconds
        )
    }

    fn finish(
        &self,
        runs: Vec<PlasticityRunResult>,
        ctx: &Context,
    ) -> Result<PlasticityResult, ExperimentError> {
        Ok(PlasticityResult {
            summary: summarise(&self.tasks, &self.rules, &runs),
            config: self.clone(),
            device: ctx.device_name.clone(),
            runs,
        })
    }

    fn report(
        result: &PlasticityResult,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        report::write(result, out, format)
    }
}
