//! A recurrent network declared by its cell types: how many cells of each, their sign (Dale's
//! law: every outgoing weight of an excitatory cell is >= 0, of an inhibitory one <= 0), and
//! whether the readout (and so the top-down, dopamine-like signal) reaches them; and its local
//! modulators. Checked once at the boundary; every refusal names the field.

use serde::{Deserialize, Serialize};

/// The sign of a cell type's outgoing weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sign {
    /// Outgoing weights >= 0.
    Excitatory,
    /// Outgoing weights <= 0.
    Inhibitory,
}

impl Sign {
    /// +1 or -1.
    pub fn value(self) -> f32 {
        match self {
            Sign::Excitatory => 1.0,
            Sign::Inhibitory => -1.0,
        }
    }
}

/// One cell type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellType {
    /// Its name (unique), e.g. `E-out`.
    pub name: String,
    /// How many cells.
    pub count: usize,
    /// The sign of its outgoing recurrent weights.
    pub sign: Sign,
    /// Whether the readout reads these cells, and so whether the top-down signal reaches them.
    #[serde(default)]
    pub output: bool,
}

/// A whole network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Input channels.
    pub inputs: usize,
    /// Readout channels.
    pub outputs: usize,
    /// The cell types, in the order their cells are numbered.
    pub types: Vec<CellType>,
    /// Leak per step, alpha = exp(-dt / tau) in [0, 1): h_t = alpha h_{t-1} + input.
    pub alpha: f64,
    /// The local modulators: which types secrete each, which types' receptors read it. Empty:
    /// every type reads every type's (one ligand per type pair).
    #[serde(default)]
    pub modulators: Vec<Modulator>,
}

/// A local, neuropeptide-like modulator: secreted by the cells of some types (in proportion to
/// their own credit, Liu et al. 2021), read by the receptors of others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modulator {
    /// Its name.
    pub name: String,
    /// The types that secrete it.
    pub secreted_by: Vec<String>,
    /// The types whose receptors read it.
    pub read_by: Vec<String>,
}

/// A setting that cannot build a network, named by its field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid network setting `{field}`: {reason}")]
pub struct NetworkError {
    /// The field, e.g. `types[2].count`.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl NetworkError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl NetworkConfig {
    /// Every refusal names its field.
    pub fn check(&self) -> Result<(), NetworkError> {
        if self.inputs == 0 {
            return Err(NetworkError::new("inputs", "must be at least 1"));
        }
        if self.outputs == 0 {
            return Err(NetworkError::new("outputs", "must be at least 1"));
        }
        if self.types.is_empty() {
            return Err(NetworkError::new("types", "declare at least one cell type"));
        }
        for (i, t) in self.types.iter().enumerate() {
            if t.count == 0 {
                return Err(NetworkError::new(
                    format!("types[{i}].count"),
                    "must be at least 1",
                ));
            }
            if self.types[..i].iter().any(|u| u.name == t.name) {
                return Err(NetworkError::new(
                    format!("types[{i}].name"),
                    format!("`{}` is declared twice", t.name),
                ));
            }
        }
        if !self.types.iter().any(|t| t.output) {
            return Err(NetworkError::new(
                "types",
                "no type has `output: true`: the readout would read nothing",
            ));
        }
        for (m, modulator) in self.modulators.iter().enumerate() {
            let sides = [
                ("secreted_by", &modulator.secreted_by),
                ("read_by", &modulator.read_by),
            ];
            for (side, names) in sides {
                if names.is_empty() {
                    return Err(NetworkError::new(
                        format!("modulators[{m}].{side}"),
                        "names no type",
                    ));
                }
                if let Some((k, name)) = names
                    .iter()
                    .enumerate()
                    .find(|(_, n)| !self.types.iter().any(|t| &&t.name == n))
                {
                    return Err(NetworkError::new(
                        format!("modulators[{m}].{side}[{k}]"),
                        format!("no cell type is called `{name}`"),
                    ));
                }
            }
        }
        if !(0.0..1.0).contains(&self.alpha) {
            return Err(NetworkError::new(
                "alpha",
                format!("must lie in [0, 1), got {}", self.alpha),
            ));
        }
        Ok(())
    }

