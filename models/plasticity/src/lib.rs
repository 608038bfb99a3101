//! Learning rules for recurrent networks with cell types, beside the exact gradient: BPTT
//! (through burn's automatic differentiation), e-prop (Bellec et al. 2020) and the
//! neuromodulatory rules of Liu et al. (MDGL, PNAS 2021; ModProp, NeurIPS 2022), on a network
//! declared by its cell types ([`NetworkConfig`]): their counts, Dale's-law signs, and which
//! types the readout (the top-down signal) reaches.
//!
//! ```
//! use burn::prelude::*;
//! use neuromod_plasticity::{rule, Activation, Network, NetworkConfig, Trials};
//!
//! # #[allow(deprecated)]
//! let device = Device::ndarray();
//! let config = NetworkConfig::six_types(2, 1, 4, 2, 3);
//! let net = Network::new(&config, 1.0, Activation::Softplus, &device);
//! let trials = Trials::new(Tensor::ones([3, 5, 2], &device), Tensor::zeros([3, 5, 1], &device));
//! let g = rule("eprop").unwrap().grads(&net, &trials);
//! assert_eq!(g.w_rec.dims(), [config.cells(), config.cells()]);
//! ```

#![forbid(unsafe_code)]

mod config;
mod network;
pub mod rules;
mod tasks;
mod train;

pub use config::{CellType, Modulator, NetworkConfig, NetworkError, Sign};
pub use network::{Activation, Network, Pass, Trials};
pub use rules::{rule, Grads, LearningRule, RULES};
pub use tasks::{Task, PATTERN_STEPS};
pub use train::{train, PlasticityRun};
