//! ndarray and wgpu agree on the ELBO and on its gradients (fused host ops with hand-written
//! backward passes on ndarray, tensor operations differentiated by burn on wgpu); Adam on wgpu
//! lowers the loss.
//!
//! On a GPU-less machine wgpu runs on Mesa's lavapipe (Vulkan); shapes stay small because
//! every new kernel is compiled on first use.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::{DeviceKind, Distribution};
use neuromod_core::{Noise, SeqBatch};
use neuromod_vrnn::VrnnConfig;

#[allow(deprecated)]
fn cpu() -> Device {
    Device::ndarray()
}

fn gpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

fn inputs(device: &Device) -> (SeqBatch, Tensor<3>) {
    device.seed(21);
    let x = Tensor::<3>::random([3, 6, 10], Distribution::Uniform(0.0, 1.0), device)
        .greater_elem(0.6)
        .float();
    let mut mask = vec![1.0f32; 18];
    mask[16..].fill(0.0); // the last sequence is two steps shorter
    let mask = Tensor::from_data(burn::tensor::TensorData::new(mask, [3, 6]), device);
    let eps = Tensor::<3>::random([3, 6, 4], Distribution::Normal(0.0, 1.0), device);
    (SeqBatch::new(x, mask), eps)
}

fn config() -> VrnnConfig {
    VrnnConfig::new(10)
        .with_h_dim(12)
        .with_z_dim(4)
        .with_hidden(12)
}

#[test]
fn ndarray_and_wgpu_give_the_same_elbo_and_wgpu_learns() {
    let cpu = cpu();
    cpu.seed(1);
    let model = config().init(&cpu).unwrap();
    let (batch, eps) = inputs(&cpu);
    let loss_cpu = model
        .forward(&batch, Noise::Given(Box::new(eps.clone())))
        .elbo
        .loss(1.0)
        .into_scalar::<f32>();

    let gpu = gpu();
    let model_gpu = model.clone().fork(&gpu);
    let loss_gpu = model_gpu
        .forward(
            &batch.clone().to_device(&gpu),
            Noise::Given(Box::new(eps.clone().to_device(&gpu))),
        )
        .elbo
        .loss(1.0)
        .into_scalar::<f32>();
    let rel = ((loss_cpu - loss_gpu) / loss_cpu).abs();
    assert!(
        rel < 1e-4,
        "ndarray {loss_cpu} vs wgpu {loss_gpu} (relative {rel})"
    );

    // A few Adam steps on wgpu (autodiff) lower the loss of a fixed batch.
    // `train()` puts the forked parameters on the autodiff version of the wgpu device.
    let mut model = model.fork(&gpu).train();
    let ad = gpu.autodiff();
    let batch = batch.to_device(&ad);
    let mut optim = AdamConfig::new().init();
    let mut losses = Vec::new();
    for _ in 0..8 {
        let loss = model.forward(&batch, Noise::Mean).elbo.loss(1.0);
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(
        losses[7] < losses[0] * 0.98,
        "wgpu training did not lower the loss: {losses:?}"
    );
}

/// Every family (and each posterior it offers) gives the same per-step KL and NLL on both
/// devices, from the same weights and noise.
#[test]
fn every_family_gives_the_same_terms_on_ndarray_and_wgpu() {
    use neuromod_train::{Guide, ModelConfig, ModelKind, Setting};
    let (cpu, gpu) = (cpu(), gpu());
    for kind in ModelKind::ALL {
        for guide in [Guide::Filtering, Guide::Smoothing] {
            let settings = [
                Setting::HDim(12),
                Setting::ZDim(4),
                Setting::Hidden(12),
                Setting::Guide(guide),
            ];
            let Ok(config) = ModelConfig::new(kind, 10).with(&settings) else {
                continue;
            };
            cpu.seed(2);
            let model = config.init(&cpu).unwrap();
            let (batch, eps) = inputs(&cpu);
            let terms = |model: &neuromod_train::WorldModel, batch: &SeqBatch, eps: Tensor<3>| {
                let e = model.forward(batch, Noise::Given(Box::new(eps))).elbo;
                let v = |t: Tensor<2>| t.into_data().try_into_vec::<f32>().unwrap();
                (v(e.kl), v(e.nll))
            };
            let (kl_c, nll_c) = terms(&model, &batch, eps.clone());
            let (kl_g, nll_g) = terms(
                &model.fork(&gpu),
                &batch.to_device(&gpu),
                eps.to_device(&gpu),
            );
            for (c, g) in kl_c.iter().chain(&nll_c).zip(kl_g.iter().chain(&nll_g)) {
                assert!(
                    (c - g).abs() <= 1e-4 * (1.0 + c.abs()),
                    "{kind} {guide:?}: ndarray {c} vs wgpu {g}"
                );
            }
        }
    }
}

#[test]
fn ndarray_and_wgpu_give_the_same_critic_losses_and_rpes() {
    use neuromod_critic::{CriticConfig, CriticLoss, Transition};
    let cpu = cpu();
    let gpu = gpu();
    for loss in [CriticLoss::Quantile, CriticLoss::Expectile] {
        cpu.seed(5);
        let critic = CriticConfig::new(6)
            .with_heads(8)
            .with_hidden(10)
            .with_loss(loss)
            .with_impute_iters(20)
            .init(&cpu)
            .unwrap();
        let t = Transition {
            state: Tensor::random([4, 6], Distribution::Normal(0.0, 1.0), &cpu),
            reward: Tensor::from_floats([1.0, -0.5, 2.0, 0.0], &cpu),
            next_state: Tensor::random([4, 6], Distribution::Normal(0.0, 1.0), &cpu),
            cont: Tensor::from_floats([1.0, 1.0, 0.0, 1.0], &cpu),
            weight: None,
        };
        let on = |critic: &neuromod_critic::DistCritic, t: &Transition| {
            let out = critic.td(t);
            let mut v = out.loss.into_data().try_into_vec::<f32>().unwrap();
            v.extend(out.rpe.into_data().try_into_vec::<f32>().unwrap());
            v
        };
        let a = on(&critic, &t);
        let t_gpu = Transition {
            state: t.state.clone().to_device(&gpu),
            reward: t.reward.clone().to_device(&gpu),
            next_state: t.next_state.clone().to_device(&gpu),
            cont: t.cont.clone().to_device(&gpu),
            weight: None,
        };
        let b = on(&critic.fork(&gpu), &t_gpu);
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                "{loss:?} value {k}: ndarray {x} vs wgpu {y}"
            );
        }
    }
}