    /// Cells in all.
    pub fn cells(&self) -> usize {
        self.types.iter().map(|t| t.count).sum()
    }

    /// Each cell's type index, in cell order.
    pub fn type_of_cells(&self) -> Vec<usize> {
        self.types
            .iter()
            .enumerate()
            .flat_map(|(i, t)| std::iter::repeat_n(i, t.count))
            .collect()
    }

    /// `reads[r][s]`: whether cells of type r read a modulator that type s secretes.
    pub fn reads(&self) -> Vec<Vec<bool>> {
        let n = self.types.len();
        if self.modulators.is_empty() {
            return vec![vec![true; n]; n];
        }
        let index = |name: &String| self.types.iter().position(|t| &t.name == name);
        let mut reads = vec![vec![false; n]; n];
        for m in &self.modulators {
            for r in m.read_by.iter().filter_map(index) {
                for s in m.secreted_by.iter().filter_map(index) {
                    reads[r][s] = true;
                }
            }
        }
        reads
    }

    /// The six types of Liu et al. (2021) at a given size: excitatory and inhibitory,
    /// internal and output, the internal ones split into regular and adaptive types as the
    /// paper's are (adaptation is not modelled by the rate network, so here the split only
    /// gives the modulators more types to tell apart). `e` excitatory and `i` inhibitory
    /// cells per internal type, `out` excitatory output cells and max(i, 1) inhibitory ones.
    pub fn six_types(inputs: usize, outputs: usize, e: usize, i: usize, out: usize) -> Self {
        let t = |name: &str, count, sign, output| CellType {
            name: name.into(),
            count,
            sign,
            output,
        };
        Self {
            inputs,
            outputs,
            types: vec![
                t("E-regular", e, Sign::Excitatory, false),
                t("E-adaptive", e, Sign::Excitatory, false),
                t("I-regular", i, Sign::Inhibitory, false),
                t("I-adaptive", i, Sign::Inhibitory, false),
                t("E-out", out, Sign::Excitatory, true),
                t("I-out", i.max(1), Sign::Inhibitory, true),
            ],
            alpha: 0.8,
            modulators: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_six_types_check_and_number_their_cells_in_order() {
        let c = NetworkConfig::six_types(2, 1, 3, 2, 2);
        c.check().unwrap();
        assert_eq!(c.cells(), 3 + 3 + 2 + 2 + 2 + 2);
        let types = c.type_of_cells();
        assert_eq!(&types[..7], &[0, 0, 0, 1, 1, 1, 2]);
        assert_eq!(*types.last().unwrap(), 5);
    }

    #[test]
    fn bad_networks_are_refused_by_field() {
        let field = |f: &dyn Fn(&mut NetworkConfig)| {
            let mut c = NetworkConfig::six_types(2, 1, 3, 2, 2);
            f(&mut c);
            c.check().unwrap_err().field
        };
        assert_eq!(field(&|c| c.inputs = 0), "inputs");
        assert_eq!(field(&|c| c.types[2].count = 0), "types[2].count");
        assert_eq!(
            field(&|c| c.types[1].name = "E-regular".into()),
            "types[1].name"
        );
        assert_eq!(field(&|c| c.alpha = 1.0), "alpha");
        let ligand = |from: &str, to: &str| Modulator {
            name: "np".into(),
            secreted_by: vec![from.into()],
            read_by: vec![to.into()],
        };
        assert_eq!(
            field(&|c| c.modulators = vec![ligand("E-out", "X")]),
            "modulators[0].read_by[0]"
        );
        let mut c = NetworkConfig::six_types(2, 1, 3, 2, 2);
        c.modulators = vec![ligand("E-out", "I-regular")];
        c.check().unwrap();
        let reads = c.reads();
        assert!(reads[2][4] && !reads[4][2] && !reads[0][0]);
        assert_eq!(
            field(&|c| c.types.iter_mut().for_each(|t| t.output = false)),
            "types"
        );
    }
}
