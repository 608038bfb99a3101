//! The rate network every rule trains: leaky units whose rates feed back through signed,
//! Dale's-law weights, and a linear readout of the output types' cells.
//!
//! h_t = alpha h_{t-1} + r_{t-1} W_rec + x_t W_in,  r_t = phi(h_t),  y_t = r_t W_out + b_out,
//! with h_{-1} = 0 and r_{-1} = 0 (Bellec et al. 2020's leaky form, in rates). Weights are
//! stored [from, to] (a row per presynaptic cell or input). The loss of a batch is
//! E = 1/2 sum_{b,t,k} m_{b,t} (y - y*)^2 / B.

use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus, tanh};
use burn::tensor::Distribution;

use crate::config::{NetworkConfig, Sign};

/// The rate function phi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh(h).
    Tanh,
    /// log(1 + e^h): positive rates, as Dale's law reads them.
    Softplus,
    /// h itself (a linear network: where ModProp's constant derivative is exact).
    Identity,
}

impl Activation {
    /// phi(h).
    pub fn apply<const D: usize>(self, h: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Tanh => tanh(h),
            Activation::Softplus => softplus(h, 1.0),
            Activation::Identity => h,
        }
    }

    /// phi'(h).
    pub fn derivative<const D: usize>(self, h: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Tanh => tanh(h).square().neg().add_scalar(1.0),
            Activation::Softplus => sigmoid(h),
            Activation::Identity => h.ones_like(),
        }
    }
}

/// The weights (on one device).
#[derive(Debug, Clone)]
pub struct Network {
    /// Inputs -> cells: [I, N].
    pub w_in: Tensor<2>,
    /// Cells -> cells, [from, to]: [N, N]; row i has the sign of cell i's type; the diagonal
    /// is 0 (no self-connections).
    pub w_rec: Tensor<2>,
    /// Cells -> readout: [N, K]; rows of cells outside the output types stay 0.
    pub w_out: Tensor<2>,
    /// Readout bias \[K\].
    pub b_out: Tensor<1>,
    /// Leak per step.
    pub alpha: f64,
    /// The rate function.
    pub activation: Activation,
    /// +1 / -1 per cell (its type's sign): [N, 1].
    pub sign: Tensor<2>,
    /// 1 for cells the readout reads, else 0: [N, 1].
    pub readout_mask: Tensor<2>,
    /// Each cell's type index.
    pub types: Vec<usize>,
    /// `reads[r][s]`: whether type r reads a modulator type s secretes ([`NetworkConfig::reads`]).
    pub reads: Vec<Vec<bool>>,
    /// Fixed random feedback weights [N, K] in place of W_out for the learning signal of
    /// random-feedback rules (drawn like W_out, on the output cells, and never trained).
    pub feedback: Tensor<2>,
}

/// What one pass leaves for the rules: every step's pre-activations and rates, and the readout.
#[derive(Debug, Clone)]
pub struct Pass {
    /// h_t per step, each [B, N].
    pub h: Vec<Tensor<2>>,
    /// r_t per step, each [B, N].
    pub r: Vec<Tensor<2>>,
    /// y_t per step, each [B, K].
    pub y: Vec<Tensor<2>>,
}

/// Inputs, targets and which steps count, for a batch of trials.
#[derive(Debug, Clone)]
pub struct Trials {
    /// x [B, T, I].
    pub x: Tensor<3>,
    /// y* [B, T, K].
    pub target: Tensor<3>,
    /// m [B, T]: 1 where the readout is scored.
    pub mask: Tensor<2>,
}

impl Trials {
    /// Trials scored at every step.
    pub fn new(x: Tensor<3>, target: Tensor<3>) -> Self {
        let [b, t, _] = x.dims();
        let mask = Tensor::ones([b, t], &x.device());
        Self { x, target, mask }
    }

    /// Step t's input [B, I], target [B, K] and mask [B, 1].
    pub fn step(&self, t: usize) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let [b, _, i] = self.x.dims();
        let k = self.target.dims()[2];
        (
            self.x.clone().narrow(1, t, 1).reshape([b, i]),
            self.target.clone().narrow(1, t, 1).reshape([b, k]),
            self.mask.clone().narrow(1, t, 1),
        )
    }

    /// Steps T.
    pub fn steps(&self) -> usize {
        self.x.dims()[1]
    }

    /// Trials B.
    pub fn batch(&self) -> usize {
        self.x.dims()[0]
    }
}

