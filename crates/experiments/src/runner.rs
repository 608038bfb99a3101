//! The one runner every experiment goes through: a checked config, its units of work (a seed,
//! a task and a seed, a timing setup), the result of each unit, the experiment's result, and its
//! report (JSON with every raw number, Markdown, figures) in one folder.
//!
//! A unit runs in this process on the context's device, or, where the caller provides an
//! [`Isolate`], in a fresh process (a timing's peak memory is then its own): the unit travels
//! as JSON and comes back as JSON, and [`run_unit_json`] is what that process calls.

use neuromod_core::ConfigError;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use neuromod_plots::Format;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ExperimentError;

/// An experiment: its config is the value implementing this trait.
pub trait Experiment: Clone + Serialize + DeserializeOwned {
    /// Its name (`neuromod bench <name>`), also the stem of its JSON and Markdown files.
    const NAME: &'static str;
    /// A unit of work.
    type Unit: Clone + Debug + Serialize + DeserializeOwned;
    /// What one unit measures.
    type UnitResult: Serialize + DeserializeOwned;
    /// What the experiment reports.
    type Result: Serialize + DeserializeOwned;

    /// Rejects a setting that cannot run, naming it.
    fn check(&self) -> Result<(), ExperimentError>;

    /// The units, in the order they run.
    fn units(&self) -> Vec<Self::Unit>;

    /// Which device a unit runs on (None: the context's).
    fn unit_device(_unit: &Self::Unit) -> Option<&str> {
        None
    }

    /// Runs one unit on the context's device.
    fn run_unit(
        &self,
        unit: &Self::Unit,
        ctx: &Context,
    ) -> Result<Self::UnitResult, ExperimentError>;

    /// One line about a finished unit, for progress output.
    fn describe(result: &Self::UnitResult) -> String;

    /// The experiment's result from every unit's (in the order of [`Experiment::units`]).
    fn finish(
        &self,
        runs: Vec<Self::UnitResult>,
        ctx: &Context,
    ) -> Result<Self::Result, ExperimentError>;

    /// Writes the report into `out` (the JSON first); returns the lines worth printing.
    fn report(
        result: &Self::Result,
        out: &Path,
        format: Format,
    ) -> Result<Vec<String>, ExperimentError>;

    /// The result as an earlier run's JSON file holds it.
    fn read(text: &str) -> Result<Self::Result, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON file a finished run leaves in `out`.
    fn json_path(out: &Path) -> PathBuf {
        out.join(format!("{}.json", Self::NAME))
    }

    /// Files whose presence in `out` means it holds a run already (a second run there is
    /// refused, so nothing is overwritten): the JSON and the Markdown.
    fn outputs(out: &Path) -> Vec<PathBuf> {
        vec![Self::json_path(out), out.join(format!("{}.md", Self::NAME))]
    }
}

/// One unit for another process to run: which experiment, on which device, with which
/// settings.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// [`Experiment::NAME`].
    pub experiment: &'static str,
    /// The device's name, as the command line takes it.
    pub device: String,
    /// The experiment's config, JSON.
    pub config: String,
    /// The unit, JSON.
    pub unit: String,
}

/// Runs an [`Invocation`] in a fresh process and returns its unit result (JSON).
pub type Isolate<'a> = &'a dyn Fn(&Invocation) -> Result<String, ExperimentError>;

/// Where an experiment runs.
pub struct Context<'a> {
    /// The device units run on in this process.
    pub device: Device,
    /// Its name, as reports print it and the command line takes it.
    pub device_name: String,
    /// The output folder.
    pub out: PathBuf,
    /// Runs units in fresh processes when given.
    pub isolate: Option<Isolate<'a>>,
    started: Instant,
}

impl<'a> Context<'a> {
    /// A context on `device`, writing into `out`, running every unit in this process.
    pub fn new(device: Device, device_name: &str, out: &Path) -> Self {
        Self {
            device,
            device_name: device_name.to_string(),
            out: out.to_path_buf(),
            isolate: None,
            started: Instant::now(),
        }
    }

