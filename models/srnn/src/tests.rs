//! What is particular to the SRNN (the properties every family shares are tested in
//! `neuromod-world`, for every family and posterior).

use burn::prelude::*;
use neuromod_core::{Guide, ModelSpec, Noise, SeqBatch, Setting};

use crate::SrnnConfig;

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

/// The filtering posterior reads a_t = d_{t+1} and the trajectory's state is the same GRU
/// state: so the state at step t equals one more GRU step from the state before x_t.
#[test]
fn the_state_is_the_gru_after_reading_x_t() {
    let device = cpu();
    let model = SrnnConfig::new(3)
        .with_h_dim(4)
        .with_z_dim(2)
        .with_hidden(5)
        .init(&device)
        .unwrap();
    let x = Tensor::<3>::from_floats([[[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]], &device);
    let traj = model.forward(
        &SeqBatch::new(x.clone(), Tensor::ones([1, 2], &device)),
        Noise::Mean,
    );
    let d1 = model.d0.val().unsqueeze_dim::<2>(0);
    let d2 = model
        .rnn
        .step(x.clone().narrow(1, 0, 1).reshape([1, 3]), d1);
    let d3 = model
        .rnn
        .step(x.narrow(1, 1, 1).reshape([1, 3]), d2.clone());
    let got = traj.h.into_data().try_into_vec::<f32>().unwrap();
    let want: Vec<f32> = [d2, d3]
        .into_iter()
        .flat_map(|t| t.into_data().try_into_vec::<f32>().unwrap())
        .collect();
    assert!(
        got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6),
        "{got:?} {want:?}"
    );
}

#[test]
fn dropout_is_checked_and_only_smoothing_builds_the_backward_gru() {
    let mut c = SrnnConfig::new(5);
    c.set(Setting::Dropout(0.1)).unwrap();
    assert_eq!(c.dropout, 0.1);
    c.dropout = 1.0;
    assert_eq!(c.check().unwrap_err().field, "dropout");
    let device = cpu();
    let small = |g| {
        SrnnConfig::new(2)
            .with_h_dim(3)
            .with_z_dim(1)
            .with_hidden(3)
            .with_guide(g)
    };
    assert!(small(Guide::Filtering)
        .init(&device)
        .unwrap()
        .smoother
        .is_none());
    assert!(small(Guide::Smoothing)
        .init(&device)
        .unwrap()
        .smoother
        .is_some());
}
