//! Training infrastructure for neuromod world models: batching, the ELBO training loop,
//! evaluation in nats per step, and checkpoint folders.
//!
//! Library code takes a runtime `&Device` and enables no backend feature; the CLI, tests and
//! benches choose the device.
//!
//! A run is one [`TrainConfig`], saved as the checkpoint's `config.json`: the world model's
//! family in `kind` beside its settings in `model`, the data, and the sections `optimiser`,
//! `schedule`, `kl`, `objective` and `sf`; what a config leaves out takes its default.
//!
//! ```
//! use neuromod_train::{ModelKind, ModelSpec, TrainConfig};
//!
//! let config = TrainConfig::from_json(
//!     r#"{"kind": "srnn", "model": {"x_dim": 88, "z_dim": 16}, "data": {"kind": "jsb"},
//!         "schedule": {"epochs": 200}, "kl": {"free_nats": 0.5}}"#,
//! )
//! .unwrap();
//! config.check().unwrap();
//! assert_eq!(config.model.kind(), ModelKind::Srnn);
//! assert_eq!(config.model.state_dim(), 256 + 16); // the SRNN's default h_dim is 256
//! assert_eq!(config.schedule.batch_size, 16); // a default
//! let mut bad = config.clone();
//! bad.optimiser.lr = -1.0;
//! assert!(bad.check().unwrap_err().to_string().contains("`optimiser.lr`"));
//! ```

#![forbid(unsafe_code)]

mod atomic;
mod batcher;
mod checkpoint;
mod config;
mod ema;
mod error;
mod estimate;
mod evaluate;
mod export;
pub mod figures;
mod fit;
mod iwae;
mod lock;
mod metrics;
mod params;
mod report;
mod run_state;
mod signals;
mod smc;
mod step;

pub use atomic::write_atomic;
pub use batcher::{batch_indices, to_batch};
pub use checkpoint::{
    sf_config, Checkpoint, FileDigest, Snapshot, SnapshotState, BEST_FILE, CONFIG_FILE,
    LATEST_FILE, METRICS_FILE, OPTIM_FILE, SF_FILE, SF_OPTIM_FILE, SNAPSHOTS_DIR, STATE_FILE,
    TRAIN_WEIGHTS_FILE, WEIGHTS_FILE,
};
pub use config::{
    KlConfig, LrPlateau, ObjectiveConfig, OptimiserConfig, Recipe, ScheduleConfig, SfMode,
    SfSettings, TrainBound, TrainConfig,
};
pub use ema::{ema_decay, ema_update};
pub use error::TrainError;
pub use estimate::{estimate, mean_and_error, BoundKind, Estimate};
pub use evaluate::{evaluate, Bound};
pub use export::{export_weights, safetensors_bytes, write_samples, write_signals, Exported};
pub use fit::{epoch_seed, run, train, Event, Fit, RunOptions};
pub use iwae::{importance_bound, log_weights, ImportanceBound};
pub use lock::{RunLock, LOCK_FILE};
pub use metrics::{metrics_csv, parse_metrics, MetricsRow};
pub use neuromod_world::{Guide, ModelConfig, ModelKind, ModelSpec, Setting, WorldModel};
pub use params::{named_parameters, NamedArray};
pub use report::{refuse_smoothing, write_report, ReportOptions};
pub use signals::{collect_signals, SignalArray};
pub use smc::{particle_bound, MAX_PARTICLES};
pub use step::{StepStats, Trainer};
