//! `bench science` through the runner: one unit per task and seed.

use std::path::Path;

use neuromod_plots::Format;

use super::{report, run_one, RunResult, ScienceConfig, ScienceResult, Task};
use crate::runner::{Context, Experiment};
use crate::ExperimentError;

impl Experiment for ScienceConfig {
    const NAME: &'static str = "science";
    type Unit = (Task, u64);
    type UnitResult = RunResult;
    type Result = ScienceResult;

    fn check(&self) -> Result<(), ExperimentError> {
        ScienceConfig::check(self)
    }

    /// Every task for every seed, task by task.
    fn units(&self) -> Vec<(Task, u64)> {
        self.tasks
            .iter()
            .flat_map(|&task| (0..self.seeds as u64).map(move |seed| (task, seed)))
            .collect()
    }

    fn run_unit(
        &self,
        &(task, seed): &(Task, u64),
        ctx: &Context,
    ) -> Result<RunResult, ExperimentError> {
        run_one(self, task, seed, &ctx.out, &ctx.device)
    }

    fn describe(r: &RunResult) -> String {
        let first = |name: &str| {
            r.ratios
                .values()
                .next()
                .and_then(|m| m.get(name).copied().flatten())
        };
        let shown = |v: Option<f64>| v.map_or("silent".into(), |v| format!("{v:.2}"));
        format!(
            "{} seed {}: valid {:.3} nats/step, SPE ratio {}, RPE ratio {}",
            r.task.name(),
            r.seed,
            r.valid_bound,
            shown(first("SPE norm")),
            shown(first("RPE mean"))
        )
    }

    fn finish(
        &self,
        runs: Vec<RunResult>,
        ctx: &Context,
    ) -> Result<ScienceResult, ExperimentError> {
        Ok(ScienceResult {
            config: self.clone(),
            device: ctx.device_name.clone(),
            runs,
            seconds: ctx.seconds(),
        })
    }

    /// `science.json` (result and summary), `science.md` and the figures; the lines are the
    /// targets and their verdicts.
    fn report(
        result: &ScienceResult,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        let summary = report::write(result, out, format)?;
        Ok(summary
            .criteria
            .iter()
            .map(|c| format!("{}: {} ({})", c.what, c.shown(), c.verdict()))
            .collect())
    }

    /// The `result` object of `science.json` (beside its `summary`).
    fn read(text: &str) -> Result<ScienceResult, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct File {
            result: ScienceResult,
        }
        serde_json::from_str::<File>(text).map(|f| f.result)
    }
}
