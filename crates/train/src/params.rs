//! Module parameters by name, read back to the host (for exports and comparisons).

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;

use crate::TrainError;

/// One named float32 array in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    /// Name (module path, dot-separated).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

/// Collects every float parameter under its module path, prefixed.
struct Named {
    path: Vec<String>,
    arrays: Vec<NamedArray>,
    error: Option<String>,
}

impl ModuleVisitor for Named {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        // A world model's family variant is not part of its parameters' names (the prefix
        // names the family): `vrnn.prior.mu.weight`, as the family's own module has it.
        let skip = container_type == "Enum:WorldModel";
        self.path.push(if skip {
            String::new()
        } else {
            name.to_string()
        });
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        let parts: Vec<&str> = self
            .path
            .iter()
            .filter(|p| !p.is_empty())
            .map(String::as_str)
            .collect();
        let name = parts.join(".");
        match tensor.into_data().convert::<f32>().try_into_vec::<f32>() {
            Ok(data) => self.arrays.push(NamedArray { name, shape, data }),
            Err(e) => self.error = Some(format!("{name}: {e:?}")),
        }
    }
}

/// The float parameters of `module`, named `prefix.path.to.param`.
pub fn named_parameters<M: Module>(
    module: &M,
    prefix: &str,
) -> Result<Vec<NamedArray>, TrainError> {
    let mut visitor = Named {
        path: vec![prefix.to_string()],
        arrays: Vec::new(),
        error: None,
    };
    module.visit(&mut visitor);
    if let Some(reason) = visitor.error {
        return Err(TrainError::Readback {
            what: "a parameter",
            reason,
        });
    }
    Ok(visitor.arrays)
}