/// The gradient of the loss on ndarray (fused host ops with hand-written backward passes) equals
/// the one on wgpu (the same computations composed from tensor operations, differentiated by
/// burn), for parameters of every part: initial state, encoder, GRU, phi_z, decoder, prior.
#[test]
fn ndarray_and_wgpu_give_the_same_gradients() {
    let cpu = cpu();
    cpu.seed(3);
    let model = config().init(&cpu).unwrap();
    let (batch, eps) = inputs(&cpu);
    let grads_on = |device: &Device| {
        let ad = device.clone().autodiff();
        let m = model.clone().fork(&ad).train();
        let loss = m
            .forward(
                &batch.clone().to_device(&ad),
                Noise::Given(Box::new(eps.clone().to_device(&ad))),
            )
            .elbo
            .loss(1.0);
        let g = loss.backward();
        let host = |t: Option<Tensor<2>>| -> Vec<f32> {
            t.expect("gradient")
                .into_data()
                .convert::<f32>()
                .try_to_vec()
                .unwrap()
        };
        let h0 =
            m.h0.grad(&g)
                .expect("h0 gradient")
                .into_data()
                .convert::<f32>();
        vec![
            h0.try_to_vec().unwrap(),
            host(m.encoder.trunk.layers[0].weight.grad(&g)),
            host(m.rnn.hidden.weight.grad(&g)),
            host(m.rnn.input.weight.grad(&g)),
            host(m.phi_z.layers[0].weight.grad(&g)),
            host(m.decoder.mu.weight.grad(&g)),
            host(m.prior.mu.weight.grad(&g)),
        ]
    };
    let (a, b) = (grads_on(&cpu), grads_on(&gpu()));
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        let scale = x.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        for (u, v) in x.iter().zip(y) {
            assert!(
                (u - v).abs() <= 1e-3 * scale,
                "parameter {k}: ndarray {u} vs wgpu {v}"
            );
        }
    }
}
