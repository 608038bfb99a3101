//! The world-model seam. [`ModelConfig`] is every model family's config, tagged by its
//! `kind` (`"vrnn"`, ...), and [`WorldModel`] is the module it builds; both dispatch to the
//! family through the contract in `neuromod-core` ([`neuromod_core::SequenceModel`],
//! [`neuromod_core::ModelSpec`]). Training, the signal heads, the benchmarks and the command
//! line depend on this crate and on no family.
//!
//! A new family lives in its own crate (`models/<family>/`), implements `SequenceModel` for its
//! module and `ModelSpec` for its config, and is registered in `registry.rs`: one variant in
//! [`ModelKind`], [`ModelConfig`] and [`WorldModel`], and one arm in the `dispatch!` macro.
//!
//! ```
//! use neuromod_world::{ModelConfig, ModelKind};
//! use neuromod_core::ModelSpec;
//!
//! let config = ModelConfig::new(ModelKind::Vrnn, 88);
//! assert_eq!(config.kind(), ModelKind::Vrnn);
//! assert_eq!(config.state_dim(), 256 + 32); // s_t = [h_t, muq_t]
//! let json = serde_json::to_value(&config).unwrap();
//! assert_eq!(json["kind"], "vrnn");
//! assert_eq!(json["model"]["x_dim"], 88);
//! ```

#![forbid(unsafe_code)]

mod registry;

pub use neuromod_core::{Guide, ModelSpec, SequenceModel, Setting};
pub use registry::{ModelConfig, ModelKind, WorldModel};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
