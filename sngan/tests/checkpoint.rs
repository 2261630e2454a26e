//! Checkpoints: exact resume on the CPU, and clear errors for bad files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use sngan::checkpoint;
use sngan::data::{digits, Batches};
use sngan::ema::EmaOptions;
use sngan::loss::Loss;
use sngan::nets::std_cnn::{StdCnnDiscriminator16Quarter, StdCnnGenerator16Quarter};
use sngan::settings::Setting;
use sngan::train::{TrainOptions, Trainer};
use sngan::Error;

type T16 = Trainer<
    16,
    StdCnnGenerator16Quarter<f32, Cpu>,
    StdCnnDiscriminator16Quarter<true, f32, Cpu>,
    Cpu,
>;

fn options() -> TrainOptions {
    let mut settings: sngan::settings::TrainSettings = Setting::A.into();
    settings.n_dis = 2;
    settings.batch_size = 8;
    settings.g_batch_size = 8;
    settings.loss = Loss::Hinge;
    TrainOptions {
        settings,
        total_steps: 6,
        seed: 5,
        ..Default::default()
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sngan-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every tensor of a checkpoint file, as raw bytes (metadata excluded).
fn tensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let st = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, v.data().to_vec()))
        .collect()
}

fn ema_options() -> TrainOptions {
    TrainOptions {
        ema: Some(EmaOptions {
            decay: 0.9,
            start: 1,
        }),
        ..options()
    }
}

#[test]
fn resume_gives_bit_identical_weights_to_an_uninterrupted_run() {
    let ta = resume_and_compare("resume", options());
    assert!(!ta.keys().any(|k| k.starts_with("ema.")));
}

#[test]
fn resume_with_a_moving_average_of_g_is_exact_too() {
    let ta = resume_and_compare("resume-ema", ema_options());
    let g: Vec<_> = ta.keys().filter_map(|k| k.strip_prefix("g.")).collect();
    let ema: Vec<_> = ta.keys().filter_map(|k| k.strip_prefix("ema.")).collect();
    assert_eq!(g, ema, "the average covers every tensor of G");
    // After 4 updates with decay 0.9 from step 2 on, the average differs from G.
    assert_ne!(ta["g.l0.weight"], ta["ema.l0.weight"]);
}

/// Trains 4 steps straight, and 2 + checkpoint + load into a fresh trainer + 2; asserts both
/// end bit-identical; returns the tensors of the straight run.
fn resume_and_compare(name: &str, options: TrainOptions) -> BTreeMap<String, Vec<u8>> {
    let dir = tmpdir(name);
    let options = || options;
    // 4 steps straight.
    let mut a = T16::new(Cpu::seed_from_u64(9), options()).unwrap();
    let mut data_a = Batches::new(digits::<16>(), 1).unwrap();
    for _ in 0..4 {
        a.train_step(&mut data_a).unwrap();
    }
    a.save_checkpoint(&dir.join("a.safetensors"), data_a.position())
        .unwrap();

    // 2 steps, checkpoint, a fresh process-like trainer (other initial weights), 2 more.
    let mut b = T16::new(Cpu::seed_from_u64(9), options()).unwrap();
    let mut data_b = Batches::new(digits::<16>(), 1).unwrap();
    for _ in 0..2 {
        b.train_step(&mut data_b).unwrap();
    }
    let mid = checkpoint::path_for(&dir, b.step);
    b.save_checkpoint(&mid, data_b.position()).unwrap();
    drop(b);
    let mut c = T16::new(Cpu::seed_from_u64(1234), options()).unwrap();
    let pos = c.load_checkpoint(&mid).unwrap();
    assert_eq!(c.step, 2);
    let mut data_c = Batches::at(digits::<16>(), 1, pos).unwrap();
    for _ in 0..2 {
        c.train_step(&mut data_c).unwrap();
    }
    c.save_checkpoint(&dir.join("c.safetensors"), data_c.position())
        .unwrap();

    let (ta, tc) = (
        tensors(&dir.join("a.safetensors")),
        tensors(&dir.join("c.safetensors")),
    );
    assert_eq!(ta.keys().collect::<Vec<_>>(), tc.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            v == &tc[k],
            "tensor {k} differs between the straight and the resumed run"
        );
    }
    assert!(ta.keys().any(|k| k.starts_with("opt_d.m.")) && ta.keys().any(|k| k.ends_with("sn.u")));
    std::fs::remove_dir_all(&dir).unwrap();
    ta
}

