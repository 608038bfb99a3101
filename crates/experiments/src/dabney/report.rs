//! The table of `bench dabney`: per analysis and model, the median over animals with the
//! range of the middle 95 %, and how many animals pass the test (with a Wilson interval).

use std::fmt::Write as _;
use std::path::Path;

use neuromod_dopamine::{wilson, CellModel};
use neuromod_plots::{Figure, Format, Mark, Panel, Rgb, Series};
use serde::{Deserialize, Serialize};

use super::published::{published, ANALYSES, RECORDED};
use super::{Animal, DabneyConfig, DabneyResult, Population};
use crate::{pretty, write_file, Experiment, ExperimentError};

/// One model's cell of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// The population.
    pub model: Population,
    /// Median over animals (None: undefined in every animal).
    pub median: Option<f64>,
    /// 2.5 % and 97.5 % points over animals.
    pub range: Option<(f64, f64)>,
    /// Animals where the statistic was defined.
    pub n: usize,
    /// Animals passing the row's test (significant positive correlation, or the named
    /// comparison), with the Wilson 95 % interval of the proportion of the animals tested.
    pub passing: Option<(usize, (f64, f64))>,
    /// Animals where the row's test could be run (a correlation or a decode was defined).
    #[serde(default)]
    pub tested: usize,
    /// Animals with a significant negative correlation (correlation rows only).
    pub negative: Option<usize>,
}

/// One analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The analysis' key.
    pub analysis: String,
    /// One cell per model, in the config's order.
    pub cells: Vec<Cell>,
}

/// The 2.5 % and 97.5 % points (linear interpolation) and the median of finite `v`.
fn spread(v: &[f64]) -> (Option<f64>, Option<(f64, f64)>, usize) {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let x = q * (v.len() - 1) as f64;
        let (i, f) = (x.floor() as usize, x - x.floor());
        v[i] + f * (v[(i + 1).min(v.len() - 1)] - v[i])
    };
    match v.is_empty() {
        true => (None, None, 0),
        false => (Some(at(0.5)), Some((at(0.025), at(0.975))), v.len()),
    }
}

/// The rows of the table from every animal.
pub fn summarise(config: &DabneyConfig, animals: &[Animal]) -> Vec<Row> {
    let alpha = config.alpha;
    ANALYSES
        .iter()
        .map(|&analysis| Row {
            analysis: analysis.to_string(),
            cells: config
                .populations()
                .into_iter()
                .map(|model| {
                    let mine: Vec<&Animal> = animals.iter().filter(|a| a.model == model).collect();
                    // (statistic, passes, significantly negative)
                    let per: Vec<(f64, Option<bool>, Option<bool>)> = mine
                        .iter()
                        .map(|a| {
                            let s = &a.stats;
                            let corr = |c: &neuromod_dopamine::Correlation| {
                                let sig = c.p < alpha;
                                (c.r, Some(sig && c.r > 0.0), Some(sig && c.r < 0.0))
                            };
                            match analysis {
                                "split_half" => corr(&s.split_half),
                                "asymmetry_reversal" => corr(&s.asymmetry_reversal),
                                "asymmetry_reversal_pearson" => corr(&s.asymmetry_reversal_pearson),
                                "optimism_across_tasks" => corr(&s.optimism_across_tasks),
                                "w1_decoded" => (s.w1_decoded.unwrap_or(f64::NAN), None, None),
                                "closer_to_truth_than_references" => match &s.controls {
                                    Some(c) => (c.w1_truth, Some(c.beats_references()), None),
                                    None => (f64::NAN, None, None),
                                },
                                "best_logit_shift" => match &s.controls {
                                    Some(c) => (c.best_shift(), Some(c.best_shift() == 0.0), None),
                                    None => (f64::NAN, None, None),
                                },
                                "shuffled_over_true_w1" => match &s.controls {
                                    Some(c) => (
                                        c.w1_shuffled / c.w1_truth,
                                        Some(c.w1_shuffled > c.w1_truth),
                                        None,
                                    ),
                                    None => (f64::NAN, None, None),
                                },
                                other => unreachable!("no analysis {other}"),
                            }
                        })
                        .collect();
                    let values: Vec<f64> = per.iter().map(|p| p.0).collect();
                    let (median, range, n) = spread(&values);
                    // An undefined correlation or decode is not tested (not failed).
                    let tested: Vec<bool> = per
                        .iter()
                        .filter(|p| p.0.is_finite())
                        .filter_map(|p| p.1)
                        .collect();
                    let k = tested.iter().filter(|x| **x).count();
                    Cell {
                        model,
                        median,
                        range,
                        n,
                        passing: wilson(k, tested.len()).map(|w| (k, w)),
                        tested: tested.len(),
                        negative: per
                            .iter()
                            .any(|p| p.2.is_some())
                            .then(|| per.iter().filter(|p| p.2 == Some(true)).count()),
                    }
                })
                .collect(),
        })
        .collect()
}

