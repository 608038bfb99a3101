//! `neuromod bench identity`: identity (sensory) prediction errors, which Gardner, Schoenbaum
//! & Gershman 2018 explain with TD over successor features: Takahashi et al. 2017's identity
//! shift at equal value, and Chang et al. 2017's identity unblocking with inhibition at the
//! identity change, in the interval, or none (whether value TD on the same features also
//! answers is what the run measures). The models are
//! [`neuromod_dopamine::td_sr`] (linear TD over successor features of the observed features)
//! and value TD on the same trials; the published values are those Gardner et al. tabulate in
//! their code (`sim_TDSR.m`). Deterministic: no seeds.

use std::fmt::Write as _;
use std::path::Path;

use neuromod_dopamine::{chang_identity_unblocking, takahashi_identity_shift, Inhibition, Shift};
use neuromod_plots::Format;
use serde::{Deserialize, Serialize};

use crate::runner::{Context, Experiment};
use crate::{pretty, write_file, ExperimentError};

/// Takahashi et al. 2017 (as tabulated by Gardner et al.): spikes/s over the last 5 trials
/// before the identity shift and the first 5 after.
pub const TAKAHASHI_LATE_EARLY: (f64, f64) = (2.34, 6.82);

/// Chang et al. 2017 (as tabulated by Gardner et al.: `V = [27.6 17.1; 26.7 47.4]`, rows the
/// conditions "Exp" and "ITI", columns the blocked and unblocked cue): (blocked, unblocked)
/// with inhibition at the identity change, then in the interval.
pub const CHANG_BLOCKED_UNBLOCKED: [(f64, f64); 2] = [(27.6, 17.1), (26.7, 47.4)];

/// `bench identity` has no settings: the designs and parameters are the published ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdentityConfig {}

/// Everything `bench identity` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityResult {
    /// Takahashi: SR error, value TD on the same features, value TD blind to identity.
    pub takahashi: [Shift; 3],
    /// Chang, inhibition at the change, in the interval, none: SR value of (blocked X,
    /// unblocked Y).
    pub chang_sr: [(f64, f64); 3],
    /// Chang: value TD's (X, Y), no inhibition.
    pub chang_td: (f64, f64),
}

impl Experiment for IdentityConfig {
    const NAME: &'static str = "identity";
    type Unit = ();
    type UnitResult = IdentityResult;
    type Result = IdentityResult;

    fn check(&self) -> Result<(), ExperimentError> {
        Ok(())
    }

    fn units(&self) -> Vec<()> {
        vec![()]
    }

    fn run_unit(&self, _: &(), _ctx: &Context) -> Result<IdentityResult, ExperimentError> {
        let (exp, td) = chang_identity_unblocking(Inhibition::Outcome);
        let (iti, _) = chang_identity_unblocking(Inhibition::Interval);
        let (off, _) = chang_identity_unblocking(Inhibition::Off);
        Ok(IdentityResult {
            takahashi: takahashi_identity_shift(),
            chang_sr: [exp, iti, off],
            chang_td: td,
        })
    }

    fn describe(r: &IdentityResult) -> String {
        let s = r.takahashi[0];
        format!(
            "identity shift: SR error late {:.4}, early {:.4}",
            s.late, s.early
        )
    }

    fn finish(
        &self,
        mut runs: Vec<IdentityResult>,
        _: &Context,
    ) -> Result<IdentityResult, ExperimentError> {
        runs.pop()
            .ok_or(ExperimentError::Readback("the identity unit"))
    }

    /// `identity.json` and `identity.md`; the lines are the table.
    fn report(
        r: &IdentityResult,
        out: &Path,
        _format: Format,
    ) -> Result<Vec<String>, ExperimentError> {
        write_file(&Self::json_path(out), pretty("the result", r)?.as_bytes())?;
        let md = markdown(r);
        write_file(&out.join("identity.md"), md.as_bytes())?;
        Ok(md.lines().map(str::to_string).collect())
    }
}

/// "early / late: early - late" (and the ratio where late is clearly away from 0).
fn shift_text(s: Shift) -> String {
    let ratio = match s.late.abs() > 0.1 * s.early.abs() {
        true => format!(", ratio {:.2}", s.early / s.late),
        false => String::new(),
    };
    format!(
        "{:.4} / {:.4}: early - late {:+.4}{ratio}",
        s.early,
        s.late,
        s.early - s.late
    )
}

/// The two tables.
pub fn markdown(r: &IdentityResult) -> String {
    let (late, early) = TAKAHASHI_LATE_EARLY;
    let mut md = String::from(
        "# Identity prediction errors (Takahashi 2017, Chang 2017; models of Gardner et al. 2018)\n\n\
         ## Identity shift at equal value: response early (first 5 trials) / late (last 5 before)\n\n\
         | model | early / late |\n| --- | --- |\n",
    );
    let recorded = shift_text(Shift { late, early });
    let _ = writeln!(md, "| recorded dopamine neurons (spikes/s) | {recorded} |");
    let names = [
        "TD over successor features (mean error)",
        "value TD, same features",
        "value TD blind to identity",
    ];
    for (name, s) in names.iter().zip(r.takahashi) {
        let _ = writeln!(md, "| {name} | {} |", shift_text(s));
    }
    md.push_str(
        "\n## Identity unblocking: value of the blocked / unblocked cue at test (ratio)\n\n\
         | model | inhibition at the identity change | inhibition in the interval | none |\n\
         | --- | --- | --- | --- |\n",
    );
    let cell = |(x, y): (f64, f64)| format!("{x:.4} / {y:.4} ({:.2})", y / x);
    let [exp, iti] = CHANG_BLOCKED_UNBLOCKED.map(cell);
    let _ = writeln!(md, "| rats (responding) | {exp} | {iti} | not run |");
    let [sr_exp, sr_iti, sr_off] = r.chang_sr.map(cell);
    let _ = writeln!(
        md,
        "| TD over successor features | {sr_exp} | {sr_iti} | {sr_off} |"
    );
    let td = cell(r.chang_td);
    let _ = writeln!(
        md,
        "| value TD, same features | not modelled | not modelled | {td} |"
    );
    md
}
