//! What is particular to the DKF (the properties every family shares are tested in
//! `neuromod-world`, for every family and posterior).

use burn::prelude::*;
use neuromod_core::{ModelSpec, Setting};

use crate::DkfConfig;

#[allow(deprecated)] // burn 0.22 marks ndarray deprecated in favour of flex; we still ship it.
fn cpu() -> Device {
    Device::ndarray()
}

/// The transition starts as the identity random walk: with the gate's share of the nonlinear
/// proposal removed, its mean is z_{t-1} itself.
#[test]
fn the_linear_part_of_the_transition_starts_as_the_identity() {
    let device = cpu();
    let model = DkfConfig::new(4).with_z_dim(3).init(&device).unwrap();
    let z = Tensor::<2>::from_floats([[0.5, -1.0, 2.0]], &device);
    let out = model.transition.linear.forward(z.clone());
    assert_eq!(
        out.into_data().try_into_vec::<f32>().unwrap(),
        vec![0.5, -1.0, 2.0]
    );
}

#[test]
fn dropout_is_not_a_dkf_setting_and_widths_must_be_positive() {
    let err = DkfConfig::new(5).set(Setting::Dropout(0.1)).unwrap_err();
    assert_eq!(err.field, "dropout");
    assert_eq!(DkfConfig::new(0).check().unwrap_err().field, "x_dim");
}
