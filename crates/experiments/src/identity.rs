//! `neuromod bench identity`: identity (sensory) prediction errors, the data successor features
//! explain and value TD does not (Gardner, Schoenbaum & Gershman 2018): Takahashi et al.
//! 2017's identity shift at equal value, and Chang et al. 2017's identity unblocking with
//! inhibition at the identity change or in the interval. The models are
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

/// Chang et al. 2017 (as tabulated by Gardner et al.): responding to the blocked and the
/// unblocked cue, inhibition at the identity change ("Exp") and in the interval ("ITI").
pub const CHANG_BLOCKED_UNBLOCKED: [(f64, f64); 2] = [(27.6, 26.7), (17.1, 47.4)];

/// `bench identity` has no settings: the designs and parameters are the published ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdentityConfig {}

/// Everything `bench identity` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityResult {
    /// Takahashi: SR error, value TD on the same features, value TD blind to identity.
    pub takahashi: [Shift; 3],
    /// Chang, inhibition at the change then in the interval: SR value of (blocked X, unblocked Y).
    pub chang_sr: [(f64, f64); 2],
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
        Ok(IdentityResult {
            takahashi: takahashi_identity_shift(),
            chang_sr: [exp, iti],
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

/// "early / late = ratio, sign of early - late".
fn shift_text(s: Shift) -> String {
    let sign = if s.early > s.late { "+" } else { "-" };
    format!(
        "{:.4} / {:.4}: ratio {:.2}, early - late {sign}",
        s.early,
        s.late,
        s.early / s.late
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
    let _ = writeln!(
        md,
        "| recorded dopamine neurons (spikes/s) | {} |",
        shift_text(Shift { late, early })
    );
    for (name, s) in [
        "TD over successor features (mean error)",
        "value TD, same features",
        "value TD blind to identity",
    ]
    .iter()
    .zip(r.takahashi)
    {
        let _ = writeln!(md, "| {name} | {} |", shift_text(s));
    }
    md.push_str(
        "\n## Identity unblocking: value of the blocked / unblocked cue at test (ratio)\n\n\
         | model | inhibition at the identity change | inhibition in the interval |\n| --- | --- | --- |\n",
    );
    let cell = |(x, y): (f64, f64)| format!("{x:.4} / {y:.4} ({:.2})", y / x);
    let [exp, iti] = CHANG_BLOCKED_UNBLOCKED;
    let _ = writeln!(md, "| rats (responding) | {} | {} |", cell(exp), cell(iti));
    let _ = writeln!(
        md,
        "| TD over successor features | {} | {} |",
        cell(r.chang_sr[0]),
        cell(r.chang_sr[1])
    );
    let _ = writeln!(
        md,
        "| value TD, same features (no inhibition) | {} | {} |",
        cell(r.chang_td),
        cell(r.chang_td)
    );
    md
}