#[test]
fn a_checkpoint_with_or_without_the_average_must_match_the_config() {
    let dir = tmpdir("ema-mismatch");
    let plain = dir.join("plain.safetensors");
    let with_ema = dir.join("ema.safetensors");
    let mut p = T16::new(Cpu::seed_from_u64(3), options()).unwrap();
    p.save_checkpoint(&plain, Default::default()).unwrap();
    let mut e = T16::new(Cpu::seed_from_u64(4), ema_options()).unwrap();
    e.save_checkpoint(&with_ema, Default::default()).unwrap();
    expect_checkpoint_error(&mut p, &with_ema, "sets no ema_decay");
    expect_checkpoint_error(&mut e, &plain, "no moving average");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn expect_checkpoint_error(t: &mut T16, path: &Path, needle: &str) {
    let before = t.g.l0.weight.as_vec();
    match t.load_checkpoint(path) {
        Err(Error::Checkpoint(msg)) => {
            assert!(
                msg.contains(&path.display().to_string()),
                "message names the file: {msg}"
            );
            assert!(
                msg.contains(needle),
                "message {msg:?} should mention {needle:?}"
            );
        }
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
    assert_eq!(
        t.g.l0.weight.as_vec(),
        before,
        "a failed load changes nothing"
    );
}

#[test]
fn bad_checkpoints_are_clear_errors_and_change_nothing() {
    let dir = tmpdir("bad");
    let mut t = T16::new(Cpu::seed_from_u64(3), options()).unwrap();
    let good = dir.join("good.safetensors");
    t.save_checkpoint(&good, Default::default()).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    expect_checkpoint_error(&mut t, &truncated, "truncated");

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint at all").unwrap();
    expect_checkpoint_error(&mut t, &garbage, "not a safetensors file");

    expect_checkpoint_error(&mut t, &dir.join("missing.safetensors"), "cannot read");

    // A checkpoint of another architecture.
    type Other = Trainer<
        16,
        StdCnnGenerator16Quarter<f32, Cpu>,
        StdCnnDiscriminator16Quarter<false, f32, Cpu>,
        Cpu,
    >;
    let other = Other::new(Cpu::seed_from_u64(3), options()).unwrap();
    let other_path = dir.join("other.safetensors");
    other
        .save_checkpoint(&other_path, Default::default())
        .unwrap();
    expect_checkpoint_error(&mut t, &other_path, "wrong architecture");

    // NaN in a weight.
    let mut nan = t.clone_for_test();
    nan.g.c4.weight = nan.g.c4.weight.clone() * f32::NAN;
    let nan_path = dir.join("nan.safetensors");
    nan.save_checkpoint(&nan_path, Default::default()).unwrap();
    expect_checkpoint_error(&mut t, &nan_path, "NaN");

    // The good one still loads.
    t.load_checkpoint(&good).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

trait CloneForTest {
    fn clone_for_test(&self) -> Self;
}
impl CloneForTest for T16 {
    fn clone_for_test(&self) -> Self {
        let mut t = T16::new(Cpu::seed_from_u64(0), options()).unwrap();
        t.g = self.g.clone();
        t.d = self.d.clone();
        t
    }
}

#[test]
fn prune_keeps_the_newest() {
    let dir = tmpdir("prune");
    for step in [3, 10, 7, 1] {
        std::fs::write(checkpoint::path_for(&dir, step), b"x").unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"kept").unwrap();
    checkpoint::prune(&dir, 2).unwrap();
    let left: Vec<usize> = checkpoint::list(&dir).into_iter().map(|(s, _)| s).collect();
    assert_eq!(left, vec![7, 10]);
    assert_eq!(
        checkpoint::latest(&dir),
        Some(checkpoint::path_for(&dir, 10))
    );
    assert!(dir.join("notes.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

mod baselines {
    use super::{options, tensors, tmpdir};
    use dfdx::prelude::*;
    use sngan::baselines::Method;
    use sngan::checkpoint;
    use sngan::data::{digits, Batches};
    use sngan::nets::method::StdCnnMethodDiscriminator16Quarter;
    use sngan::nets::std_cnn::StdCnnGenerator16Quarter;
    use sngan::train::Trainer;

    type TM = Trainer<
        16,
        StdCnnGenerator16Quarter<f32, Cpu>,
        StdCnnMethodDiscriminator16Quarter<f32, Cpu>,
        Cpu,
    >;

    fn make(method: Method, seed: u64) -> TM {
        let mut o = options();
        o.settings.loss = method.default_loss().into();
        TM::with_method(Cpu::seed_from_u64(seed), o, method).unwrap()
    }

    /// Methods with state beyond weights (γ, ũ), a random loss term (ε), a hook (clipping),
    /// batch statistics, a regularizer: 3 steps straight equal 2 + checkpoint + reload + 1.
    #[test]
    fn method_runs_resume_bit_identically() {
        let dir = tmpdir("methods");
        for method in [
            Method::SnGamma,
            Method::WganGp,
            Method::Clip,
            Method::Bn,
            Method::Ortho,
        ] {
            let mut a = make(method, 9);
            let mut data_a = Batches::new(digits::<16>(), 1).unwrap();
            for _ in 0..3 {
                a.train_step(&mut data_a).unwrap();
            }
            let pa = dir.join(format!("{method}-a.safetensors"));
            a.save_checkpoint(&pa, data_a.position()).unwrap();

            let mut b = make(method, 9);
            let mut data_b = Batches::new(digits::<16>(), 1).unwrap();
            for _ in 0..2 {
                b.train_step(&mut data_b).unwrap();
            }
            let mid = checkpoint::path_for(&dir, b.step);
            b.save_checkpoint(&mid, data_b.position()).unwrap();
            let mut c = make(method, 4321);
            let pos = c.load_checkpoint(&mid).unwrap();
            let mut data_c = Batches::at(digits::<16>(), 1, pos).unwrap();
            c.train_step(&mut data_c).unwrap();
            let pc = dir.join(format!("{method}-c.safetensors"));
            c.save_checkpoint(&pc, data_c.position()).unwrap();
            let (ta, tc) = (tensors(&pa), tensors(&pc));
            assert_eq!(ta.keys().collect::<Vec<_>>(), tc.keys().collect::<Vec<_>>());
            for (k, v) in &ta {
                assert!(v == &tc[k], "{method}: tensor {k} differs after resuming");
            }
            // A checkpoint of one method does not load into a run of another.
            let mut other = make(Method::Ln, 1);
            let e = other.load_checkpoint(&mid).unwrap_err().to_string();
            assert!(e.contains(&format!("--method {method}")), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
