//! `bench relearn` through the runner: one unit per seed.

use std::path::Path;

use neuromod_plots::Format;

use super::report::{self, RelearnResult};
use super::{run_one, RelearnConfig, RelearnRun};
use crate::runner::{Context, Experiment};
use crate::ExperimentError;

impl Experiment for RelearnConfig {
    const NAME: &'static str = "relearn";
    type Unit = u64;
    type UnitResult = RelearnRun;
    type Result = RelearnResult;

    fn check(&self) -> Result<(), ExperimentError> {
        RelearnConfig::check(self)
    }

    fn units(&self) -> Vec<u64> {
        (0..self.seeds as u64).collect()
    }

    fn run_unit(&self, &seed: &u64, ctx: &Context) -> Result<RelearnRun, ExperimentError> {
        run_one(self, seed, &ctx.out, &ctx.device)
    }

    /// The seed's switch, its world model's bound and its SPE before, at and well after the
    /// switch.
    fn describe(r: &RelearnRun) -> String {
        let mean = |from: usize, to: usize| {
            let to = to.min(r.spe.len());
            r.spe[from.min(to)..to].iter().sum::<f64>() / (to - from.min(to)).max(1) as f64
        };
        format!(
            "seed {}: switch at {}, valid {:.3}; SPE before / at / 50-99 after: {:.2} / {:.2} / {:.2}",
            r.seed,
            r.switch,
            r.valid_bound,
            mean(r.switch.saturating_sub(10), r.switch),
            mean(r.switch, r.switch + 5),
            mean(r.switch + 50, r.switch + 100)
        )
    }

    fn finish(
        &self,
        runs: Vec<RelearnRun>,
        ctx: &Context,
    ) -> Result<RelearnResult, ExperimentError> {
        Ok(RelearnResult {
            config: self.clone(),
            device: ctx.device_name.clone(),
            runs,
            seconds: ctx.seconds(),
        })
    }

    /// `relearn.json`, `relearn.md` and the figure.
    fn report(
        result: &RelearnResult,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        report::write(result, out, format)?;
        Ok(vec![format!("wrote {}", out.join("relearn.md").display())])
    }
}
