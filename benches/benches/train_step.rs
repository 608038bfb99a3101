//! One VRNN training step (forward, backward, Adam) at the reference configuration:
//! B = 32, T = 100, x = 88 Bernoulli, H = 256, Z = 32; phi_x 2 layers, phi_z 1, prior 1,
//! encoder 2, decoder 2, hidden width H, ReLU; GRU cell on [phi_x, phi_z].
//!
//! ndarray always; wgpu too when `NEUROMOD_BENCH_WGPU=1` (on a GPU-less machine that is
//! lavapipe, i.e. CPU time).

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{DeviceKind, Distribution};
use criterion::{criterion_group, criterion_main, Criterion};
use neuromod_vrnn::{Noise, SeqBatch, VrnnConfig};

/// The bench configuration of the foundation issue.
fn bench_config() -> VrnnConfig {
    VrnnConfig::new(88)
        .with_h_dim(256)
        .with_z_dim(32)
        .with_hidden(256)
        .with_phi_x_layers(2)
        .with_phi_z_layers(1)
        .with_prior_layers(1)
        .with_encoder_layers(2)
        .with_decoder_layers(2)
}

fn bench_device(c: &mut Criterion, name: &str, device: Device) {
    let ad = device.autodiff();
    ad.seed(0);
    let mut model = bench_config().init(&ad).expect("valid config");
    let x = Tensor::<3>::random([32, 100, 88], Distribution::Uniform(0.0, 1.0), &ad)
        .greater_elem(0.9)
        .float();
    let batch = SeqBatch::new(x, Tensor::ones([32, 100], &ad));
    let mut optim = AdamConfig::new().init();
    let mut group = c.benchmark_group("vrnn_train_step_b32_t100_h256_z32");
    group.sample_size(10);
    group.bench_function(name, |b| {
        b.iter(|| {
            let loss = model.forward(&batch, Noise::Sample).elbo.loss(1.0);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model.clone(), grads);
            // Wait for the device so the time covers the whole step.
            model.h0.val().into_data();
        })
    });
    group.finish();
}

#[allow(deprecated)]
fn train_step(c: &mut Criterion) {
    bench_device(c, "ndarray", Device::ndarray());
    if std::env::var("NEUROMOD_BENCH_WGPU").is_ok_and(|v| v == "1") {
        bench_device(c, "wgpu", Device::wgpu(DeviceKind::DefaultDevice));
    }
}

criterion_group!(benches, train_step);
criterion_main!(benches);
