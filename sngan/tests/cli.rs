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
