//! One training step (forward, backward, Adam) at the reference configuration:
//! B = 32, T = 100, x = 88 Bernoulli, H = 256, Z = 32; phi_x 2 layers, phi_z 1, prior 1,
//! encoder 2, decoder 2, hidden width H, ReLU; GRU cell on [phi_x, phi_z].
//!
//! Three variants per device, the same kernels `neuromod bench speed` times
//! (`neuromod_experiments::speed::Stepper`): the world model alone (`<device>`), with the SPE
//! signals and successor-feature heads for gammas 0, 0.5, 0.9, 0.99 (`<device>+spe`), and with
//! those plus a 32-head quantile critic on the latent state, trained on 256 of the batch's
//! transitions per step (`<device>+spe+critic`).
//!
//! The DKF and the SRNN at the same widths (their default layer counts): the world model
//! alone (`<device>` in the `dkf_...` and `srnn_...` groups).
//!
//! ndarray always; wgpu too when `NEUROMOD_BENCH_WGPU=1` (on a GPU-less machine that is
//! lavapipe, i.e. CPU time).

use burn::prelude::*;
use burn::tensor::DeviceKind;
use criterion::{criterion_group, criterion_main, Criterion};
use neuromod_experiments::speed::{Size, Stepper, Variant, CRITIC_TRANSITIONS};
use neuromod_train::ModelKind;

fn bench_device(c: &mut Criterion, device_name: &str, device: Device) {
    for kind in ModelKind::ALL {
        bench_family(c, kind, device_name, &device);
    }
}

fn bench_family(c: &mut Criterion, kind: ModelKind, device_name: &str, device: &Device) {
    let mut group = c.benchmark_group(format!("{kind}_train_step_b32_t100_h256_z32"));
    group.sample_size(10);
    let variants: &[(Variant, &str)] = match kind {
        ModelKind::Vrnn => &[
            (Variant::WorldModel, ""),
            (Variant::WithSpe, "+spe"),
            (Variant::WithSpeCritic, "+spe+critic"),
        ],
        _ => &[(Variant::WorldModel, "")],
    };
    for &(variant, tag) in variants {
        let mut stepper = Stepper::new(
            &Size::Bench.model(kind),
            variant,
            (32, 100),
            CRITIC_TRANSITIONS,
            device,
        )
        .expect("bench config");
        group.bench_function(format!("{device_name}{tag}"), |b| {
            // Each step ends with one read back, which waits for the device.
            b.iter(|| stepper.step().expect("finite step"))
        });
    }
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
