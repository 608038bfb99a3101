//! `bench science` end to end on a small budget: the dissociation shows in the right signals.

use neuromod_experiments::science::{report, summary, ScienceConfig, Surprise, Task};
use neuromod_experiments::{redraw, run, Context, Experiment};
use neuromod_tests::{cpu, serial};

#[test]
fn science_bench_separates_reward_and_state_surprise_and_writes_its_report() {
    let _turn = serial();
    let config = ScienceConfig {
        tasks: vec![Task::Reward, Task::State],
        seeds: 1,
        sequences: 100,
        epochs: 40,
        batch_size: 8,
        h_dim: 32,
        z_dim: 8,
        hidden: 32,
        heads: 8,
        critic_epochs: 40,
        ..Default::default()
    };
    let out = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let ctx = Context::new(cpu(), "ndarray", out.path());
    let (result, lines) = run(&config, &ctx, neuromod_plots::Format::Png, &mut |line| {
        seen.push(line.to_string())
    })
    .unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].starts_with("reward seed 0") && seen[1].starts_with("state seed 0"));
    let ratio = |task, kind, signal: &str| {
        result
            .runs
            .iter()
            .find(|r| r.task == task)
            .and_then(|r| r.ratios.get(&kind))
            .and_then(|m| m.get(signal).copied())
            .unwrap_or_else(|| panic!("no {signal} ratio for {task:?} {kind:?}"))
    };
    // The reward task has no state surprise to measure, the state task no reward surprise.
    assert!(!result.runs[0].ratios.contains_key(&Surprise::State));
    assert!(!result.runs[1].ratios.contains_key(&Surprise::Reward));
    // RPEs answer the unpredictable outcome. The state task's reward is the same on every
    // step, so the critic has a value to learn and speaks (no silence by construction), but
    // far less at deviants than the RPE does at reward surprises.
    let rpe = ratio(Task::Reward, Surprise::Reward, "RPE mean").expect("RPE is not silent");
    assert!(rpe > 5.0, "RPE ratio on reward surprise {rpe}");
    let rpe_state = ratio(Task::State, Surprise::State, "RPE mean").expect("the critic speaks");
    assert!(
        rpe_state.is_finite() && rpe_state < rpe / 2.0,
        "RPE at deviants {rpe_state} against {rpe} at reward surprises"
    );
    // The latent surprise answers deviant transitions.
    let kl = ratio(Task::State, Surprise::State, "KL surprise").unwrap();
    eprintln!("RPE ratio {rpe:.2}, KL ratio {kl:.2}");
    assert!(kl > 20.0, "KL ratio on state surprise {kl}");

    // The runner wrote the report; its lines are the targets' verdicts.
    assert!(lines
        .iter()
        .any(|l| l.starts_with("RPE mean on the state task")));
    let summary = summary::summarise(&result);
    let rpe_check = summary
        .criteria
        .iter()
        .find(|c| c.what.starts_with("RPE mean on the state task"))
        .unwrap();
    // One seed: judged on the ratio itself (no interval).
    assert!(rpe_check.ratio.is_some(), "{rpe_check:?}");
    assert_eq!(rpe_check.met, rpe_state <= 1.5, "{rpe_check:?}");
    let md = std::fs::read_to_string(out.path().join("science.md")).unwrap();
    assert!(
        md.contains("| RPE mean |") && md.contains("## Targets"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("science.json")).unwrap()).unwrap();
    assert_eq!(json["result"]["runs"].as_array().unwrap().len(), 2);
    let png = std::fs::read(out.path().join("science.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // The JSON holds everything the report needs: reading it back redraws the same table.
    let text = std::fs::read_to_string(out.path().join("science.json")).unwrap();
    let back = ScienceConfig::read(&text).unwrap();
    let again = report::markdown(&back, &summary::summarise(&back));
    let skip_header = |t: &str| t.lines().skip(3).collect::<Vec<_>>().join("\n");
    assert_eq!(skip_header(&again), skip_header(&md));
    let redrawn = out.path().join("redrawn");
    redraw::<ScienceConfig>(
        &out.path().join("science.json"),
        &redrawn,
        neuromod_plots::Format::Png,
    )
    .unwrap();
    let md2 = std::fs::read_to_string(redrawn.join("science.md")).unwrap();
    assert_eq!(md2, md, "a redrawn report is the same report");
    // A second run into the same folder is refused, and nothing is overwritten.
    let err = run(&config, &ctx, neuromod_plots::Format::Png, &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("already holds a science run"),
        "{err}"
    );
    // Each run left a checkpoint that the other commands can open.
    assert!(out.path().join("runs/state-seed0/latest").exists());
}

#[test]
fn cue_and_convergent_tasks_read_the_rpe_over_training_and_a_raphe_recording() {
    let _turn = serial();
    let config = ScienceConfig {
        tasks: vec![Task::Convergent, Task::Cue],
        seeds: 1,
        sequences: 100,
        epochs: 30,
        batch_size: 8,
        h_dim: 32,
        z_dim: 8,
        hidden: 32,
        heads: 4,
        critic_epochs: 16,
        critic_lr: 1e-2,
        ..Default::default()
    };
    let out = tempfile::tempdir().unwrap();
    let ctx = Context::new(cpu(), "ndarray", out.path());
    let (result, _) = run(&config, &ctx, neuromod_plots::Format::Png, &mut |_| {}).unwrap();
    let convergent = &result.runs[0];
    let raphe = convergent.raphe.as_ref().expect("a raphe recording");
    assert_eq!(
        raphe.iter().map(|p| p.cells).collect::<Vec<_>>(),
        vec![1, 2, 4, 8, 16, 32, 64]
    );
    // Four origins, one target: the deviants' kinds are the origins.
    assert_eq!(convergent.deviant_decoding.unwrap().vector.classes, 4);
    let cue = result.runs[1].signatures.as_ref().expect("cue signatures");
    let epochs: Vec<usize> = cue.over_training.iter().map(|(e, _)| *e).collect();
    assert_eq!(epochs, vec![0, 1, 2, 4, 8, 16]);
    // Untrained (zero-initialised output), the RPE is the reward itself.
    let (_, untrained) = cue.over_training[0];
    assert_eq!((untrained.delivered, untrained.omitted), (1.0, 0.0));
    assert_eq!(untrained.cue, [0.0; 3]);
    // Trained, the delivered reward is partly predicted and its omission dips.
    let (_, trained) = cue.over_training[epochs.len() - 1];
    eprintln!("cue task, RPE after 16 critic epochs: {trained:?}");
    assert!(
        trained.delivered < 0.9 && trained.omitted < -0.1,
        "{trained:?}"
    );
    // Every signal is read per kind of step, and the report and figures say so.
    assert!(cue.signals.contains_key("SPE norm") && cue.signals.contains_key("RPE mean"));
    let md = std::fs::read_to_string(out.path().join("science.md")).unwrap();
    assert!(md.contains("## TD signatures") && md.contains("## A simulated raphe recording"));
    for fig in ["signatures.png", "raphe.png", "vector-spe.png"] {
        assert!(out.path().join(fig).exists(), "{fig}");
    }
}
