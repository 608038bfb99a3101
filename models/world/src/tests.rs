//! The seam's own contract: configs round-trip by kind, old VRNN configs still parse, records
//! keep the family's parameter names.

use burn::prelude::*;
use neuromod_core::{ModelSpec, Noise, SeqBatch, Setting};

use crate::{ModelConfig, ModelKind, WorldModel};

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn device() -> Device {
    Device::ndarray()
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn configs_round_trip_by_kind() {
    for kind in ModelKind::ALL {
        let config = ModelConfig::new(kind, 5)
            .with(&[Setting::HDim(8), Setting::ZDim(3), Setting::Hidden(8)])
            .unwrap();
        let text = serde_json::to_string(&config).unwrap();
        let back: ModelConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(back.kind(), kind);
        assert_eq!((back.x_dim(), back.z_dim()), (5, 3));
        assert_eq!(ModelKind::from_name(kind.name()), Some(kind));
    }
}

#[test]
fn an_unknown_kind_is_refused_by_name() {
    let err = serde_json::from_str::<ModelConfig>(r#"{"kind": "lstm", "model": {"x_dim": 3}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lstm"), "{err}");
}

#[test]
fn records_keep_the_family_names_and_load_back() {
    let device = device();
    for kind in ModelKind::ALL {
        let config = ModelConfig::new(kind, 4)
            .with(&[Setting::HDim(6), Setting::ZDim(2), Setting::Hidden(5)])
            .unwrap();
        let a = config.init(&device).unwrap();
        let b = config.init(&device).unwrap();
        let bytes = a.record().into_bytes().unwrap();
        let record = burn::store::ModuleRecord::from_bytes(bytes).unwrap();
        let b = b.load(record).unwrap();
        let x = Tensor::<3>::ones([2, 3, 4], &device);
        let batch = SeqBatch::new(x, Tensor::ones([2, 3], &device));
        let la = values(a.forward(&batch, Noise::Mean).elbo.nll);
        let lb = values(b.forward(&batch, Noise::Mean).elbo.nll);
        assert_eq!(la, lb, "{kind}");
        assert_eq!(a.kind(), kind);
    }
}

#[test]
fn every_family_refuses_a_zero_width_by_name() {
    for kind in ModelKind::ALL {
        let err = ModelConfig::new(kind, 0).check().unwrap_err();
        assert_eq!(err.field, "x_dim", "{kind}");
    }
}

#[test]
fn the_vrnn_record_is_what_the_vrnn_alone_writes() {
    let device = device();
    let config = ModelConfig::new(ModelKind::Vrnn, 4);
    let model = config.init(&device).unwrap();
    let inner = model.as_vrnn().unwrap().clone();
    let world = WorldModel::from(inner.clone());
    assert_eq!(
        world.record().into_bytes().unwrap().to_vec(),
        inner.into_record().into_bytes().unwrap().to_vec()
    );
}

/// The optimiser reaches every parameter through the enum: one Adam step on the wrapped model
/// changes exactly the weights one step on the family's own module changes, to the same values.
#[test]
fn a_step_through_the_enum_equals_a_step_on_the_family() {
    use burn::optim::{AdamConfig, GradientsParams};
    let device = device().autodiff();
    device.seed(9);
    let model = ModelConfig::new(ModelKind::Vrnn, 4)
        .with(&[Setting::HDim(6), Setting::ZDim(2), Setting::Hidden(5)])
        .unwrap()
        .init(&device)
        .unwrap();
    let inner = model.as_vrnn().unwrap().clone();
    let x = Tensor::<3>::ones([2, 3, 4], &device);
    let batch = SeqBatch::new(x, Tensor::ones([2, 3], &device));
    let step_world = {
        let loss = model.forward(&batch, Noise::Mean).elbo.loss(1.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let mut optim = AdamConfig::new().init();
        optim.step(1e-2, model, grads)
    };
    let step_inner = {
        let loss = inner.forward(&batch, Noise::Mean).elbo.loss(1.0);
        let grads = GradientsParams::from_grads(loss.backward(), &inner);
        let mut optim = AdamConfig::new().init();
        optim.step(1e-2, inner, grads)
    };
    let named = |m: &WorldModel| m.record().into_bytes().unwrap().to_vec();
    assert_eq!(named(&step_world), named(&WorldModel::from(step_inner)));
}
