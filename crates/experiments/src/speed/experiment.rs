//! `bench speed` through the runner. Its units: every timing setup on every device (the scaling
//! sweep), the paired SPE + critic overhead per device, and rounds of the comparison with the
//! family's peers (JAX, and PyTorch for the VRNN; neuromod on each device, then each peer,
//! round after round). Each
//! unit names its device; with an isolating context each runs in a fresh process, so its peak
//! memory is its own.

use neuromod_core::ConfigError;
use std::path::Path;

use neuromod_plots::Format;
use serde::{Deserialize, Serialize};

use super::peers::{comparison_markdown, peers, Contender, PeerOutcome, PeerScripts};
use super::{
    markdown, paired_overhead, setups, summarise, time, PairedOverhead, Setup, Size, SpeedResult,
    Timing, Variant,
};
use crate::runner::{Context, Experiment};
use crate::{pretty, write_file, ExperimentError};
use neuromod_train::ModelKind;

/// Everything `bench speed` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpeedConfig {
    /// Devices to time, by the names the command line takes.
    pub devices: Vec<String>,
    /// World-model family.
    pub model: ModelKind,
    /// Model size.
    pub size: Size,
    /// Timed steps per setup (after one warm-up step).
    pub reps: usize,
    /// Transitions the critic trains on per step (0: all).
    pub critic_transitions: usize,
    /// Time every setup of the scaling sweep.
    pub sweep: bool,
    /// Pairs of steps of the paired SPE + critic overhead per device (0: none).
    pub pairs: usize,
    /// Rounds of the comparison with the family's peers (0: none).
    pub peer_rounds: usize,
}

/// The shape the peers compare at.
const PEER_SHAPE: (usize, usize) = (32, 100);

/// One unit of `bench speed`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SpeedUnit {
    /// One setup of the sweep, or neuromod's turn in a comparison round.
    Time {
        /// The device.
        device: String,
        /// What is timed.
        setup: Setup,
        /// The comparison round (None: the sweep).
        round: Option<usize>,
    },
    /// The paired SPE + critic overhead.
    Paired {
        /// The device.
        device: String,
    },
    /// A peer's turn in a comparison round.
    Peer {
        /// Its name in tables.
        name: String,
        /// Its script.
        script: String,
        /// The round.
        round: usize,
    },
}

/// What a unit measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SpeedUnitResult {
    /// A timing.
    Timed {
        /// The device.
        device: String,
        /// The comparison round (None: the sweep).
        round: Option<usize>,
        /// The timing.
        timing: Timing,
    },
    /// A paired overhead.
    Paired {
        /// The device.
        device: String,
        /// The overhead.
        paired: PairedOverhead,
    },
    /// A peer's round.
    Peer {
        /// Its name in tables.
        name: String,
        /// How it ended.
        outcome: PeerOutcome,
    },
}

/// Neuromod beside its peers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// Sequences per batch.
    pub batch: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Neuromod on each device.
    pub neuromod: Vec<Contender>,
    /// Each peer.
    pub peers: Vec<Contender>,
}

/// What `bench speed` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpeedReport {
    /// The sweep per device (empty without the sweep).
    pub results: Vec<SpeedResult>,
    /// The comparison with the peers, if it ran.
    pub comparison: Option<Comparison>,
}

impl SpeedConfig {
    /// The setup neuromod times in a comparison round.
    fn peer_setup(&self) -> Setup {
        Setup {
            model: self.model,
            size: Size::Bench,
            variant: Variant::WorldModel,
            batch: PEER_SHAPE.0,
            steps: PEER_SHAPE.1,
            reps: self.reps,
            critic_transitions: self.critic_transitions,
        }
    }
}

impl Experiment for SpeedConfig {
    const NAME: &'static str = "speed";
    type Unit = SpeedUnit;
    type UnitResult = SpeedUnitResult;
    type Result = SpeedReport;

    fn check(&self) -> Result<(), ExperimentError> {
        let bad =
            |field, reason: &str| Err(ExperimentError::Config(ConfigError::new(field, reason)));
        if self.devices.is_empty() {
            return bad("device", "give at least one device");
        }
        if self.reps == 0 {
            return bad("reps", "must be at least 1");
        }
        if !self.sweep && self.peer_rounds == 0 {
            return bad(
                "quick",
                "skipping the sweep leaves nothing to time: ask for the peers comparison too",
            );
        }
        Ok(())
    }

    fn units(&self) -> Vec<SpeedUnit> {
        let mut units = Vec::new();
        for device in &self.devices {
            if self.sweep {
                units.extend(
                    setups((self.model, self.size), self.reps, self.critic_transitions)
                        .into_iter()
                        .map(|setup| SpeedUnit::Time {
                            device: device.clone(),
                            setup,
                            round: None,
                        }),
                );
                if self.pairs > 0 {
                    units.push(SpeedUnit::Paired {
                        device: device.clone(),
                    });
                }
            }
        }
        for round in 1..=self.peer_rounds {
            units.extend(self.devices.iter().map(|device| SpeedUnit::Time {
                device: device.clone(),
                setup: self.peer_setup(),
                round: Some(round),
            }));
            units.extend(
                peers(self.model)
                    .iter()
                    .map(|(name, script)| SpeedUnit::Peer {
                        name: name.to_string(),
                        script: script.to_string(),
                        round,
                    }),
            );
        }
        units
    }

    fn unit_device(unit: &SpeedUnit) -> Option<&str> {
        match unit {
            SpeedUnit::Time { device, .. } | SpeedUnit::Paired { device } => Some(device),
            SpeedUnit::Peer { .. } => None,
        }
    }