    /// The same context running units through `isolate`.
    pub fn isolated(mut self, isolate: Isolate<'a>) -> Self {
        self.isolate = Some(isolate);
        self
    }

    /// Seconds since the context was made.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Runs `unit` of `exp`: in a fresh process where the context has an [`Isolate`], else
    /// here (on the context's device, which must be the unit's).
    pub fn run_unit<E: Experiment>(
        &self,
        exp: &E,
        unit: &E::Unit,
    ) -> Result<E::UnitResult, ExperimentError> {
        let device = E::unit_device(unit).unwrap_or(&self.device_name);
        match self.isolate {
            Some(isolate) => {
                let json = |what| move |source| ExperimentError::Json { what, source };
                let text = isolate(&Invocation {
                    experiment: E::NAME,
                    device: device.to_string(),
                    config: serde_json::to_string(exp).map_err(json("the config"))?,
                    unit: serde_json::to_string(unit).map_err(json("the unit"))?,
                })?;
                serde_json::from_str(&text).map_err(|source| ExperimentError::Json {
                    what: "a unit's result",
                    source,
                })
            }
            None if device == self.device_name => exp.run_unit(unit, self),
            None => Err(ExperimentError::Config(ConfigError::new(
                "device",
                format!(
                    "a unit on {device} cannot run in this process, which runs {}",
                    self.device_name
                ),
            ))),
        }
    }
}

/// Runs `exp` in `ctx` (refusing a folder that holds a finished run of it), reporting each
/// finished unit through `progress`, and writes its report; returns the result and the
/// report's lines.
pub fn run<E: Experiment>(
    exp: &E,
    ctx: &Context,
    format: Format,
    progress: &mut dyn FnMut(&str),
) -> Result<(E::Result, Vec<String>), ExperimentError> {
    exp.check()?;
    if E::outputs(&ctx.out).iter().any(|p| p.exists()) {
        return Err(ExperimentError::Config(ConfigError::new(
            "out",
            format!(
                "{} already holds {} {} run: choose another folder",
                ctx.out.display(),
                if E::NAME.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                E::NAME
            ),
        )));
    }
    std::fs::create_dir_all(&ctx.out).map_err(ExperimentError::io(&ctx.out, "create"))?;
    let mut runs = Vec::new();
    for unit in exp.units() {
        let r = ctx.run_unit(exp, &unit)?;
        progress(&E::describe(&r));
        runs.push(r);
    }
    let result = exp.finish(runs, ctx)?;
    let lines = E::report(&result, &ctx.out, format)?;
    Ok((result, lines))
}

/// Draws the report of an earlier run's JSON again into `out`, running nothing.
pub fn redraw<E: Experiment>(
    json: &Path,
    out: &Path,
    format: Format,
) -> Result<Vec<String>, ExperimentError> {
    let text = std::fs::read_to_string(json).map_err(ExperimentError::io(json, "read"))?;
    let result = E::read(&text).map_err(|source| ExperimentError::Json {
        what: "an earlier run's result",
        source,
    })?;
    std::fs::create_dir_all(out).map_err(ExperimentError::io(out, "create"))?;
    E::report(&result, out, format)
}

/// Runs the unit of an [`Invocation`] in this process (what an isolating process does).
pub fn run_unit_json<E: Experiment>(
    config: &str,
    unit: &str,
    ctx: &Context,
) -> Result<String, ExperimentError> {
    let parse = |what| move |source| ExperimentError::Json { what, source };
    let exp: E = serde_json::from_str(config).map_err(parse("the config"))?;
    let unit: E::Unit = serde_json::from_str(unit).map_err(parse("the unit"))?;
    let result = exp.run_unit(&unit, ctx)?;
    serde_json::to_string(&result).map_err(parse("the unit's result"))
}
