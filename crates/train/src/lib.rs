//! Training infrastructure for neuromod world models: batching, the ELBO training loop,
//! evaluation in nats per step, and checkpoint folders.
//!
//! Library code takes a runtime `&Device` and enables no backend feature; the CLI, tests and
//! benches choose the device.

mod batcher;
mod checkpoint;
mod config;
mod ema;
mod error;
mod evaluate;
mod fit;

pub use batcher::{batch_indices, to_batch};
pub use checkpoint::{
    sf_config, write_atomic, Checkpoint, MetricsRow, CONFIG_FILE, METRICS_FILE, SF_FILE,
    WEIGHTS_FILE,
};
pub use config::{SfMode, SfSettings, TrainConfig};
pub use ema::{ema_decay, ema_update};
pub use error::TrainError;
pub use evaluate::{evaluate, Bound};
pub use fit::{train, Event};
