//! The `sngan` binary end to end on the embedded digits: a tiny run, resume, sample in every
//! format, eval, plot, bad inputs, a NaN stop, and SIGKILL at random moments.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use sngan::checkpoint;
use sngan::config::{Dataset, RunConfig, Width};
use sngan::nets::std_cnn::{StdCnnDiscriminator16Quarter, StdCnnGenerator16Quarter};
use sngan::run::read_metrics;
use sngan::train::Trainer;

type T16 = Trainer<
    16,
    StdCnnGenerator16Quarter<f32, Cpu>,
    StdCnnDiscriminator16Quarter<true, f32, Cpu>,
    Cpu,
>;

const BIN: &str = env!("CARGO_BIN_EXE_sngan");

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sngan-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sngan(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs `sngan args`, asserts success, returns stdout.
fn ok(args: &[&str]) -> String {
    let out = sngan(args);
    assert!(
        out.status.success(),
        "sngan {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `sngan args`, asserts failure with a one-line message, returns it.
fn fails(args: &[&str]) -> String {
    let out = sngan(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "sngan {args:?} succeeded:\n{err}");
    assert!(!err.contains("panicked"), "sngan {args:?} panicked:\n{err}");
    let last = err
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(last.starts_with("sngan: error: "), "{err}");
    last
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn steps_of(dir: &Path) -> Vec<usize> {
    checkpoint::list(dir).into_iter().map(|(s, _)| s).collect()
}

/// Loads the newest checkpoint of `dir` into a digits trainer built from its config.json.
fn load_latest(dir: &Path) -> Option<usize> {
    let path = checkpoint::latest(dir)?;
    let config = RunConfig::load(dir).unwrap();
    let mut t = T16::new(Cpu::seed_from_u64(0), config.train_options()).unwrap();
    t.load_checkpoint(&path)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
    Some(t.step)
}

/// A finished 4-step run (batch 8, a checkpoint every 2 steps).
fn tiny_run(dir: &Path) {
    ok(&[
        "train",
        "--steps",
        "4",
        "--batch",
        "8",
        "--checkpoint-every",
        "2",
        "--sample-every",
        "2",
        "--sigma-every",
        "2",
        "--out",
        s(dir),
        "-q",
    ]);
}

#[test]
fn train_resume_sample_eval_plot() {
    let root = scratch("flow");
    let run = root.join("run");
    let t0 = Instant::now();
    let out = ok(&[
        "train",
        "--steps",
        "6",
        "--batch",
        "8",
        "--checkpoint-every",
        "2",
        "--keep-last",
        "2",
        "--sample-every",
        "3",
        "--sigma-every",
        "2",
        "--seed",
        "5",
        "--out",
        s(&run),
    ]);
    eprintln!("train 6 steps: {:.1} s", t0.elapsed().as_secs_f64());
    assert!(
        out.contains("checkpoint") && out.contains("ckpt-00000006"),
        "{out}"
    );

    // config.json: parseable, the run's values, the paper's defaults elsewhere.
    let config = RunConfig::load(&run).unwrap();
    let mut expected = RunConfig::for_dataset(Dataset::Digits);
    expected.steps = 6;
    expected.batch = Some(8);
    expected.checkpoint_every = 2;
    expected.keep_last = 2;
    expected.sample_every = 3;
    expected.sigma_every = 2;
    expected.seed = 5;
    assert_eq!(config, expected);
    assert_eq!(config.width, Width::Quarter);

    // metrics.jsonl: every 2 steps, all fields.
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (line, step) in lines.iter().zip([2, 4, 6]) {
        assert_eq!(line["step"], step);
        for key in ["d_loss", "g_loss", "lr", "wall_s"] {
            assert!(line[key].as_f64().unwrap().is_finite(), "{key} in {line}");
        }
        assert_eq!(line["lr"].as_f64().unwrap(), 2e-4);
        let sigma = line["sigma"].as_array().unwrap();
        assert_eq!(sigma.len(), 8);
        assert!(sigma
            .iter()
            .all(|x| (0.5..2.0).contains(&x.as_f64().unwrap())));
    }

    // Samples, plots, pruned checkpoints.
    for step in [3, 6] {
        let png = std::fs::read(run.join(format!("samples/{step:08}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
    for plot in ["losses.png", "sigma.png"] {
        assert!(run.join("plots").join(plot).is_file(), "{plot}");
    }
    assert_eq!(steps_of(&run), [4, 6]);

    // resume continues to the new step count, from the checkpoint's data position.
    ok(&["resume", s(&run), "--steps", "9", "-q"]);
    assert_eq!(steps_of(&run), [8, 9]);
    assert_eq!(load_latest(&run), Some(9));
    assert_eq!(RunConfig::load(&run).unwrap().steps, 9);
    let steps: Vec<usize> = read_metrics(&run).unwrap().iter().map(|m| m.step).collect();
    assert_eq!(steps, [2, 4, 6, 8, 9]);
    // Already there: nothing to do.
    ok(&["resume", s(&run), "-q"]);
    assert_eq!(steps_of(&run), [8, 9]);

    // sample: grid, pngs, npy.
    let grid = root.join("grid.png");
    ok(&["sample", s(&run), "--n", "10", "--out", s(&grid)]);
    let decoder = png::Decoder::new(std::fs::File::open(&grid).unwrap());
    let reader = decoder.read_info().unwrap();
    // 10 images in 4 columns, 3 rows; 16 pixels at zoom 4 plus 1-pixel gaps.
    assert_eq!(
        (reader.info().width, reader.info().height),
        (4 * 65 + 1, 3 * 65 + 1)
    );

    let pngs = root.join("pngs");
    ok(&[
        "sample",
        s(&run),
        "--n",
        "5",
        "--format",
        "pngs",
        "--out",
        s(&pngs),
    ]);
    let mut files: Vec<String> = std::fs::read_dir(&pngs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "000000.png",
            "000001.png",
            "000002.png",
            "000003.png",
            "000004.png"
        ]
    );
    let info = png::Decoder::new(std::fs::File::open(pngs.join("000000.png")).unwrap())
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), (16, 16));

    let npy = root.join("x.npy");
    ok(&[
        "sample",
        s(&run),
        "--n",
        "7",
        "--format",
        "npy",
        "--out",
        s(&npy),
        "--seed",
        "3",
    ]);
    let bytes = std::fs::read(&npy).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0);
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.contains("'shape': (7, 3, 16, 16)"), "{header}");
    assert_eq!(bytes.len(), 10 + hlen + 4 * 7 * 3 * 16 * 16);
    let values: Vec<f32> = bytes[10 + hlen..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)));
    // The same seed gives the same images; the first 7 of 9 are the 7.
    let npy2 = root.join("y.npy");
    ok(&[
        "sample",
        s(&run),
        "--n",
        "9",
        "--format",
        "npy",
        "--out",
        s(&npy2),
        "--seed",
        "3",
    ]);
    let more = std::fs::read(&npy2).unwrap();
    assert_eq!(&more[10 + hlen..bytes.len()], &bytes[10 + hlen..]);

    // eval: σ(W̄) of the 8 layers.
    let out = ok(&["eval", s(&run)]);
    let sigmas: Vec<f64> = out
        .lines()
        .filter_map(|l| {
            let (name, v) = l.split_once(' ')?;
            ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "l7"]
                .contains(&name)
                .then(|| v.parse().unwrap())
        })
        .collect();
    assert_eq!(sigmas.len(), 8, "{out}");
    assert!(sigmas.iter().all(|s| (0.5..2.0).contains(s)), "{out}");
    assert!(out.contains("FID"), "{out}");

    // plot on demand.
    std::fs::remove_dir_all(run.join("plots")).unwrap();
    let out = ok(&["plot", s(&run)]);
    assert!(out.contains("sigma.png") && run.join("plots/sigma.png").is_file());

    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn bad_inputs_are_one_line_errors_naming_the_file() {
    let root = scratch("bad");
    let missing = root.join("no-such-run");
    for cmd in ["resume", "sample", "eval", "plot"] {
        let msg = fails(&[cmd, s(&missing)]);
        assert!(msg.contains(s(&missing)), "{cmd}: {msg}");
    }
    // A directory that is not a run.
    let msg = fails(&["eval", s(&root)]);
    assert!(msg.contains("config.json"), "{msg}");

    let run = root.join("run");
    tiny_run(&run);
    // Training into an existing run is refused.
    let msg = fails(&["train", "--out", s(&run), "-q"]);
    assert!(msg.contains("sngan resume"), "{msg}");

    // A truncated checkpoint (a disk filled up, a copy cut short).
    let latest = checkpoint::latest(&run).unwrap();
    let len = std::fs::metadata(&latest).unwrap().len();
    let bytes = std::fs::read(&latest).unwrap();
    std::fs::write(&latest, &bytes[..len as usize / 2]).unwrap();
    for args in [
        vec!["eval", s(&run)],
        vec!["sample", s(&run)],
        vec!["resume", s(&run), "--steps", "6", "-q"],
    ] {
        let msg = fails(&args);
        assert!(msg.contains(s(&latest)), "{args:?}: {msg}");
    }

    // A corrupt config.json.
    std::fs::write(run.join("config.json"), "{\"steps\": \"many\"}").unwrap();
    let msg = fails(&["resume", s(&run)]);
    assert!(msg.contains("config.json"), "{msg}");

    // Missing dataset files, bad flags.
    let msg = fails(&[
        "train",
        "--dataset",
        "cifar10",
        "--data-dir",
        s(&root.join("no-cifar")),
        "--out",
        s(&root.join("c")),
        "-q",
    ]);
    assert!(msg.contains("no-cifar"), "{msg}");
    assert!(!root.join("c").exists());
    let msg = fails(&[
        "train",
        "--dataset",
        "stl10",
        "--out",
        s(&root.join("d")),
        "-q",
    ]);
    assert!(msg.contains("--data-dir"), "{msg}");
    let msg = fails(&[
        "train",
        "--width",
        "full",
        "--out",
        s(&root.join("e")),
        "-q",
    ]);
    assert!(msg.contains("quarter"), "{msg}");
    #[cfg(not(feature = "cuda"))]
    {
        let msg = fails(&[
            "train",
            "--device",
            "cuda",
            "--out",
            s(&root.join("f")),
            "-q",
        ]);
        assert!(msg.contains("cuda"), "{msg}");
    }
    let out = sngan(&["train", "--arch", "vgg"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("std-cnn-ref"));

    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let root = scratch("nan");
    let run = root.join("run");
    tiny_run(&run);
    assert_eq!(steps_of(&run), [2, 4]);
    // α = 1e30 sends every weight to ~1e30 on the first update: the next loss is NaN.
    let mut config = RunConfig::load(&run).unwrap();
    config.lr = Some(1e30);
    config.checkpoint_every = 1;
    config.save(&run).unwrap();
    let msg = fails(&["resume", s(&run), "--steps", "10", "-q"]);
    assert!(msg.contains("step 5"), "{msg}");
    assert!(msg.contains("ckpt-00000004.safetensors"), "{msg}");
    assert_eq!(steps_of(&run), [2, 4]);
    assert_eq!(load_latest(&run), Some(4));
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn sigkill_at_random_moments_leaves_a_loadable_checkpoint() {
    let root = scratch("kill");
    let run = root.join("run");
    let seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill moments drawn with seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut last_step = 0;
    for round in 0..6 {
        let mut cmd = Command::new(BIN);
        if round == 0 {
            cmd.args([
                "train",
                "--steps",
                "100000",
                "--batch",
                "8",
                "--checkpoint-every",
                "1",
                "--keep-last",
                "2",
                "--sample-every",
                "3",
                "--sigma-every",
                "1",
                "--out",
                s(&run),
                "-q",
            ]);
        } else {
            cmd.args(["resume", s(&run), "-q"]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(rng.gen_range(300..2500));
        std::thread::sleep(delay);
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL on Unix
        let out = child.wait_with_output().unwrap();
        assert!(
            still_running,
            "round {round}: sngan exited before the kill:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let step = load_latest(&run);
        eprintln!("round {round}: killed after {delay:?}, newest checkpoint {step:?}");
        if let Some(step) = step {
            assert!(
                step >= last_step,
                "checkpoints went back: {step} < {last_step}"
            );
            last_step = step;
        }
        // metrics.jsonl stays readable: at most a torn last line.
        read_metrics(&run).unwrap();
    }
    // A last resume runs to completion, two steps past the newest checkpoint.
    let target = last_step + 2;
    ok(&["resume", s(&run), "--steps", &target.to_string(), "-q"]);
    assert_eq!(load_latest(&run), Some(target));
    // Resuming dropped the metrics of steps past each checkpoint: one line per step, in order.
    let steps: Vec<usize> = read_metrics(&run).unwrap().iter().map(|m| m.step).collect();
    assert_eq!(steps, (1..=target).collect::<Vec<_>>());
    let stale: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(stale.is_empty(), "{stale:?}");
    eprintln!("kill test: {:.1} s", started.elapsed().as_secs_f64());
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn resnet_train_resume_sample_eval() {
    use sngan::config::Arch;
    use sngan::nets::resnet::{ResNetDiscriminator16Quarter, ResNetGenerator16Quarter};
    use sngan::settings::Setting;
    type R16 = Trainer<
        16,
        ResNetGenerator16Quarter<f32, Cpu>,
        ResNetDiscriminator16Quarter<true, f32, Cpu>,
        Cpu,
    >;
    let root = scratch("resnet");
    let run = root.join("run");
    let t0 = Instant::now();
    // --arch resnet brings the ResNet schedule: hinge loss, n_dis = 5, α decayed linearly,
    // G batch twice D's.
    ok(&[
        "train",
        "--arch",
        "resnet",
        "--steps",
        "4",
        "--batch",
        "4",
        "--checkpoint-every",
        "2",
        "--sample-every",
        "2",
        "--sigma-every",
        "1",
        "--out",
        s(&run),
        "-q",
    ]);
    eprintln!("resnet train 4 steps: {:.1} s", t0.elapsed().as_secs_f64());
    let config = RunConfig::load(&run).unwrap();
    assert_eq!(
        (config.arch, config.setting, config.width),
        (Arch::ResNet, Setting::ResNet, Width::Quarter)
    );
    let s8 = config.train_settings();
    assert_eq!(
        (s8.n_dis, s8.batch_size, s8.g_batch_size, s8.loss),
        (5, 4, 8, sngan::loss::Loss::Hinge)
    );
    let names = config.layer_names();
    assert_eq!(names.len(), 11);
    assert_eq!((names[2], names[10]), ("block1.sc", "l5"));

    let metrics = read_metrics(&run).unwrap();
    assert_eq!(
        metrics.iter().map(|m| m.step).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    for (m, k) in metrics.iter().zip(0..) {
        // α of the update after k generator updates of 4: 2e-4 · (1 − k/4).
        assert!(
            (m.lr - 2e-4 * (1.0 - k as f64 / 4.0)).abs() < 1e-12,
            "{m:?}"
        );
        assert!(m.d_loss.is_finite() && m.g_loss.is_finite(), "{m:?}");
        assert_eq!(m.sigma.len(), 11);
        // One power-iteration round per update after 15 at build: σ(W̄) stays near 1.
        assert!(m.sigma.iter().all(|s| (0.9..1.5).contains(s)), "{m:?}");
    }
    for step in [2, 4] {
        assert!(run.join(format!("samples/{step:08}.png")).is_file());
    }

    // The checkpoint holds the ResNet's tensors by name and loads into the ResNet types.
    let path = checkpoint::latest(&run).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = ::safetensors::tensor::SafeTensors::deserialize(&bytes).unwrap();
    let names: Vec<String> = st.names().into_iter().cloned().collect();
    for want in [
        "d.block2.sc.conv.weight",
        "d.block1.c1.sn.u",
        "d.l5.weight",
        "g.block4.b2.running_var",
        "g.c5.weight",
        "opt_d.m.block3.c2.conv.weight",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let mut t = R16::new(Cpu::seed_from_u64(0), config.train_options()).unwrap();
    t.load_checkpoint(&path).unwrap();
    assert_eq!(t.step, 4);

    ok(&["resume", s(&run), "--steps", "5", "-q"]);
    assert_eq!(steps_of(&run), [2, 4, 5]);
    let npy = root.join("x.npy");
    ok(&[
        "sample",
        s(&run),
        "--n",
        "3",
        "--format",
        "npy",
        "--out",
        s(&npy),
    ]);
    assert_eq!(
        std::fs::read(&npy).unwrap().len(),
        128 + 4 * 3 * 3 * 16 * 16,
        "a 128-byte header and 3 images"
    );
    let out = ok(&["eval", s(&run)]);
    for name in names_in_order() {
        assert!(
            out.contains(&format!("{name} ")),
            "{name} missing in\n{out}"
        );
    }
    // The digits have no full-width networks.
    let e = fails(&[
        "train",
        "--arch",
        "resnet",
        "--width",
        "full",
        "--out",
        s(&root.join("bad")),
    ]);
    assert!(e.contains("resnet") && e.contains("quarter"), "{e}");
}

fn names_in_order() -> &'static [&'static str] {
    sngan::nets::resnet::ResNetDiscriminator16Quarter::<true, f32, Cpu>::LAYERS
}

#[test]
fn a_moving_average_of_g_is_kept_saved_and_sampled_from() {
    let root = scratch("ema");
    let run = root.join("run");
    ok(&[
        "train",
        "--steps",
        "3",
        "--batch",
        "8",
        "--sample-every",
        "3",
        "--ema-decay",
        "0.5",
        "--ema-start",
        "1",
        "--out",
        s(&run),
        "-q",
    ]);
    let config = RunConfig::load(&run).unwrap();
    assert_eq!((config.ema_decay, config.ema_start), (Some(0.5), 1));
    for name in ["00000003.png", "00000003-ema.png"] {
        assert!(run.join("samples").join(name).is_file(), "{name}");
    }

    // `sample` draws from the average, not from G: rebuild both from the checkpoint.
    let npy = root.join("x.npy");
    ok(&[
        "sample",
        s(&run),
        "--n",
        "4",
        "--format",
        "npy",
        "--out",
        s(&npy),
        "--seed",
        "3",
    ]);
    let bytes = std::fs::read(&npy).unwrap();
    let sampled: Vec<f32> = bytes[bytes.len() - 4 * 4 * 3 * 16 * 16..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut t = T16::new(Cpu::seed_from_u64(0), config.train_options()).unwrap();
    t.load_checkpoint(&run.join("ckpt-00000003.safetensors"))
        .unwrap();
    let z = t.sample_z(4, 3).unwrap();
    let ema = t.ema.as_ref().unwrap().g.forward_eval(z.clone()).unwrap();
    let live = t.g.forward_eval(z).unwrap();
    assert_eq!(sampled, ema.as_vec());
    assert_ne!(sampled, live.as_vec());
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn eval_inception_metrics_missing_weights_and_protocol() {
    let root = scratch("metrics");
    let run = root.join("run");
    tiny_run(&run);

    // No weights in the working directory, none asked for: σ(W̄) and a note naming the file.
    let out = Command::new(BIN)
        .args(["eval", s(&run)])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("skipped")
            && text.contains("pt_inception-2015-12-05-6726825d.safetensors not found")
            && text.contains("convert_fid_weights.py")
            && text.contains("pt_inception-2015-12-05-6726825d.pth"),
        "{text}"
    );

    // Asked for explicitly: an error naming the missing file and how to make it.
    let weights = root.join("weights/inception.safetensors");
    let msg = fails(&["eval", s(&run), "--inception-weights", s(&weights)]);
    assert!(
        msg.contains(s(&weights)) && msg.contains("convert_fid_weights.py"),
        "{msg}"
    );

    // With (random, not real) weights: IS and FID against the digits, each number printed
    // with its protocol; the saved reference statistics give the same FID back.
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = sngan::metrics::inception::tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
            let a = (6.0 / fan_in as f32).sqrt();
            let v = if name.ends_with("running_var") || name.ends_with("bn.weight") {
                vec![1.0; n]
            } else if name.ends_with("bn.bias") || name.ends_with("running_mean") {
                vec![0.0; n]
            } else {
                (0..n).map(|_| rng.gen_range(-a..a)).collect()
            };
            (name, shape, v)
        })
        .collect();
    std::fs::create_dir_all(weights.parent().unwrap()).unwrap();
    sngan::metrics::inception::write_weights(&weights, &tensors, &[]).unwrap();
    let stats = root.join("digits-stats.npz");
    let common = [
        "--inception-weights",
        s(&weights),
        "--n-fake",
        "4",
        "--splits",
        "2",
        "--batch",
        "2",
    ];
    let mut args = vec!["eval", s(&run)];
    args.extend(common);
    args.extend([
        "--ref-dataset",
        "digits",
        "--n-real",
        "4",
        "--save-ref-stats",
        s(&stats),
    ]);
    let out = ok(&args);
    let is_line = out
        .lines()
        .find(|l| l.starts_with("Inception score "))
        .unwrap();
    assert!(
        is_line.contains("2 splits") && is_line.contains("N = 4") && is_line.contains("sha256"),
        "{out}"
    );
    let fid_line = out.lines().find(|l| l.starts_with("FID ")).unwrap();
    assert!(
        fid_line.contains("digits all") && fid_line.contains("16x16 -> bilinear to 299x299"),
        "{out}"
    );
    let fid = |line: &str| -> f64 { line.split(' ').nth(1).unwrap().parse().unwrap() };
    let mut args = vec!["eval", s(&run)];
    args.extend(common);
    args.extend(["--fid-stats", s(&stats)]);
    let again = ok(&args);
    let line = again.lines().find(|l| l.starts_with("FID ")).unwrap();
    assert_eq!(fid(line), fid(fid_line), "{again}");
    assert!(
        line.contains("digits all"),
        "protocol read back from the .npz: {line}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

// ---------------------------------------------------------------------------------------------
// `sngan paper`: the paper's claims as commands, at tiny scale.

/// Splits CSV text into records of fields (RFC 4180 quoting), asserting it is well formed.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => {
                assert!(field.is_empty(), "a quote inside an unquoted field: {text}");
                quoted = true;
            }
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "unterminated CSV: {text}"
    );
    let width = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == width), "ragged CSV: {text}");
    rows
}

/// Asserts `md` holds a markdown table whose lines all have `columns` cells.
fn assert_markdown_table(md: &str, columns: usize) {
    let lines: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert!(lines.len() >= 3, "no table in {md}");
    for l in &lines {
        assert_eq!(
            l.replace("\\|", "").matches('|').count(),
            columns + 1,
            "{l}\n{md}"
        );
    }
    assert!(lines.iter().any(|l| l.starts_with("| --- |")), "{md}");
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG"))
}

#[test]
fn paper_robustness_tiny_sweep_writes_its_table_and_skips_finished_cells() {
    let out = scratch("paper-robustness");
    let args = [
        "paper",
        "robustness",
        "--out",
        s(&out),
        "--methods",
        "sn,vanilla",
        "--settings",
        "C",
        "--steps",
        "2",
        "-q",
    ];
    let text = ok(&args);
    assert!(
        text.contains("Figs. 1–2") && text.contains("digits IS"),
        "{text}"
    );
    let csv = parse_csv(&std::fs::read_to_string(out.join("robustness.csv")).unwrap());
    assert_eq!(csv[0][..4], ["method", "setting", "steps", "status"]);
    assert_eq!(csv.len(), 3, "{csv:?}");
    for row in &csv[1..] {
        match row[3].as_str() {
            // A scored cell has a digits IS within [1, 10] and a finite FID.
            "ok" => {
                let is: f64 = row[4].parse().unwrap();
                let fid: f64 = row[5].parse().unwrap();
                assert!((1.0..=10.0).contains(&is) && fid.is_finite(), "{row:?}");
            }
            // A method this build lacks is a failed cell with the reason, not a failed sweep.
            "failed" | "diverged" => assert!(!row[7].is_empty(), "{row:?}"),
            other => panic!("status {other}: {row:?}"),
        }
    }
    assert_eq!(csv[1][3], "ok", "sn must train: {csv:?}");
    let md = std::fs::read_to_string(out.join("robustness.md")).unwrap();
    assert_markdown_table(&md, 2);
    assert!(is_png(&out.join("robustness_is.png")) && is_png(&out.join("robustness_fid.png")));
    assert!(out.join("digits-classifier-v1-seed0.safetensors").is_file());

    // A re-run leaves the finished cell as it was (its training time would differ if redone).
    let cell = out.join("cells").join("sn-C.json");
    let before = std::fs::read_to_string(&cell).unwrap();
    let ckpt = checkpoint::latest(&out.join("runs").join("sn-C")).unwrap();
    let ckpt_time = std::fs::metadata(&ckpt).unwrap().modified().unwrap();
    ok(&args);
    assert_eq!(std::fs::read_to_string(&cell).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&ckpt).unwrap().modified().unwrap(),
        ckpt_time
    );

    // Fig. 3 from the same runs: one spectrum per layer, normalized to a largest of 1.
    let text = ok(&[
        "paper",
        "spectra",
        "--out",
        s(&out),
        "--methods",
        "sn",
        "--steps",
        "2",
        "-q",
    ]);
    assert!(text.contains("Fig. 3"), "{text}");
    assert_eq!(
        std::fs::metadata(&ckpt).unwrap().modified().unwrap(),
        ckpt_time
    );
    let csv = parse_csv(&std::fs::read_to_string(out.join("spectra.csv")).unwrap());
    assert_eq!(
        csv[0],
        ["method", "layer", "index", "singular_value", "normalized"]
    );
    let firsts: Vec<&Vec<String>> = csv[1..].iter().filter(|r| r[2] == "1").collect();
    assert_eq!(firsts.len(), 8, "{firsts:?}");
    assert!(firsts.iter().all(|r| r[4] == "1.000000"), "{firsts:?}");
    assert!(csv[1..]
        .iter()
        .all(|r| (0.0..=1.0).contains(&r[4].parse::<f64>().unwrap())));
    assert_markdown_table(&std::fs::read_to_string(out.join("spectra.md")).unwrap(), 9);
    assert!(is_png(&out.join("spectra_c0.png")) && is_png(&out.join("spectra_l7.png")));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn paper_fig9_writes_sigma_per_layer_and_cost_prints_ratios() {
    let out = scratch("paper-fig9");
    let text = ok(&["paper", "fig9", "--out", s(&out), "--steps", "20", "-q"]);
    assert!(
        text.contains("Fig. 9") && text.contains("1.00–1.05"),
        "{text}"
    );
    let csv = parse_csv(&std::fs::read_to_string(out.join("fig9_sigma.csv")).unwrap());
    assert_eq!(
        csv[0],
        ["step", "c0", "c1", "c2", "c3", "c4", "c5", "c6", "l7"]
    );
    // sigma_every = 10: steps 10 and 20; every σ(W̄) of an SN layer is ≥ 1 up to rounding.
    assert_eq!(csv.len(), 3, "{csv:?}");
    for row in &csv[1..] {
        assert!(
            row[1..].iter().all(|v| v.parse::<f64>().unwrap() > 0.99),
            "{row:?}"
        );
    }
    assert_markdown_table(
        &std::fs::read_to_string(out.join("fig9_sigma.md")).unwrap(),
        5,
    );
    assert!(is_png(&out.join("fig9_sigma.png")));

    let text = ok(&[
        "paper",
        "cost",
        "--out",
        s(&out),
        "--steps",
        "1",
        "--warmup",
        "0",
        "--reps",
        "2",
        "-q",
    ]);
    for needle in [
        "SN / vanilla",
        "WGAN-GP / SN",
        "≈ 1.10",
        "≈ 1.3",
        "n_dis = 5",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let csv = parse_csv(&std::fs::read_to_string(out.join("cost.csv")).unwrap());
    assert_eq!(
        csv[0],
        ["rep", "method", "steps", "seconds", "s_per_100_updates"]
    );
    // SN is timed twice (its two repetitions), with positive times.
    let sn: Vec<f64> = csv[1..]
        .iter()
        .filter(|r| r[1] == "sn")
        .map(|r| r[4].parse().unwrap())
        .collect();
    assert!(sn.len() == 2 && sn.iter().all(|&t| t > 0.0), "{csv:?}");
    assert!(is_png(&out.join("cost.png")));
    if cfg!(not(feature = "cuda")) {
        let msg = fails(&["paper", "cost", "--out", s(&out), "--device", "cuda"]);
        assert!(msg.contains("cuda"), "{msg}");
    }
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn paper_table2_errors_name_the_missing_file() {
    let root = scratch("paper-table2");
    let data = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&data).unwrap();
    let weights = root.join("inception.safetensors");
    let args = |dataset: &'static str| {
        vec![
            "paper".to_string(),
            "table2".into(),
            "--out".into(),
            s(&root.join("out")).into(),
            "--method".into(),
            "sn".into(),
            "--dataset".into(),
            dataset.into(),
            "--data-dir".into(),
            s(&data).into(),
            "--inception-weights".into(),
            s(&weights).into(),
        ]
    };
    let run = |a: Vec<String>| fails(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let msg = run(args("cifar10"));
    assert!(
        msg.contains("data_batch_1.bin") && msg.contains(s(&data)),
        "{msg}"
    );
    let msg = run(args("stl10"));
    assert!(msg.contains("unlabeled_X.bin"), "{msg}");
    // With the data present (empty files suffice for the check), the weights are named.
    for i in 1..=5 {
        std::fs::write(data.join(format!("data_batch_{i}.bin")), b"").unwrap();
    }
    let msg = run(args("cifar10"));
    assert!(
        msg.contains(s(&weights)) && msg.contains("convert_fid_weights"),
        "{msg}"
    );
    // Nothing was trained.
    assert!(!root.join("out").join("runs").exists());
    std::fs::write(&weights, b"").unwrap();
    let mut a = args("cifar10");
    a.extend(["--fid-stats".into(), s(&root.join("stats.npz")).into()]);
    let msg = run(a);
    assert!(msg.contains("stats.npz"), "{msg}");
    let msg = run(args("digits"));
    assert!(msg.contains("cifar10 and stl10"), "{msg}");
    std::fs::remove_dir_all(root).unwrap();
}