impl Network {
    /// A network for `config`: input weights N(0, 1/I), recurrent magnitudes |N(0, gain^2 /
    /// N)| with each row's sign (inhibitory rows times N_E / N_I), readout N(0, 1/N_out) on the
    /// output cells; no self-connections.
    pub fn new(config: &NetworkConfig, gain: f64, activation: Activation, device: &Device) -> Self {
        let (n, i, k) = (config.cells(), config.inputs, config.outputs);
        let types = config.type_of_cells();
        let column = |f: &dyn Fn(usize) -> f32| {
            let v: Vec<f32> = types.iter().map(|&t| f(t)).collect();
            Tensor::<1>::from_floats(v.as_slice(), device).reshape([n, 1])
        };
        let sign = column(&|t| config.types[t].sign.value());
        let readout_mask = column(&|t| if config.types[t].output { 1.0 } else { 0.0 });
        let normal = |shape: [usize; 2], sd: f64| {
            Tensor::<2>::random(shape, Distribution::Normal(0.0, sd), device)
        };
        let outputs = readout_mask.clone().sum().into_scalar::<f32>() as f64;
        // Inhibitory rows are scaled by N_E / N_I, so that at equal rates the recurrent input
        // is balanced in expectation.
        let excitatory = types
            .iter()
            .filter(|&&t| config.types[t].sign == Sign::Excitatory);
        let n_e = excitatory.count() as f32;
        let balance = column(&|t| match config.types[t].sign {
            Sign::Excitatory => 1.0,
            Sign::Inhibitory => n_e / (n as f32 - n_e).max(1.0),
        });
        let mut net = Self {
            w_in: normal([i, n], 1.0 / (i as f64).sqrt()),
            w_rec: normal([n, n], gain / (n as f64).sqrt()).abs() * sign.clone() * balance,
            w_out: normal([n, k], 1.0 / outputs.sqrt()),
            b_out: Tensor::zeros([k], device),
            alpha: config.alpha,
            activation,
            sign,
            readout_mask,
            types,
            reads: config.reads(),
            feedback: Tensor::zeros([n, k], device),
        };
        // Drawn after the weights, so that they are the same with or without it.
        net.feedback = normal([n, k], 1.0 / outputs.sqrt()) * net.readout_mask.clone();
        (net.w_rec, net.w_out) = net.hold(net.w_rec.clone(), net.w_out.clone());
        net
    }

    /// Cells N.
    pub fn cells(&self) -> usize {
        self.w_rec.dims()[0]
    }

    /// Runs the trials' inputs through the network.
    pub fn run(&self, trials: &Trials) -> Pass {
        let (b, n) = (trials.batch(), self.cells());
        let device = trials.x.device();
        let (mut h, mut r) = (
            Tensor::<2>::zeros([b, n], &device),
            Tensor::<2>::zeros([b, n], &device),
        );
        let mut pass = Pass {
            h: Vec::new(),
            r: Vec::new(),
            y: Vec::new(),
        };
        for t in 0..trials.steps() {
            let (x, _, _) = trials.step(t);
            h = h * self.alpha + r.matmul(self.w_rec.clone()) + x.matmul(self.w_in.clone());
            r = self.activation.apply(h.clone());
            let y = r.clone().matmul(self.w_out.clone()) + self.b_out.clone().unsqueeze_dim(0);
            pass.h.push(h.clone());
            pass.r.push(r.clone());
            pass.y.push(y);
        }
        pass
    }

    /// The readout's error at step t, masked and divided by B: (y_t - y*_t) m_t / B, [B, K]
    /// (dE/dy_t).
    pub fn error(&self, pass: &Pass, trials: &Trials, t: usize) -> Tensor<2> {
        let (_, target, mask) = trials.step(t);
        (pass.y[t].clone() - target) * mask / trials.batch() as f64
    }

    /// The loss E of a pass, shape \[1\].
    pub fn loss(&self, pass: &Pass, trials: &Trials) -> Tensor<1> {
        let device = trials.x.device();
        let mut total = Tensor::<1>::zeros([1], &device);
        for t in 0..trials.steps() {
            let (_, target, mask) = trials.step(t);
            let sq = (pass.y[t].clone() - target).square() * mask;
            total = total + sq.sum() * (0.5 / trials.batch() as f64);
        }
        total
    }

    /// Holds recurrent and readout weights to the network's constraints, on whatever device
    /// they live: Dale's law (a recurrent weight that would change sign is set to 0, as in
    /// Bellec et al. 2020's code), no self-connections (no reference code has autapses), and
    /// the readout on the output types' cells. What every update goes through.
    pub fn hold(&self, w_rec: Tensor<2>, w_out: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let device = w_rec.device();
        let n = self.cells();
        let on = |t: &Tensor<2>| Tensor::from_data(t.to_data(), &device);
        let (sign, mask) = (on(&self.sign), on(&self.readout_mask));
        let off_diagonal = Tensor::<2>::eye(n, &device).neg().add_scalar(1.0);
        let w_rec = (w_rec * sign.clone()).clamp_min(0.0) * sign * off_diagonal;
        (w_rec, w_out * mask)
    }
}
