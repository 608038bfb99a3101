//! One VRNN training step (forward, backward, Adam) at the reference configuration:
//! B = 32, T = 100, x = 88 Bernoulli, H = 256, Z = 32; phi_x 2 layers, phi_z 1, prior 1,
//! encoder 2, decoder 2, hidden width H, ReLU; GRU cell on [phi_x, phi_z].
//!
//! Two variants per device: the world model alone (`<device>`), and with the SPE signals a
//! training run computes (`<device>+spe`: one-step SPE of every step, plus successor-feature
//! heads for gammas 0, 0.5, 0.9, 0.99 trained jointly with their own Adam, as `--sf joint`).
//!
//! ndarray always; wgpu too when `NEUROMOD_BENCH_WGPU=1` (on a GPU-less machine that is
//! lavapipe, i.e. CPU time).

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{DeviceKind, Distribution};
use criterion::{criterion_group, criterion_main, Criterion};
use neuromod_spe::{one_step, SfConfig};
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

fn bench_device(c: &mut Criterion, name: &str, device: Device, spe: bool) {
    let ad = device.autodiff();
    ad.seed(0);
    let mut model = bench_config().init(&ad).expect("valid config");
    let mut sf = SfConfig::new(256 + 32, 32)
        .init(&ad)
        .expect("valid SF config");
    let mut sf_optim = AdamConfig::new().init();
    let x = Tensor::<3>::random([32, 100, 88], Distribution::Uniform(0.0, 1.0), &ad)
        .greater_elem(0.9)
        .float();
    let batch = SeqBatch::new(x, Tensor::ones([32, 100], &ad));
    let mut optim = AdamConfig::new().init();
    let mut group = c.benchmark_group("vrnn_train_step_b32_t100_h256_z32");
    group.sample_size(10);
    group.bench_function(name.to_string(), |b| {
        b.iter(|| {
            let traj = model.forward(&batch, Noise::Sample);
            let mut loss = traj.elbo.loss(1.0);
            let mut spe_read = None;
            if spe {
                let signals = one_step(&traj);
                sf.update_stats(traj.posterior.0.clone(), traj.elbo.mask.clone());
                let td = sf.sequence_td(&traj, false);
                loss = loss + td.loss.mul_scalar(0.1);
                // Summaries of the SPE and the SF errors are read back once per batch.
                let rms: Tensor<1> = td
                    .rms
                    .into_iter()
                    .map(|r| r.sum())
                    .reduce(|a, b| a + b)
                    .unwrap();
                spe_read =
                    Some(signals.norm.sum().detach() + signals.kl.sum().detach() + rms.detach());
            }
            let mut grads = loss.backward();
            if spe {
                let g = GradientsParams::from_module(&mut grads, &sf);
                sf = sf_optim.step(1e-3, sf.clone(), g);
            }
            let grads = GradientsParams::from_module(&mut grads, &model);
            model = optim.step(1e-3, model.clone(), grads);
            // Wait for the device so the time covers the whole step.
            model.h0.val().into_data();
            if let Some(r) = spe_read {
                r.into_data();
            }
        })
    });
    group.finish();
}

#[allow(deprecated)]
fn train_step(c: &mut Criterion) {
    for spe in [false, true] {
        let tag = |d: &str| {
            if spe {
                format!("{d}+spe")
            } else {
                d.to_string()
            }
        };
        bench_device(c, &tag("ndarray"), Device::ndarray(), spe);
        if std::env::var("NEUROMOD_BENCH_WGPU").is_ok_and(|v| v == "1") {
            bench_device(
                c,
                &tag("wgpu"),
                Device::wgpu(DeviceKind::DefaultDevice),
                spe,
            );
        }
    }
}

criterion_group!(benches, train_step);
criterion_main!(benches);
