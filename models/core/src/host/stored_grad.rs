//! The autodiff node of a fused scalar loss whose gradient with respect to its one tracked input
//! was computed in the same host pass as the loss: the backward pass only scales it by the
//! incoming gradient. Shared by the fused losses (the critic's pairwise loss, the SF heads'
//! sequence TD loss).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};

use super::HostData;

/// Node of a loss `[1]` with a precomputed gradient; state: d loss / d input and the input's
/// shape.
#[derive(Debug)]
pub struct StoredGradient;

impl<B: HostData> Backward<B, 1> for StoredGradient {
    type State = (Vec<f32>, Vec<usize>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let scale = B::read(&dout)[0];
        let (mut g, shape) = ops.state;
        let [parent] = ops.parents;
        if let Some(node) = parent {
            g.iter_mut().for_each(|x| *x *= scale);
            grads.register::<B>(node.id, B::write(g, shape));
        }
    }
}