/// What each row measures and what "passing" means.
fn describe(analysis: &str) -> &'static str {
    match analysis {
        "split_half" => "Split-half reliability of reversal points (Pearson r; passing: p < alpha, r > 0)",
        "asymmetry_reversal" => "Asymmetry vs reversal point (Spearman; passing: p < alpha, rho > 0)",
        "asymmetry_reversal_pearson" => "Asymmetry vs reversal point (Pearson, as the authors' code)",
        "optimism_across_tasks" => "Asymmetry (magnitude task) vs optimism at the 50 % cue (Spearman)",
        "w1_decoded" => "W1 of the decoded distribution to the truth (ul; range 0.1-20)",
        "closer_to_truth_than_references" => "Decode closer to the truth than to uniform, Gaussian and mirrored references (passing: all three)",
        "best_logit_shift" => "Logit shift s of the asymmetries whose decode is closest to the truth, of -1, -0.5, 0, 0.5, 1 (passing: s = 0)",
        _ => "Shuffled asymmetries: W1 shuffled / W1 true (passing: shuffled is worse)",
    }
}

fn cell_text(c: &Cell, animals: usize) -> String {
    let mut s = match (c.median, c.range) {
        (Some(m), Some((lo, hi))) => format!("{m:.2} [{lo:.2}, {hi:.2}]"),
        _ => "undefined".into(),
    };
    if c.n < animals {
        let _ = write!(s, " (defined in {} of {animals})", c.n);
    }
    if let Some((k, (lo, hi))) = c.passing {
        let _ = write!(s, "; passing {k}/{} [{lo:.2}, {hi:.2}]", c.tested);
    }
    if let Some(neg) = c.negative.filter(|n| *n > 0) {
        let _ = write!(s, "; significantly negative {neg}/{animals}");
    }
    s
}

/// The Markdown table.
pub fn markdown(result: &DabneyResult) -> String {
    let c = &result.config;
    let mut md = format!(
        "# Dabney et al. 2020 at the paper's sizes\n\n{} animals per model (seeds {}-{}), {} cells, \
         {} recorded trials per reward size (and per cue), firing noise {} (reward units), {} \
         learning trials, {:?} rule, alpha {}. Each cell: median over animals [2.5 %, 97.5 % of \
         animals]; passing k/n [Wilson 95 % interval]. {} tests per model and row; no correction \
         for multiple comparisons is applied (the rows are reported, not selected).\n\n",
        c.animals,
        c.seed,
        c.seed + c.animals as u64 - 1,
        c.cells,
        c.recorded_trials,
        c.noise,
        c.trials,
        c.rule,
        c.alpha,
        c.animals
    );
    md.push_str("| analysis | model | published | neuromod |\n| --- | --- | --- | --- |\n");
    for row in &result.rows {
        for cell in &row.cells {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                describe(&row.analysis),
                cell.model.name(),
                published(&row.analysis, cell.model),
                cell_text(cell, c.animals)
            );
        }
    }
    md
}

/// Per model, each animal's split-half r and asymmetry-reversal rho.
fn figure(result: &DabneyResult) -> Figure {
    let models = result.config.populations();
    // Category k sits at x = k + 1.
    let x = |m: Population| models.iter().position(|n| *n == m).unwrap_or(0) as f64 + 1.0;
    let points = |f: &dyn Fn(&Animal) -> f64, dx: f64| -> Vec<(f64, f64)> {
        result
            .animals
            .iter()
            .map(|a| (x(a.model) + dx, f(a)))
            .filter(|p| p.1.is_finite())
            .collect()
    };
    let mut panel = Panel::new(
        "Dabney et al. 2020 analyses, one dot per simulated animal",
        "model",
        "correlation",
    )
    .with_categories(models.iter().map(|m| m.name()))
    .with(Series::new(
        "split-half r of reversal points",
        Rgb::BLUE,
        Mark::Dots,
        points(&|a| a.stats.split_half.r, -0.12),
    ))
    .with(Series::new(
        "Spearman(asymmetry, reversal point)",
        Rgb::RED,
        Mark::Dots,
        points(&|a| a.stats.asymmetry_reversal.r, 0.12),
    ));
    // The recorded cells' values (recomputed, see `published`) beside the distributional dots.
    let distributional = Population::Cells(CellModel::Distributional);
    if let Some(k) = models.iter().position(|m| *m == distributional) {
        let x = k as f64 + 1.0;
        panel = panel.with(Series::new(
            format!(
                "recorded cells (40, recomputed): split-half r {}, Spearman {}",
                RECORDED.0, RECORDED.1
            ),
            Rgb::BLACK,
            Mark::Dots,
            vec![(x - 0.12, RECORDED.0), (x + 0.12, RECORDED.1)],
        ));
    }
    // Room above the dots for the legend.
    panel.y_room = 0.45;
    Figure::single(panel)
}

/// Writes the JSON, the table and the figure; the lines are the table.
pub fn write(
    result: &DabneyResult,
    out: &Path,
    format: Format,
) -> Result<Vec<String>, ExperimentError> {
    write_file(
        &DabneyConfig::json_path(out),
        pretty("the result", result)?.as_bytes(),
    )?;
    let md = markdown(result);
    write_file(&out.join("dabney.md"), md.as_bytes())?;
    let name = format!("dabney.{}", format.extension());
    write_file(&out.join(&name), &figure(result).render(format)?)?;
    Ok(md.lines().map(str::to_string).collect())
}
