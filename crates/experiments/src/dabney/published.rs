//! What Dabney et al. 2020 (Nature 577:671) report for each analysis, quoted from the paper's
//! Extended Data legends, or recomputed from the 40 variable-magnitude cells released with the
//! authors' analysis code where the paper prints no number (marked "recomputed": a port of their
//! code over 200 random half-splits, not a number from the paper). See docs/dopamine.md.

use neuromod_dopamine::CellModel;

use super::Population;

/// The recorded cells' median split-half r of reversal points and Spearman(asymmetry, reversal
/// point), recomputed from the released data (see the module's text).
pub const RECORDED: (f64, f64) = (0.78, 0.49);

/// The analyses of the table, in order.
pub const ANALYSES: [&str; 8] = [
    "split_half",
    "asymmetry_reversal",
    "asymmetry_reversal_pearson",
    "optimism_across_tasks",
    "w1_decoded",
    "closer_to_truth_than_references",
    "shuffled_over_true_w1",
    "best_logit_shift",
];

/// The published (or recomputed) value of `analysis` for `model`'s column; the critic is a
/// model of the same recorded cells as the distributional population.
pub fn published(analysis: &str, model: Population) -> &'static str {
    use CellModel::*;
    let model = match model {
        Population::Cells(m) => m,
        Population::Critic => Distributional,
    };
    match (analysis, model) {
        ("split_half", Distributional) => {
            "recorded cells: r 0.78 [0.56, 0.88], p ~ 4e-9 (recomputed; the paper: reliable)"
        }
        ("split_half", Classical) => "no correlation, P = 0.32 (ED Fig. 4a)",
        ("split_half", BaselineBias) => "strongly correlated (ED Fig. 4f)",
        ("split_half", AsymmetricScaling) => {
            "can detect spurious diversity of reversal points (ED Fig. 4l)"
        }
        ("asymmetry_reversal", Distributional) => {
            "recorded cells: Spearman 0.49 (recomputed; the paper: positive, Fig. 3)"
        }
        ("asymmetry_reversal_pearson", Distributional) => {
            "recorded cells: r 0.53 [0.15, 0.71], p ~ 5e-4 (recomputed)"
        }
        ("asymmetry_reversal" | "asymmetry_reversal_pearson", Classical) => {
            "no correlation, P = 0.78 (ED Fig. 4b)"
        }
        ("asymmetry_reversal" | "asymmetry_reversal_pearson", BaselineBias) => {
            "significant negative relation (ED Fig. 4h)"
        }
        ("optimism_across_tasks", Distributional) => {
            "no number printed (ED Fig. 9d: cue optimism not explained by licking)"
        }
        ("w1_decoded" | "closer_to_truth_than_references", Distributional) => {
            "decode shown beside uniform, Gaussian and mirrored references; no number (ED Fig. 8d)"
        }
        ("best_logit_shift", Distributional) => {
            "match quantified per shift s; no number in the legend (ED Fig. 8e-h)"
        }
        _ => "not reported",
    }
}
