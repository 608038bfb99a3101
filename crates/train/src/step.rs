//! The one training step of a world model: forward pass, loss (negative ELBO, or with
//! `train_particles` > 1 the negative importance-weighted or particle-filter bound, plus the
//! successor-feature TD loss when SF heads train alongside), backward pass and the Adam updates,
//! with one host read of the step's statistics. `train` runs it for every batch; `bench speed`
//! and the criterion bench time it.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use neuromod_core::{ElboTerms, KlShaping, Noise, SeqBatch, SequenceModel, Trajectory};
use neuromod_spe::SfHeads;
use neuromod_world::WorldModel;

use crate::config::{SfMode, TrainBound, TrainConfig};
use crate::evaluate::read_stats;
use crate::iwae::{log_weights, per_sequence_bound, replicate};
use crate::smc::particle_pass;
use crate::TrainError;

/// What one step measured, read back once (sums over the batch's real steps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The loss that was minimised (nats per step, KL weighted by beta and shaped by free nats
    /// or balancing when set, plus the weighted SF loss). Non-finite when the step was refused (the weights are then untouched).
    pub loss: f32,
    /// Sum of KL(q_t || p_t) over real steps.
    pub kl: f32,
    /// Sum of -log p(x_t | ..) over real steps.
    pub rec: f32,
    /// Real steps in the batch.
    pub steps: f32,
    /// SF TD loss (0 without SF heads).
    pub sf: f32,
}

/// A world model, its optional successor-feature heads, and their optimisers.
pub struct Trainer {
    /// The world model being trained (taken out while the optimiser updates it, so its
    /// parameters are never shared and update in place).
    model: Option<WorldModel>,
    /// Successor-feature heads trained alongside, if any.
    pub sf: Option<SfHeads>,
    /// Adam for the world model (gradient clipping and weight decay from the config).
    pub optim: ModuleOptimizer,
    /// Adam for the SF heads.
    pub sf_optim: ModuleOptimizer,
    sf_weight: f64,
    sf_mode: Option<SfMode>,
    shaping: KlShaping,
    /// Samples per sequence of the objective (1: the ELBO).
    particles: usize,
    /// Which K-sample bound trains when `particles` > 1.
    bound: TrainBound,
}

/// A step's objective and what it reports (sums over the real steps of every copy or
/// particle), with the one-sample or K-copy pass it came from (none for the particle filter).
struct Pass {
    loss: Tensor<1>,
    kl: Tensor<1>,
    nll: Tensor<1>,
    steps: Tensor<1>,
    traj: Option<Trajectory>,
}

impl Trainer {
    /// Optimisers as `config` sets them (Adam, per-tensor gradient clipping, weight decay).
    pub fn new(config: &TrainConfig, model: WorldModel, sf: Option<SfHeads>) -> Self {
        let clip = config.optimiser.grad_clip.map(GradientClippingConfig::Norm);
        let optim = AdamConfig::new()
            .with_grad_clipping(clip.clone())
            .with_weight_decay(
                (config.optimiser.weight_decay > 0.0)
                    .then(|| WeightDecayConfig::new(config.optimiser.weight_decay as f32)),
            )
            .init();
        let sf_optim = AdamConfig::new().with_grad_clipping(clip).init();
        Self {
            model: Some(model),
            sf,
            optim,
            sf_optim,
            sf_weight: config.sf.as_ref().map_or(0.0, |s| s.weight),
            sf_mode: config.sf.as_ref().map(|s| s.mode),
            shaping: config.kl_shaping(),
            particles: config.objective.particles.max(1),
            bound: config.objective.bound,
        }
    }

    /// The world model.
    pub fn model(&self) -> &WorldModel {
        self.model
            .as_ref()
            .expect("the model is only taken inside `step`")
    }

    /// Whether the world model stays as loaded (only SF heads learn).
    pub fn frozen(&self) -> bool {
        self.sf_mode == Some(SfMode::Frozen)
    }

    /// One step on `batch` (on the autodiff device) with KL weight `beta` and learning rate
    /// `lr`. A non-finite loss is returned without touching any weight.
    pub fn step(&mut self, batch: &SeqBatch, beta: f64, lr: f64) -> Result<StepStats, TrainError> {
        self.run(batch, beta, lr, false).map(|(stats, _)| stats)
    }

    /// [`Trainer::step`], also returning the batch's latent state s_t = [h_t, muq_t] from this
    /// step's forward pass, detached (for a critic trained beside the world model).
    pub fn step_with_state(
        &mut self,
        batch: &SeqBatch,
        beta: f64,
        lr: f64,
    ) -> Result<(StepStats, Tensor<3>), TrainError> {
        self.run(batch, beta, lr, true)
            .map(|(stats, state)| (stats, state.expect("asked for")))
    }

