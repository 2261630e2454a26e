//! `sngan`: train, resume, sample, evaluate and plot SN-GAN runs (Miyato et al., ICLR 2018).
//!
//! Argument parsing only; the work is done by `sngan::run`, `sngan::config` and `sngan::plot`.

// mimalloc, keeping freed memory for the next step: see `sngan::alloc`.
#[global_allocator]
static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use sngan::baselines::Method;
use sngan::config::{
    Arch, Dataset, DatasetKind, DeviceKind, LossName, Overrides, RunConfig, SampleFormat, Width,
};
use sngan::metrics::eval::{evaluate, EvalRequest, MetricsReport, Reference};
use sngan::metrics::inception;
use sngan::paper::{self, CostArch};
use sngan::run::{self, RunOptions, SampleRequest};
use sngan::settings::Setting;

/// SN-GAN (Miyato et al., ICLR 2018): spectrally normalized GANs on dfdx.
///
/// A run lives in one directory: config.json, ckpt-STEP.safetensors (atomic, the newest
/// --keep-last kept), metrics.jsonl (losses and σ(W̄) of every D layer), samples/STEP.png and
/// plots/. `sngan train` creates it; resume, sample, eval and plot read it.
#[derive(Parser, Debug)]
#[command(name = "sngan", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a new run (default: the embedded digits, 16x16, ¼-width Table 3 networks).
    ///
    /// The defaults are the paper's standard-CNN run: Table 3's networks with spectral
    /// normalization in every D layer, Table 1's setting C (Adam α = 0.0002, β1 = 0.5,
    /// β2 = 0.999, n_dis = 1), the standard loss (eq. 15), batch 64, z ~ N(0, I) in R^128, one
    /// power-iteration round per update, 100,000 generator updates.
    Train(Box<TrainArgs>),
    /// Continue a run from its newest checkpoint (data stream and RNG state included).
    Resume {
        /// The run directory.
        run_dir: PathBuf,
        /// Train to this many generator updates in all (default: the run's --steps).
        #[arg(long)]
        steps: Option<usize>,
        #[command(flatten)]
        exec: Exec,
    },
    /// Generate images with the newest checkpoint's generator.
    Sample {
        /// The run directory.
        run_dir: PathBuf,
        /// Number of images.
        #[arg(long, default_value_t = 64)]
        n: usize,
        /// grid: one PNG; pngs: a folder of PNG files; npy: one float32 array (N, 3, M, M)
        /// with values in [-1, 1].
        #[arg(long, default_value = "grid", value_parser = names::<SampleFormat>(SampleFormat::NAMES))]
        format: SampleFormat,
        /// Output file (grid, npy) or folder (pngs) [default: RUN_DIR/sample-STEP.png,
        /// RUN_DIR/sample-STEP/, RUN_DIR/sample-STEP.npy].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of z.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Print σ(W̄) of every discriminator layer of the newest checkpoint (Fig. 9's
    /// measurement, exact), its Inception score and, given a reference, its FID.
    ///
    /// IS and FID use pytorch-fid's FID Inception-v3 (TF 2015-12-05 weights, converted by
    /// sngan/scripts/convert_fid_weights.py); each number is printed with its protocol:
    /// weights, n_fake, n_real and split, resize.
    Eval {
        /// The run directory.
        run_dir: PathBuf,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Render plots/losses.png and plots/sigma.png from metrics.jsonl.
    Plot {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// Reproduce the paper's claims: each command writes a CSV and a markdown table and a PNG
    /// into --out, with the paper's numbers beside the measured ones. Small scale (the
    /// embedded digits, CPU) by default; --full is the paper's scale (CIFAR-10, GPU).
    #[command(subcommand)]
    Paper(PaperCommand),
}

#[derive(Subcommand, Debug)]
enum PaperCommand {
    /// Fig. 9: σ(W̄) of every D layer over training (setting C) → fig9_sigma.{csv,md,png}.
    Fig9 {
        #[command(flatten)]
        common: PaperCommon,
        /// Use this existing run instead of training OUT/runs/fig9-METHOD-C.
        #[arg(long)]
        run: Option<PathBuf>,
        /// The method trained.
        #[arg(long, default_value = "sn", value_parser = names::<Method>(Method::NAMES))]
        method: Method,
    },
    /// Figs. 1-2: every method x setting trained and scored (digits IS / FID at small scale,
    /// Inception IS / FID with --full) → cells/*.json, robustness.{csv,md},
    /// robustness_{is,fid}.png. Finished cells are skipped on a re-run.
    Robustness {
        #[command(flatten)]
        common: PaperCommon,
        /// Methods, comma-separated [default: all].
        #[arg(long, value_delimiter = ',', value_parser = names::<Method>(Method::NAMES))]
        methods: Vec<Method>,
        /// Settings of Table 1, comma-separated [default: A,B,C,D,E,F].
        #[arg(long, value_delimiter = ',')]
        settings: Vec<Setting>,
        /// Generated images scored per cell [default: 1000; 5000 with --full].
        #[arg(long)]
        n_fake: Option<usize>,
        /// With --full: the Inception weights.
        #[arg(long)]
        inception_weights: Option<PathBuf>,
    },
    /// Fig. 3: singular values of every trained D layer / the largest, per method →
    /// spectra.{csv,md}, spectra_LAYER.png (runs shared with `robustness` under one --out).
    Spectra {
        #[command(flatten)]
        common: PaperCommon,
        /// Methods, comma-separated [default: all].
        #[arg(long, value_delimiter = ',', value_parser = names::<Method>(Method::NAMES))]
        methods: Vec<Method>,
        /// The setting the runs train with.
        #[arg(long, default_value = "C")]
        setting: Setting,
    },
    /// Fig. 10: seconds per 100 generator updates at n_dis = 5, methods timed in turn in one
    /// process, with the ratios SN/vanilla and WGAN-GP/SN beside the paper's → cost.{csv,md,png}.
    Cost {
        /// Output folder.
        #[arg(long, default_value = "paper")]
        out: PathBuf,
        /// Methods, comma-separated [default: vanilla,wn,sn,wgan-gp].
        #[arg(long, value_delimiter = ',', value_parser = names::<Method>(Method::NAMES))]
        methods: Vec<Method>,
        /// Network size: digits (16x16, 1/4 width), cifar (32x32 full width, Table 3), stl
        /// (48x48 full width) [default: digits; cifar with --full].
        #[arg(long, value_parser = names::<CostArch>(CostArch::NAMES))]
        size: Option<CostArch>,
        /// The paper's setting: --size cifar, 100 timed updates.
        #[arg(long)]
        full: bool,
        /// CIFAR-10 / STL-10 directory for --size cifar / stl [default: fixed noise images].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Timed generator updates per method and repetition [default: 20; 100 with --full].
        #[arg(long)]
        steps: Option<usize>,
        /// Untimed updates before each timing.
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Repetitions (methods interleaved within each).
        #[arg(long, default_value_t = 3)]
        reps: usize,
        #[command(flatten)]
        exec: Exec,
    },
    /// Table 2: one row (method x dataset) at full scale: train, then IS / FID with the
    /// protocol printed beside every number → table2/ROW.json, table2.{csv,md}.
    Table2 {
        /// Output folder.
        #[arg(long, default_value = "paper")]
        out: PathBuf,
        /// The method.
        #[arg(long, value_parser = names::<Method>(Method::NAMES))]
        method: Method,
        /// cifar10 or stl10.
        #[arg(long, value_parser = names::<DatasetKind>(DatasetKind::NAMES))]
        dataset: DatasetKind,
        /// The dataset's directory (cifar-10-batches-bin, stl10_binary).
        #[arg(long)]
        data_dir: PathBuf,
        /// The Inception weights (see `sngan eval --help`).
        #[arg(long, default_value = inception::WEIGHTS_NAME)]
        inception_weights: PathBuf,
        /// FID against these statistics (.npz) instead of the first --n-real training images.
        #[arg(long)]
        fid_stats: Option<PathBuf>,
        /// std-cnn (Table 3) or resnet (Tables 4-5, SN only).
        #[arg(long, default_value = "std-cnn", value_parser = names::<Arch>(Arch::NAMES))]
        arch: Arch,
        /// The loss [default: the method's; hinge for --arch resnet].
        #[arg(long, value_parser = names::<LossName>(LossName::NAMES))]
        loss: Option<LossName>,
        /// Table 1's setting [default: C; resnet for --arch resnet].
        #[arg(long)]
        setting: Option<Setting>,
        /// Generator updates [default: 100000; 50000 for the ResNet].
        #[arg(long)]
        steps: Option<usize>,
        /// Real images for FID (the paper: 10,000).
        #[arg(long, default_value_t = 10_000)]
        n_real: usize,
        /// Generated images (the paper: 5,000).
        #[arg(long, default_value_t = 5_000)]
        n_fake: usize,
        #[command(flatten)]
        exec: Exec,
    },
    /// The digits metric on reference sets (real, halves, noisy, noise, collapsed) →
    /// digits_metric.{csv,md,png}.
    DigitsMetric {
        /// Output folder.
        #[arg(long, default_value = "paper")]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
struct PaperCommon {
    /// Output folder (runs under OUT/runs, the digits classifier cached in OUT).
    #[arg(long, default_value = "paper")]
    out: PathBuf,
    /// The paper's scale: CIFAR-10 (--data-dir), full width, 100K updates (a GPU: --device cuda).
    #[arg(long, requires = "data_dir")]
    full: bool,
    /// CIFAR-10's directory with --full.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Generator updates per run [default: 1200 for fig9, 400 for robustness and spectra;
    /// 100000 with --full].
    #[arg(long)]
    steps: Option<usize>,
    #[command(flatten)]
    exec: Exec,
}

impl PaperCommon {
    fn scale(&self) -> paper::Scale {
        paper::Scale {
            full: self.full,
            data_dir: self.data_dir.clone(),
            steps: self.steps,
            opts: self.exec.options(),
        }
    }
}

#[derive(Args, Debug)]
struct MetricsArgs {
    /// The Inception weights (safetensors made by sngan/scripts/convert_fid_weights.py from
    /// pytorch-fid's pt_inception-2015-12-05-6726825d.pth) [default:
    /// ./pt_inception-2015-12-05-6726825d.safetensors; without it IS/FID are skipped with a note].
    #[arg(long)]
    inception_weights: Option<PathBuf>,
    /// FID against these pytorch-fid statistics (.npz with mu, sigma; e.g. published ones).
    #[arg(long, conflicts_with = "ref_dataset")]
    fid_stats: Option<PathBuf>,
    /// FID against this dataset's images.
    #[arg(long, value_parser = names::<DatasetKind>(DatasetKind::NAMES))]
    ref_dataset: Option<DatasetKind>,
    /// The reference dataset's directory.
    #[arg(long, requires = "ref_dataset")]
    ref_data_dir: Option<PathBuf>,
    /// The reference split: cifar10 train|test, stl10 unlabeled|train|test, folder and
    /// digits all [default: train, unlabeled, all].
    #[arg(long, requires = "ref_dataset")]
    ref_split: Option<String>,
    /// Reference images: the first N of the split (the paper: 10,000).
    #[arg(long, default_value_t = 10_000)]
    n_real: usize,
    /// Write the reference statistics here (pytorch-fid .npz, protocol in extra keys).
    #[arg(long, requires = "ref_dataset")]
    save_ref_stats: Option<PathBuf>,
    /// Generated images (the paper: 5,000).
    #[arg(long, default_value_t = 5_000)]
    n_fake: usize,
    /// Inception-score splits (the paper: 10).
    #[arg(long, default_value_t = 10)]
    splits: usize,
    /// Images per Inception forward pass.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Seed of the generated images' z.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Training images: the embedded digits (16x16), CIFAR-10 (32x32), STL-10's unlabeled
    /// images (48x48) or a folder of PNG/JPEG files (--size) [default: digits].
    #[arg(long, value_parser = names::<DatasetKind>(DatasetKind::NAMES))]
    dataset: Option<DatasetKind>,
    /// The dataset's directory (cifar-10-batches-bin, stl10_binary or the image folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Image side for --dataset folder: 32 or 48 [default: 32].
    #[arg(long)]
    size: Option<usize>,
    /// std-cnn: the paper's Table 3; std-cnn-ref: chainer-gan-lib's code of it (BN after G's
    /// dense layer, D channels doubled at the strided convolutions, slope 0.2, z ~ U[-1, 1]);
    /// resnet: the ResNets of Tables 4-5 with their schedule (--setting resnet, unless a
    /// setting is given) [default: std-cnn].
    #[arg(long, value_parser = names::<Arch>(Arch::NAMES))]
    arch: Option<Arch>,
    /// Channel widths: the paper's (full) or a quarter of them [default: quarter for the
    /// digits, full otherwise].
    #[arg(long, value_parser = names::<Width>(Width::NAMES))]
    width: Option<Width>,
    /// Adversarial loss [default: standard (eq. 15); hinge (eq. 16-17) with --setting resnet].
    #[arg(long, value_parser = names::<LossName>(LossName::NAMES))]
    loss: Option<LossName>,
    /// Discriminator-side method of Table 2: sn (spectral normalization), vanilla, sn-gamma,
    /// clip (weight clipping, c = 0.01), wn, ln, bn (weight/layer/batch normalization without
    /// γ), ortho (orthonormal regularization), gan-gp, wgan-gp (gradient penalty, λ = 10); the
    /// standard CNN only [default: sn]. Without --loss, the method's loss (wasserstein for clip
    /// and wgan-gp, standard otherwise).
    #[arg(long, value_parser = names::<Method>(Method::NAMES))]
    method: Option<Method>,
    /// Optimizer setting of Table 1: A (α=1e-4, β=(0.5, 0.9), n_dis=5), B (1e-4, (0.5,
    /// 0.999), 1), C (2e-4, (0.5, 0.999), 1), D (1e-3, (0.5, 0.9), 5), E (1e-3, (0.5, 0.999),
    /// 5), F (1e-3, (0.9, 0.999), 5), or resnet (2e-4, (0, 0.9), 5, α decayed linearly)
    /// [default: C].
    #[arg(long)]
    setting: Option<Setting>,
    /// Generator updates [default: 100000; 1200 for the embedded digits; the paper's ResNet runs
    /// take 50000].
    #[arg(long)]
    steps: Option<usize>,
    /// Batch size [default: 64].
    #[arg(long)]
    batch: Option<usize>,
    /// Discriminator updates per generator update [default: the setting's].
    #[arg(long)]
    n_dis: Option<usize>,
    /// Adam's learning rate α [default: the setting's].
    #[arg(long)]
    lr: Option<f64>,
    /// Seed of the initialisation, of z and of the data order [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Power-iteration rounds per update [default: 1, as in the paper].
    #[arg(long)]
    power_iterations: Option<usize>,
    /// Generator updates between checkpoints [default: 5000; 400 for the digits].
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Checkpoints kept, newest first [default: 3].
    #[arg(long)]
    keep_last: Option<usize>,
    /// Generator updates between sample grids samples/STEP.png [default: 1000; 100 for the digits].
    #[arg(long)]
    sample_every: Option<usize>,
    /// Generator updates between lines of metrics.jsonl [default: 100; 25 for the digits].
    #[arg(long)]
    sigma_every: Option<usize>,
    /// Keep an exponential moving average of G's weights with this decay (e.g. 0.999), used
    /// by sample and eval [default: none, as in the paper].
    #[arg(long)]
    ema_decay: Option<f64>,
    /// Generator updates before which the moving average just copies G [default: 0].
    #[arg(long)]
    ema_start: Option<usize>,
    /// Start from this config.json instead of the defaults (flags still override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The run directory to create [default: runs/DATASET].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    exec: Exec,
}

#[derive(Args, Debug)]
struct Exec {
    /// Where to train: cpu, or cuda (builds with the `cuda` feature only).
    #[arg(long, default_value = "cpu", value_parser = names::<DeviceKind>(DeviceKind::NAMES))]
    device: DeviceKind,
    /// No progress bar or log lines.
    #[arg(long, short)]
    quiet: bool,
}

impl Exec {
    fn options(&self) -> RunOptions {
        RunOptions {
            device: self.device,
            progress: !self.quiet,
        }
    }
}

/// A parser accepting `names` (listed in --help) and converting with `T::from_str`.
fn names<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: FromStr<Err = sngan::Error> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

fn train(a: TrainArgs) -> anyhow::Result<String> {
    let base = a.config.as_deref().map(RunConfig::read).transpose()?;
    let dataset = match (a.dataset, &base) {
        (Some(kind), _) => Dataset::from_parts(kind, a.data_dir, a.size)?,
        (None, Some(c)) if a.data_dir.is_none() && a.size.is_none() => c.dataset.clone(),
        (None, Some(_)) => anyhow::bail!("--data-dir and --size need --dataset"),
        (None, None) => Dataset::from_parts(DatasetKind::Digits, a.data_dir, a.size)?,
    };
    let mut config = match base {
        Some(c) => RunConfig { dataset, ..c },
        None => RunConfig::for_dataset(dataset),
    };
    config.apply(&Overrides {
        arch: a.arch,
        width: a.width,
        loss: a.loss,
        method: a.method,
        setting: a.setting,
        steps: a.steps,
        batch: a.batch,
        n_dis: a.n_dis,
        lr: a.lr,
        seed: a.seed,
        power_iterations: a.power_iterations,
        checkpoint_every: a.checkpoint_every,
        keep_last: a.keep_last,
        sample_every: a.sample_every,
        sigma_every: a.sigma_every,
        ema_decay: a.ema_decay,
        ema_start: a.ema_start,
    });
    let dataset = &config.dataset;
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(dataset.kind().to_string()));
    let opts = a.exec.options();
    run::check_device(opts.device)?;
    if opts.progress {
        let _ = writeln!(
            std::io::stderr(),
            "training {} ({}x{}, {} at {} width, method {}), setting {}, {} loss, {} steps, into {}",
            dataset.kind(),
            config.image_size(),
            config.image_size(),
            config.arch,
            config.width,
            config.method,
            config.setting,
            config.loss,
            config.steps,
            out.display()
        );
    }
    Ok(report(run::train(&config, &out, opts)?))
}

fn report(s: run::TrainSummary) -> String {
    let mut out = String::new();
    if let Some(last) = &s.last {
        let rate = (s.step - s.start_step) as f64 / s.seconds.max(1e-9);
        out += &format!(
            "step {}: D loss {:.4}, G loss {:.4} ({rate:.2} steps/s)\n",
            s.step, last.d_loss, last.g_loss
        );
    }
    out += &format!("checkpoint {}\n", s.checkpoint.display());
    for p in &s.plots {
        out += &format!("plot {}\n", p.display());
    }
    out
}

fn sample(run_dir: PathBuf, request: SampleRequest) -> anyhow::Result<String> {
    let s = run::sample(&run_dir, &request)?;
    Ok(format!(
        "{} images {}x{} from step {} ({}) written to {}\n",
        s.n,
        s.m,
        s.m,
        s.step,
        s.checkpoint.display(),
        s.path.display()
    ))
}

fn eval(run_dir: PathBuf, a: MetricsArgs) -> anyhow::Result<String> {
    let r = run::eval(&run_dir)?;
    let mut out = format!("{} (step {})\n", r.checkpoint.display(), r.step);
    out += "sigma(W_bar) of every discriminator layer (exact, Fig. 9):\n";
    for (name, s) in &r.sigmas {
        out += &format!("{name} {s:.6}\n");
    }
    let reference = match (a.fid_stats, a.ref_dataset) {
        (Some(path), _) => Some(Reference::Stats(path)),
        (None, Some(kind)) => {
            let size = (kind == DatasetKind::Folder)
                .then(|| RunConfig::load(&run_dir).map(|c| c.image_size()))
                .transpose()?;
            let split = a.ref_split.unwrap_or_else(|| {
                match kind {
                    DatasetKind::Cifar10 => "train",
                    DatasetKind::Stl10 => "unlabeled",
                    _ => "all",
                }
                .to_string()
            });
            Some(Reference::Dataset {
                dataset: Dataset::from_parts(kind, a.ref_data_dir, size)?,
                split,
                n_real: a.n_real,
                save: a.save_ref_stats,
            })
        }
        (None, None) => None,
    };
    let request = EvalRequest {
        required: a.inception_weights.is_some() || reference.is_some(),
        weights: a
            .inception_weights
            .unwrap_or_else(|| PathBuf::from(inception::WEIGHTS_NAME)),
        reference,
        n_fake: a.n_fake,
        splits: a.splits,
        batch: a.batch,
        seed: a.seed,
    };
    match evaluate(&run_dir, &request)? {
        MetricsReport::Skipped(why) => out += &format!("Inception score and FID: skipped: {why}\n"),
        MetricsReport::Done {
            is,
            splits,
            fake,
            fid,
        } => {
            out += &format!(
                "Inception score {:.4} ± {:.4} ({splits} splits; {})\n",
                is.mean,
                is.std,
                fake.describe()
            );
            if let Some((f, real)) = fid {
                let fallback = if f.offset_used {
                    "; 1e-6 I added to both covariances"
                } else {
                    ""
                };
                out += &format!(
                    "FID {:.4} (fake: {}; real: {real}{fallback})\n",
                    f.value,
                    fake.describe()
                );
            }
        }
    }
    Ok(out)
}

fn paper_command(c: PaperCommand) -> anyhow::Result<String> {
    let all = |v: Vec<Method>, default: &[Method]| if v.is_empty() { default.to_vec() } else { v };
    let report = match c {
        PaperCommand::Fig9 {
            common,
            run,
            method,
        } => {
            run::check_device(common.exec.device)?;
            paper::fig9(&paper::Fig9Request {
                out: common.out.clone(),
                run,
                method,
                scale: common.scale(),
            })?
        }
        PaperCommand::Robustness {
            common,
            methods,
            settings,
            n_fake,
            inception_weights,
        } => {
            run::check_device(common.exec.device)?;
            paper::robustness(&paper::RobustnessRequest {
                out: common.out.clone(),
                methods: all(methods, &Method::ALL),
                settings: if settings.is_empty() {
                    Setting::TABLE_1.to_vec()
                } else {
                    settings
                },
                n_fake: n_fake.unwrap_or(if common.full { 5_000 } else { 1_000 }),
                inception_weights,
                scale: common.scale(),
            })?
        }
        PaperCommand::Spectra {
            common,
            methods,
            setting,
        } => {
            run::check_device(common.exec.device)?;
            paper::spectra(&paper::SpectraRequest {
                out: common.out.clone(),
                methods: all(methods, &Method::ALL),
                setting,
                scale: common.scale(),
            })?
        }
        PaperCommand::Cost {
            out,
            methods,
            size,
            full,
            data_dir,
            steps,
            warmup,
            reps,
            exec,
        } => paper::cost(&paper::CostRequest {
            out,
            methods: all(
                methods,
                &[Method::Vanilla, Method::Wn, Method::Sn, Method::WganGp],
            ),
            arch: size.unwrap_or(if full {
                CostArch::Cifar
            } else {
                CostArch::Digits
            }),
            data_dir,
            steps: steps.unwrap_or(if full { 100 } else { 20 }),
            warmup,
            reps,
            device: exec.device,
            progress: !exec.quiet,
        })?,
        PaperCommand::Table2 {
            out,
            method,
            dataset,
            data_dir,
            inception_weights,
            fid_stats,
            arch,
            loss,
            setting,
            steps,
            n_real,
            n_fake,
            exec,
        } => paper::table2(&paper::Table2Request {
            out,
            method,
            dataset,
            data_dir,
            inception_weights,
            fid_stats,
            arch,
            loss,
            setting,
            steps,
            n_real,
            n_fake,
            opts: exec.options(),
        })?,
        PaperCommand::DigitsMetric { out } => paper::digits_metric(&out)?,
    };
    let mut text = report.text;
    text.push('\n');
    for f in &report.files {
        text += &format!("wrote {}\n", f.display());
    }
    Ok(text)
}

fn main() -> ExitCode {
    sngan::alloc::keep_freed_memory();
    let cli = Cli::parse();
    // On a thread of the kernels' pool: see `on_kernel_threads` (5% off a training step).
    let result = sngan::device::on_kernel_threads(move || match cli.command {
        Command::Train(a) => train(*a),
        Command::Resume {
            run_dir,
            steps,
            exec,
        } => run::resume(&run_dir, steps, exec.options())
            .map(report)
            .map_err(Into::into),
        Command::Sample {
            run_dir,
            n,
            format,
            out,
            seed,
        } => sample(
            run_dir,
            SampleRequest {
                n,
                format,
                out,
                seed,
            },
        ),
        Command::Eval { run_dir, metrics } => eval(run_dir, metrics),
        Command::Plot { run_dir } => sngan::plot::plot_run(&run_dir)
            .map(|paths| {
                paths
                    .iter()
                    .map(|p| format!("plot {}\n", p.display()))
                    .collect()
            })
            .map_err(Into::into),
        Command::Paper(c) => paper_command(c),
    });
    match result {
        Ok(text) => {
            // A closed pipe (`sngan eval RUN | head -1`) is not an error.
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "sngan: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
