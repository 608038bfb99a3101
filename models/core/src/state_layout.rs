//! The layout of the state a family hands to the signal heads.

use burn::prelude::*;

/// The layout of the state s_t = [d_t, muq_t] a family hands to the signal heads: its
/// deterministic part d_t (what the family carries forward in time: a GRU's state, a guide's
/// state) and then the posterior mean muq_t.
///
/// ```
/// use burn::prelude::*;
/// use neuromod_core::StateLayout;
///
/// # #[allow(deprecated)]
/// let device = Device::ndarray();
/// let layout = StateLayout { deterministic: 3, z: 2 };
/// let s = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0, 5.0]], &device);
/// assert_eq!(layout.width(), 5);
/// let muq: Vec<f32> = layout.posterior_mean(s.clone()).into_data().to_vec().unwrap();
/// assert_eq!(muq, vec![4.0, 5.0]);
/// assert_eq!(layout.deterministic_part(s).dims(), [1, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateLayout {
    /// Width of the deterministic part d_t.
    pub deterministic: usize,
    /// Width of the posterior mean (the latent width Z).
    pub z: usize,
}

impl StateLayout {
    /// Width of the whole state.
    pub fn width(&self) -> usize {
        self.deterministic + self.z
    }

    /// The deterministic part d_t of states laid out along the last axis: [.., deterministic].
    pub fn deterministic_part<const D: usize>(&self, state: Tensor<D>) -> Tensor<D> {
        self.check(&state);
        state.narrow(D - 1, 0, self.deterministic)
    }

    /// The posterior mean muq_t of states laid out along the last axis: [.., z].
    pub fn posterior_mean<const D: usize>(&self, state: Tensor<D>) -> Tensor<D> {
        self.check(&state);
        state.narrow(D - 1, self.deterministic, self.z)
    }

    fn check<const D: usize>(&self, state: &Tensor<D>) {
        let w = state.dims()[D - 1];
        assert_eq!(
            w,
            self.width(),
            "a state of width {w} is not laid out as [{} deterministic, {} posterior mean]",
            self.deterministic,
            self.z
        );
    }
}
