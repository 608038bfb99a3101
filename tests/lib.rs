//! End-to-end tests live in `tests/`; this library holds what they share.

use burn::prelude::Device;

/// The ndarray CPU device.
#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
pub fn cpu() -> Device {
    Device::ndarray()
}

/// burn seeds ndarray's generator process-wide, so runs in parallel test threads would share
/// it; a test that trains holds this lock while it does.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes this process's turn on the global RNG.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}
