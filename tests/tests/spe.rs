//! SPE on a trained world model: deviant transitions of a Markov chain of patterns stand out.

use burn::prelude::*;
use neuromod_core::Noise;
use neuromod_datasets::generate::MarkovPatterns;
use neuromod_datasets::DatasetSpec;
use neuromod_spe::one_step;
use neuromod_tests::{cpu, serial};
use neuromod_train::{batch_indices, to_batch, train, Checkpoint, SfMode, SfSettings, TrainConfig};
use neuromod_vrnn::VrnnConfig;

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

/// Mean of `values` over real steps t >= 1 (step 0 has nothing to predict from), split by label.
fn means(values: &[f32], mask: &[f32], deviant: &[bool], t: usize) -> (f64, f64) {
    let (mut dev, mut ord) = ((0.0, 0usize), (0.0, 0usize));
    for (i, (&v, &m)) in values.iter().zip(mask).enumerate() {
        if m == 0.0 || i % t == 0 {
            continue;
        }
        let slot = if deviant[i] { &mut dev } else { &mut ord };
        slot.0 += v as f64;
        slot.1 += 1;
    }
    assert!(dev.1 > 10 && ord.1 > 100, "too few steps: {dev:?} {ord:?}");
    (dev.0 / dev.1 as f64, ord.0 / ord.1 as f64)
}

/// Deviant / ordinary ratios (SPE norm, KL surprise, SF gamma-0 RMS) of a world model with SF
/// heads trained on the Markov-pattern task with `seed`.
fn deviant_ratios(seed: u64) -> (f64, f64, f64) {
    // 200 sequences of 50 steps, 16-bit patterns, 4 states, deviant rate 0.05.
    let generator = MarkovPatterns::default();
    let model = VrnnConfig::new(16)
        .with_h_dim(32)
        .with_z_dim(8)
        .with_hidden(32);
    let mut config = TrainConfig::new(model, DatasetSpec::markov(generator.clone()));
    config.schedule.epochs = 60;
    config.schedule.batch_size = 8;
    config.kl.anneal_epochs = 3;
    config.schedule.seed = seed;
    config.sf = Some(SfSettings::new(SfMode::Joint));
    let splits = config.data.load().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let device = cpu();
    train(&config, &splits, dir.path(), &device, &mut |_| {}).unwrap();

    let checkpoint = Checkpoint::open(dir.path()).unwrap();
    let model = checkpoint.load_model(&device).unwrap();
    let sf = checkpoint
        .load_sf(&device)
        .unwrap()
        .expect("SF heads were trained");
    // The test split is the last sequences of the generated set, in order.
    let labels = generator.generate().deviant;
    let labels = &labels[labels.len() - splits.test.len()..];
    let (mut norm, mut kl, mut rms, mut mask, mut dev) = (vec![], vec![], vec![], vec![], vec![]);
    let t = generator.steps;
    for idx in batch_indices(&splits.test, 32, None) {
        let batch = to_batch(&splits.test, &idx, &device);
        let traj = model.forward(&batch, Noise::Mean);
        let spe = one_step(&traj);
        let sf_out = sf.sequence_td(&traj, true);
        norm.extend(host(spe.norm));
        kl.extend(host(spe.kl));
        rms.extend(host(sf_out.rms[0].clone()));
        mask.extend(host(batch.mask));
        dev.extend(idx.iter().flat_map(|&i| labels[i].iter().copied()));
    }
    assert!(norm.iter().chain(&kl).chain(&rms).all(|v| v.is_finite()));
    assert!(kl.iter().all(|&v| v >= 0.0));
    let (nd, no) = means(&norm, &mask, &dev, t);
    let (kd, ko) = means(&kl, &mask, &dev, t);
    // SF gamma = 0 predicts phi_{t+1}: its error at t is about the transition into t + 1.
    let dev_next: Vec<bool> = (0..dev.len())
        .map(|i| (i + 1) % t != 0 && dev[i + 1])
        .collect();
    let (sd, so) = means(&rms, &mask, &dev_next, t);
    eprintln!(
        "seed {seed}: deviant / ordinary: SPE norm {nd:.3} / {no:.3} = {:.2}; KL {kd:.3} / \
         {ko:.3} = {:.2}; SF(gamma 0) RMS {sd:.3} / {so:.3} = {:.2}",
        nd / no,
        kd / ko,
        sd / so
    );
    (nd / no, kd / ko, sd / so)
}

/// Over seeds 0-5 the SPE-norm ratio was 1.34, 29.6, 1.32, 2.21, 1.35 and 6.41, and the KL
/// ratio 2.14, 94.6, 1.72, 5.60, 2.29 and 59.8 (measured; in some seeds the posterior nearly
/// collapses and every SPE is small): deviant steps stand out in every seed, but a threefold
/// ratio holds in two of six. The test asserts what held in all six, on three seeds.
#[test]
fn spe_on_deviant_steps_exceeds_that_on_ordinary_steps_in_every_seed() {
    let _turn = serial();
    for seed in [0, 1, 2] {
        let (norm, kl, _) = deviant_ratios(seed);
        assert!(norm >= 1.2, "seed {seed}: SPE norm ratio {norm:.2} < 1.2");
        assert!(kl >= 1.5, "seed {seed}: KL ratio {kl:.2} < 1.5");
    }
}

#[test]
fn one_step_spe_is_finite_on_every_jsb_test_sequence_of_a_trained_checkpoint() {
    let _turn = serial();
    let data = DatasetSpec::jsb_bundled();
    let splits = data.load().unwrap();
    let model = VrnnConfig::new(88)
        .with_h_dim(32)
        .with_z_dim(8)
        .with_hidden(32);
    let mut config = TrainConfig::new(model, data);
    config.schedule.epochs = 2;
    let dir = tempfile::tempdir().unwrap();
    let device = cpu();
    train(&config, &splits, dir.path(), &device, &mut |_| {}).unwrap();
    let model = Checkpoint::open(dir.path())
        .unwrap()
        .load_model(&device)
        .unwrap();
    let mut steps = 0.0;
    for idx in batch_indices(&splits.test, 32, None) {
        let batch = to_batch(&splits.test, &idx, &device);
        let traj = model.forward(&batch, Noise::Sample);
        let spe = one_step(&traj);
        let (v, n, k) = (host(spe.vec), host(spe.norm), host(spe.kl));
        assert!(v.iter().chain(&n).chain(&k).all(|x| x.is_finite()));
        assert!(k.iter().all(|&x| x >= 0.0));
        steps += host(batch.mask).iter().sum::<f32>();
    }
    assert_eq!(steps as usize, 4725, "every JSB test step was checked");
}

#[path = "spe/science.rs"]
mod science;

#[path = "spe/relearn.rs"]
mod relearn;

#[path = "spe/noise.rs"]
mod noise;