    /// The negative ELBO per real step with KL weight `beta`, its KL shaped as configured.
    fn elbo_loss(&self, traj: &Trajectory, beta: f64) -> Tensor<1> {
        if self.shaping.is_identity() {
            traj.elbo.loss(beta)
        } else {
            ElboTerms {
                kl: self.shaping.kl(traj),
                ..traj.elbo.clone()
            }
            .loss(beta)
        }
    }

    /// The negative K-sample importance-weighted bound per real step (weights tempered by
    /// `beta`), and the pass over the K copies of the batch it came from (each copy draws its own
    /// latents and, with dropout, its own dropout mask).
    fn importance_weighted(&self, batch: &SeqBatch, beta: f64) -> (Trajectory, Tensor<1>) {
        let k = self.particles;
        let model = self.model();
        let (wide, eps) = replicate(batch, k, model.z_dim());
        let traj = model.forward(&wide, Noise::Given(Box::new(eps.clone())));
        let bound = per_sequence_bound(log_weights(&traj, eps, beta), k);
        let loss = bound.sum().neg() / batch.mask.clone().sum().clamp_min(1.0);
        (traj, loss)
    }

    /// The negative FIVO bound per real step with `self.particles` particles (weights tempered
    /// by `beta`), with the KL and NLL sums over the particles and the real steps times K.
    fn particle_filter(&self, batch: &SeqBatch, beta: f64) -> Pass {
        let k = self.particles;
        let steps = batch.mask.clone().sum();
        let device = steps.device();
        let pass = particle_pass(self.model(), batch, k, beta, &device);
        Pass {
            loss: pass.bound.neg() / steps.clone().clamp_min(1.0),
            kl: pass.kl,
            nll: pass.nll,
            steps: steps.mul_scalar(k as f64),
            traj: None,
        }
    }

    /// The step's objective with the statistics it reports.
    fn objective(&self, batch: &SeqBatch, beta: f64) -> Pass {
        let (traj, loss) = match (self.particles, self.bound) {
            (1, _) => {
                let traj = self.model().forward(batch, Noise::Sample);
                let loss = self.elbo_loss(&traj, beta);
                (traj, loss)
            }
            (_, TrainBound::Iwae) => self.importance_weighted(batch, beta),
            (_, TrainBound::Fivo) => return self.particle_filter(batch, beta),
        };
        let terms = &traj.elbo;
        Pass {
            loss,
            kl: terms.kl.clone().detach().sum(),
            nll: terms.nll.clone().detach().sum(),
            steps: terms.mask.clone().sum(),
            traj: Some(traj),
        }
    }

    fn run(
        &mut self,
        batch: &SeqBatch,
        beta: f64,
        lr: f64,
        want_state: bool,
    ) -> Result<(StepStats, Option<Tensor<3>>), TrainError> {
        let Pass {
            mut loss,
            kl,
            nll,
            steps,
            traj,
        } = self.objective(batch, beta);
        // With K copies of the batch, the state and the statistics are the first copy's share
        // (the particle filter has no pass over the whole batch: a one-sample pass gives the
        // state when asked for).
        let (b, k) = (batch.dims()[0], self.particles.max(1));
        let state = want_state.then(|| match &traj {
            Some(traj) => traj.state().detach().narrow(0, 0, b),
            None => self.model().forward(batch, Noise::Sample).state().detach(),
        });
        if self.frozen() {
            loss = loss.detach();
        }
        let detached = matches!(self.sf_mode, Some(SfMode::Frozen | SfMode::Detached));
        let sf_loss = match (&self.sf, &traj) {
            (Some(sf), Some(traj)) => {
                sf.update_stats(traj.posterior.0.clone(), traj.elbo.mask.clone());
                Some(sf.sequence_loss(traj, detached))
            }
            _ => None,
        };
        if let Some(l) = &sf_loss {
            loss = loss + l.clone().mul_scalar(self.sf_weight);
        }
        let device = loss.device();
        // The one host read of the step.
        let [loss_v, kl, rec, steps, sf] = read_stats::<5>(Tensor::cat(
            vec![
                loss.clone().detach(),
                kl.detach(),
                nll.detach(),
                steps,
                sf_loss.map_or_else(|| Tensor::zeros([1], &device), |l| l.detach()),
            ],
            0,
        ))?;
        let per_copy = 1.0 / k as f32;
        let stats = StepStats {
            loss: loss_v,
            kl: kl * per_copy,
            rec: rec * per_copy,
            steps: steps * per_copy,
            sf,
        };
        if !loss_v.is_finite() {
            return Ok((stats, state));
        }
        let mut grads = loss.backward();
        if let Some(heads) = self.sf.take() {
            let g = GradientsParams::from_module(&mut grads, &heads);
            self.sf = Some(self.sf_optim.step(lr, heads, g));
        }
        if !self.frozen() {
            let model = self
                .model
                .take()
                .expect("the model is in place between steps");
            let g = GradientsParams::from_module(&mut grads, &model);
            self.model = Some(self.optim.step(lr, model, g));
        }
        Ok((stats, state))
    }
}