    fn run_unit(
        &self,
        unit: &SpeedUnit,
        ctx: &Context,
    ) -> Result<SpeedUnitResult, ExperimentError> {
        Ok(match unit {
            SpeedUnit::Time {
                device,
                setup,
                round,
            } => SpeedUnitResult::Timed {
                device: device.clone(),
                round: *round,
                timing: time(*setup, &ctx.device)?,
            },
            SpeedUnit::Paired { device } => SpeedUnitResult::Paired {
                device: device.clone(),
                paired: paired_overhead(
                    (self.model, self.size),
                    PEER_SHAPE,
                    self.pairs,
                    self.critic_transitions,
                    &ctx.device,
                )?,
            },
            SpeedUnit::Peer { name, script, .. } => SpeedUnitResult::Peer {
                name: name.clone(),
                outcome: PeerScripts::write()?.run(script, PEER_SHAPE, self.reps)?,
            },
        })
    }

    fn describe(r: &SpeedUnitResult) -> String {
        match r {
            SpeedUnitResult::Timed {
                device,
                round,
                timing: t,
            } => {
                let round = round.map_or(String::new(), |k| format!(" (peers round {k})"));
                format!(
                    "{device:<8} {:<16} batch {:>3} T {:>3}: {:>9.1} ms/step, peak {} MiB{round}",
                    t.variant.name(),
                    t.batch,
                    t.steps,
                    t.ms_median,
                    t.peak_rss_mib.map_or("?".into(), |m| format!("{m:.0}"))
                )
            }
            SpeedUnitResult::Paired { device, paired } => format!(
                "{device:<8} SPE + critic overhead, {} pairs of steps in one process: median {:+.1}%",
                paired.rounds,
                100.0 * paired.quartiles[1]
            ),
            SpeedUnitResult::Peer { name, outcome } => match outcome {
                PeerOutcome::Timed(t) => format!(
                    "{name:<22} {:>8.3} s/step ({} {}, loss {:.2} -> {:.2})",
                    t.median_s, t.peer, t.version, t.loss_first, t.loss_last
                ),
                PeerOutcome::Skipped(why) => format!("{name:<22} skipped: {why}"),
            },
        }
    }

    fn finish(
        &self,
        runs: Vec<SpeedUnitResult>,
        _ctx: &Context,
    ) -> Result<SpeedReport, ExperimentError> {
        let contender = |name: String| Contender {
            name,
            round_medians: Vec::new(),
            round_mins: Vec::new(),
            skipped: None,
        };
        let mut sweep: Vec<(String, Vec<Timing>, Option<PairedOverhead>)> = Vec::new();
        let mut ours: Vec<Contender> = Vec::new();
        let mut theirs: Vec<Contender> = Vec::new();
        for r in runs {
            match r {
                SpeedUnitResult::Timed {
                    device,
                    round: None,
                    timing,
                } => match sweep.iter_mut().find(|s| s.0 == device) {
                    Some(s) => s.1.push(timing),
                    None => sweep.push((device, vec![timing], None)),
                },
                SpeedUnitResult::Paired { device, paired } => {
                    if let Some(s) = sweep.iter_mut().find(|s| s.0 == device) {
                        s.2 = Some(paired);
                    }
                }
                SpeedUnitResult::Timed {
                    device,
                    round: Some(_),
                    timing,
                } => {
                    let name = format!("neuromod ({device})");
                    if !ours.iter().any(|c| c.name == name) {
                        ours.push(contender(name.clone()));
                    }
                    let c = ours.iter_mut().find(|c| c.name == name).expect("added");
                    c.round_medians.push(timing.ms_median / 1e3);
                    c.round_mins.push(timing.ms_min / 1e3);
                }
                SpeedUnitResult::Peer { name, outcome } => {
                    if !theirs.iter().any(|c| c.name == name) {
                        theirs.push(contender(name.clone()));
                    }
                    let c = theirs.iter_mut().find(|c| c.name == name).expect("added");
                    match outcome {
                        PeerOutcome::Timed(t) => {
                            c.round_medians.push(t.median_s);
                            c.round_mins.push(t.min_s);
                        }
                        PeerOutcome::Skipped(why) => c.skipped = Some(why),
                    }
                }
            }
        }
        let results = sweep
            .into_iter()
            .map(|(device, timings, paired)| {
                let mut r = summarise(
                    &device,
                    (self.model, self.size),
                    self.critic_transitions,
                    timings,
                );
                r.paired = paired;
                r
            })
            .collect();
        let comparison = (self.peer_rounds > 0).then_some(Comparison {
            batch: PEER_SHAPE.0,
            steps: PEER_SHAPE.1,
            neuromod: ours,
            peers: theirs,
        });
        Ok(SpeedReport {
            results,
            comparison,
        })
    }

    /// `speed.json` (every timing), `speed.md` (the sweep) and `comparison.md` (the peers);
    /// the lines are the Markdown.
    fn report(
        result: &SpeedReport,
        out: &Path,
        _format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        write_file(
            &Self::json_path(out),
            pretty("the result", result)?.as_bytes(),
        )?;
        let mut lines = Vec::new();
        if !result.results.is_empty() {
            let md = markdown(&result.results);
            write_file(&out.join("speed.md"), md.as_bytes())?;
            lines.push(md);
        }
        if let Some(c) = &result.comparison {
            let md = comparison_markdown(&c.neuromod, &c.peers, c.batch, c.steps);
            write_file(&out.join("comparison.md"), md.as_bytes())?;
            lines.push(md);
        }
        Ok(lines)
    }
}
