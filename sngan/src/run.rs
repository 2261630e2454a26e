//! Training runs on disk: what the `sngan` command does, as library functions.
//!
//! A run directory holds
//!
//! | file | written |
//! | --- | --- |
//! | `config.json` | once, before the first step ([`RunConfig`]); `resume --steps` updates `steps` |
//! | `ckpt-STEP.safetensors` | every `checkpoint_every` steps and at the end; the newest `keep_last` are kept |
//! | `metrics.jsonl` | one [`MetricsLine`] every `sigma_every` steps |
//! | `samples/STEP.png` | every `sample_every` steps and at the end: 64 images from a fixed z |
//! | `plots/losses.png`, `plots/sigma.png` | at the end ([`crate::plot::plot_run`]) |
//!
//! Checkpoints are written atomically, so a run killed at any moment (even by SIGKILL) leaves
//! its newest complete checkpoint loadable; [`resume`] continues from it, dropping the lines of
//! `metrics.jsonl` that are newer than it. The model types are chosen from the configuration at
//! run time and every command is one generic function monomorphized per architecture
//! ([`RunConfig::arch`], [`RunConfig::width`], image size).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dfdx::prelude::*;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::baselines::Method;
use crate::checkpoint;
use crate::config::{Arch, Dataset, DeviceKind, RunConfig, SampleFormat, Width};
use crate::data::{digits, Batches, ImageSource, Position};
use crate::datasets::{Cifar10, Cifar10Split, ImageFolder, Stl10, Stl10Split};
use crate::nets::method::*;
use crate::nets::resnet::*;
use crate::nets::std_cnn::*;
use crate::nets::{Discriminator, Generator};
use crate::train::{StepStats, Trainer};
use crate::viz::save_grid;
use crate::{ConvDevice, Error};

/// The metrics file of a run directory.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Images in every `samples/STEP.png` grid.
pub const GRID_SAMPLES: usize = 64;
/// Mixed into the run's seed for the fixed z of the sample grids.
const GRID_Z_SEED: u64 = 0x6A09_E667_F3BC_C908;
/// Images generated per forward pass by [`sample`].
const SAMPLE_CHUNK: usize = 64;

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsLine {
    /// Generator updates done.
    pub step: usize,
    /// Discriminator loss of this step (mean over its n_dis updates).
    pub d_loss: f32,
    /// Generator loss of this step.
    pub g_loss: f32,
    /// σ(W̄) of every discriminator layer, exact (the Fig. 9 measurement), in the order of
    /// [`RunConfig::layer_names`].
    pub sigma: Vec<f64>,
    /// Adam's α of this step.
    pub lr: f64,
    /// Seconds of training since the run started (summed over resumed sessions).
    pub wall_s: f64,
}

/// `metrics.jsonl` in `run_dir`.
pub fn metrics_path(run_dir: &Path) -> PathBuf {
    run_dir.join(METRICS_FILE)
}

/// The lines of `run_dir/metrics.jsonl` (none if it does not exist yet). A torn last line,
/// which a killed run can leave, is skipped.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Data`] naming the file and line of a line
/// other than the last that does not parse.
pub fn read_metrics(run_dir: &Path) -> Result<Vec<MetricsLine>, Error> {
    let path = metrics_path(run_dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Io(format!("{}: cannot read: {e}", path.display()))),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(m) => out.push(m),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => {
                return Err(Error::Data(format!(
                    "{}:{}: not a metrics line: {e}",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    Ok(out)
}

/// How a command runs, beyond the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Where to compute.
    pub device: DeviceKind,
    /// Show a progress bar (on a terminal) and a log line every `sigma_every` steps.
    pub progress: bool,
}

/// What [`train`] or [`resume`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// Generator updates done when the command started.
    pub start_step: usize,
    /// Generator updates done now.
    pub step: usize,
    /// The newest checkpoint.
    pub checkpoint: PathBuf,
    /// The last step's statistics (`None` if no step ran).
    pub last: Option<StepStats>,
    /// Seconds spent in training steps in this command.
    pub seconds: f64,
    /// The plots written at the end.
    pub plots: Vec<PathBuf>,
}

/// What `sngan sample` writes.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRequest {
    /// Number of images.
    pub n: usize,
    /// Output format.
    pub format: SampleFormat,
    /// Output path (a file for `grid` and `npy`, a folder for `pngs`); `None`: in the run
    /// directory, named after the checkpoint's step.
    pub out: Option<PathBuf>,
    /// Seed of the z drawn.
    pub seed: u64,
}

/// What [`sample`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleOutput {
    /// The file or folder written.
    pub path: PathBuf,
    /// The checkpoint the generator came from.
    pub checkpoint: PathBuf,
    /// Its step.
    pub step: usize,
    /// Images written.
    pub n: usize,
    /// Image side M.
    pub m: usize,
}

/// σ(W̄) of every discriminator layer of a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct SigmaReport {
    /// The checkpoint.
    pub checkpoint: PathBuf,
    /// Its step.
    pub step: usize,
    /// (layer name, σ(W̄)) in layer order.
    pub sigmas: Vec<(&'static str, f64)>,
}

/// Starts a new run of `config` in `run_dir` and trains it to `config.steps`.
///
/// The dataset is opened first; then `run_dir` is created and `config.json` written. A NaN or
/// infinite loss stops the run with [`Error::NonFinite`] naming the step; the checkpoints
/// written before it stay as they are.
///
/// # Errors
/// [`Error::Config`] for an invalid configuration or a `run_dir` that already holds a run;
/// the dataset's errors; [`Error::Io`] naming a file that could not be written;
/// [`Error::NonFinite`]; the device's errors.
pub fn train(config: &RunConfig, run_dir: &Path, opts: RunOptions) -> Result<TrainSummary, Error> {
    config.validate()?;
    let cfg_path = RunConfig::path(run_dir);
    if cfg_path.exists() {
        return Err(Error::Config(format!(
            "{} already holds a run ({} exists): continue it with `sngan resume {}` or choose \
             another --out",
            run_dir.display(),
            cfg_path.display(),
            run_dir.display()
        )));
    }
    let task = Task::Train {
        resume: false,
        steps: None,
        progress: opts.progress,
    };
    match dispatch(config, run_dir, opts.device, task)? {
        Outcome::Trained(s) => Ok(s),
        _ => unreachable!("a training task returns Trained"),
    }
}

/// Continues the run in `run_dir` from its newest checkpoint (from step 0 if it has none) to
/// `steps` generator updates (default: the configuration's), with the data stream at the
/// checkpoint's position. A run already at its target step returns at once.
///
/// # Errors
/// As [`train`], and [`Error::Checkpoint`] naming a checkpoint that does not load, or
/// [`Error::Config`] for a `steps` below the checkpoint's step.
pub fn resume(
    run_dir: &Path,
    steps: Option<usize>,
    opts: RunOptions,
) -> Result<TrainSummary, Error> {
    let mut config = RunConfig::load(run_dir)?;
    if let Some(n) = steps {
        config.steps = n;
        config.validate()?;
    }
    let task = Task::Train {
        resume: true,
        steps,
        progress: opts.progress,
    };
    match dispatch(&config, run_dir, opts.device, task)? {
        Outcome::Trained(s) => Ok(s),
        _ => unreachable!("a training task returns Trained"),
    }
}

/// Generates `req.n` images with the generator (evaluation mode) of the newest checkpoint in
/// `run_dir` and writes them as `req.format`.
///
/// # Errors
/// [`RunConfig::load`]'s errors, [`Error::Checkpoint`] if there is no checkpoint or it does not
/// load, [`Error::Io`] naming a file that could not be written.
pub fn sample(run_dir: &Path, req: &SampleRequest) -> Result<SampleOutput, Error> {
    if req.n == 0 {
        return Err(Error::Config("--n must be at least 1".into()));
    }
    let config = RunConfig::load(run_dir)?;
    match dispatch(&config, run_dir, DeviceKind::Cpu, Task::Sample(req))? {
        Outcome::Sampled(s) => Ok(s),
        _ => unreachable!("a sampling task returns Sampled"),
    }
}

/// σ(W̄) of every discriminator layer of the newest checkpoint in `run_dir`.
///
/// # Errors
/// [`RunConfig::load`]'s errors, [`Error::Checkpoint`] if there is no checkpoint or it does not
/// load.
pub fn eval(run_dir: &Path) -> Result<SigmaReport, Error> {
    let config = RunConfig::load(run_dir)?;
    match dispatch(&config, run_dir, DeviceKind::Cpu, Task::Eval)? {
        Outcome::Sigmas(s) => Ok(s),
        _ => unreachable!("an evaluation task returns Sigmas"),
    }
}

/// The singular values of one discriminator layer's effective matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpectrum {
    /// The layer's name (as in [`RunConfig::layer_names`]).
    pub name: String,
    /// All min(rows, cols) singular values of the d_out × (d_in·k·k) matrix the layer applies
    /// (see [`crate::baselines::effective_matrices`]), descending.
    pub singular_values: Vec<f64>,
}

/// The full singular values of every discriminator layer's effective matrix (W̄ for SN, γ·W̄
/// for SN-γ, W/‖row‖ for weight normalization, W otherwise) in the newest checkpoint of
/// `run_dir`, in layer order. Read from the file alone: no network is built.
///
/// # Errors
/// [`RunConfig::load`]'s errors; [`Error::Checkpoint`] if there is no checkpoint, or it does
/// not read or lacks a layer's tensors.
pub fn spectra(run_dir: &Path) -> Result<Vec<LayerSpectrum>, Error> {
    let config = RunConfig::load(run_dir)?;
    let path = checkpoint::latest(run_dir).ok_or_else(|| {
        Error::Checkpoint(format!(
            "{}: none found (no ckpt-STEP.safetensors in the run directory yet)",
            run_dir.display()
        ))
    })?;
    let tensors = checkpoint::read_tensors(&path, "d.")?;
    let matrices =
        crate::baselines::effective_matrices(config.method, config.layer_names(), &tensors)
            .map_err(|e| Error::Checkpoint(format!("{}: {e}", path.display())))?;
    Ok(matrices
        .into_iter()
        .map(|m| LayerSpectrum {
            singular_values: m.singular_values(),
            name: m.name,
        })
        .collect())
}

/// Images drawn from a checkpoint's generator, in memory (for IS and FID).
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The checkpoint the generator came from.
    pub checkpoint: PathBuf,
    /// Its step.
    pub step: usize,
    /// Image side M.
    pub m: usize,
    /// `n` images, NCHW float32 in [−1, 1] (the generator's tanh, unquantized).
    pub images: Vec<f32>,
}

/// Draws `n` images from the generator (evaluation mode) of the newest checkpoint in
/// `run_dir`, with the z of [`sample`] for the same `seed`.
///
/// # Errors
/// As [`sample`], without the file errors.
pub fn generate(run_dir: &Path, n: usize, seed: u64) -> Result<Generated, Error> {
    if n == 0 {
        return Err(Error::Config(
            "the number of images must be at least 1".into(),
        ));
    }
    let config = RunConfig::load(run_dir)?;
    match dispatch(
        &config,
        run_dir,
        DeviceKind::Cpu,
        Task::Generate { n, seed },
    )? {
        Outcome::Generated(g) => Ok(g),
        _ => unreachable!("a generation task returns Generated"),
    }
}

/// Seconds taken by `steps` generator updates (each with its `n_dis` discriminator updates) of
/// a fresh model of `config` on `device`, after `warmup` untimed updates (allocation, kernel
/// selection). Nothing is written. With `random_data` the images are 256 fixed uniform-noise
/// images of the configuration's size instead of its dataset (for timing without the data).
///
/// Every update reads its losses back to the host, so the clock stops when the device is done.
///
/// # Errors
/// [`Error::Config`] for an invalid configuration or `steps == 0`; the dataset's, device's and
/// training's errors (e.g. [`Error::NonFinite`]).
pub fn time_steps(
    config: &RunConfig,
    device: DeviceKind,
    warmup: usize,
    steps: usize,
    random_data: bool,
) -> Result<f64, Error> {
    config.validate()?;
    if steps == 0 {
        return Err(Error::Config("timing needs at least 1 step".into()));
    }
    let task = Task::Time {
        warmup,
        steps,
        random_data,
    };
    match dispatch(config, Path::new(""), device, task)? {
        Outcome::Timed(s) => Ok(s),
        _ => unreachable!("a timing task returns Timed"),
    }
}

/// Writes `values` as a NumPy `.npy` file (format 1.0, little-endian float32, C order) of
/// `shape`, atomically.
///
/// # Errors
/// [`Error::Config`] if `shape` does not multiply to `values.len()`; [`Error::Io`] naming the
/// file.
pub fn write_npy(path: &Path, values: &[f32], shape: &[usize]) -> Result<(), Error> {
    if shape.iter().product::<usize>() != values.len() {
        return Err(Error::Config(format!(
            "{}: shape {shape:?} does not hold {} values",
            path.display(),
            values.len()
        )));
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
    let pad = (64 - (10 + header.len() + 1) % 64) % 64;
    header.extend(std::iter::repeat_n(' ', pad));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    checkpoint::write_atomic(path, &bytes)
}

// ---------------------------------------------------------------------------------------------
// Dispatch from the configuration to the concrete network types.

/// Table 3 sizes that `nets::std_cnn` does not name, defined with its macros.
#[allow(dead_code)]
mod more_nets {
    crate::std_cnn_discriminator!(
        /// Table 3 discriminator at ¼ width for STL-10 (M = 48).
        StdCnnDiscriminator48Quarter, m = 48, ch = [16, 16, 32, 32, 64, 64, 128], slope = 0.1,
        variant = Paper
    );
    crate::std_cnn_discriminator!(
        /// chainer-gan-lib's `SNDCGANDiscriminator` at ¼ width (M = 32).
        StdCnnDiscriminator32RefQuarter, m = 32, ch = [16, 32, 32, 64, 64, 128, 128],
        slope = 0.2, variant = Reference
    );
    crate::std_cnn_discriminator!(
        /// chainer-gan-lib's `SNDCGANDiscriminator` at ¼ width (M = 48).
        StdCnnDiscriminator48RefQuarter, m = 48, ch = [16, 32, 32, 64, 64, 128, 128],
        slope = 0.2, variant = Reference
    );
    crate::std_cnn_generator!(
        /// Table 3 generator at ¼ width for STL-10 (M = 48).
        StdCnnGenerator48Quarter, m = 48, ch = [128, 64, 32, 16], variant = Paper
    );
    crate::std_cnn_generator!(
        /// chainer-gan-lib's `DCGANGenerator` at ¼ width (M = 32).
        StdCnnGenerator32RefQuarter, m = 32, ch = [128, 64, 32, 16], variant = Reference
    );
    crate::std_cnn_generator!(
        /// chainer-gan-lib's `DCGANGenerator` at ¼ width (M = 48).
        StdCnnGenerator48RefQuarter, m = 48, ch = [128, 64, 32, 16], variant = Reference
    );
}

use more_nets::*;

enum Task<'a> {
    Train {
        resume: bool,
        steps: Option<usize>,
        progress: bool,
    },
    Sample(&'a SampleRequest),
    Generate {
        n: usize,
        seed: u64,
    },
    Eval,
    Time {
        warmup: usize,
        steps: usize,
        random_data: bool,
    },
}

enum Outcome {
    Trained(TrainSummary),
    Sampled(SampleOutput),
    Sigmas(SigmaReport),
    Generated(Generated),
    Timed(f64),
}

/// Checks that this build can compute on `device`.
///
/// # Errors
/// [`Error::Config`] for `cuda` in a build without the `cuda` feature.
pub fn check_device(device: DeviceKind) -> Result<(), Error> {
    match device {
        DeviceKind::Cuda if cfg!(not(feature = "cuda")) => Err(no_cuda()),
        _ => Ok(()),
    }
}

fn no_cuda() -> Error {
    Error::Config(
        "--device cuda: this sngan was built without CUDA support; rebuild with \
         `cargo build --release -p sngan --features cuda`"
            .into(),
    )
}

fn dispatch(
    config: &RunConfig,
    run_dir: &Path,
    device: DeviceKind,
    task: Task<'_>,
) -> Result<Outcome, Error> {
    match device {
        // dfdx's allocation cache stays off: measured with the project's kernels (table3_step
        // --cache, 2 cores) it saved ≈ 5% CPU time and 30% of page faults but raised peak
        // memory from 0.85 GB to 2.1 GB, above PyTorch's 1.2 GB for the same steps.
        DeviceKind::Cpu => dispatch_on(Cpu::seed_from_u64(config.seed), config, run_dir, task),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            let dev = dfdx::tensor::Cuda::try_seed_from_u64(config.seed)?;
            dispatch_on(dev, config, run_dir, task)
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => Err(no_cuda()),
    }
}

fn dispatch_on<D: ConvDevice>(
    dev: D,
    config: &RunConfig,
    run_dir: &Path,
    task: Task<'_>,
) -> Result<Outcome, Error> {
    let job = Job {
        config,
        run_dir,
        task,
    };
    macro_rules! go {
        ($m:literal, $g:ident, $d:ident) => {
            job.run::<$m, $g<f32, D>, $d<true, f32, D>, D>(dev)
        };
    }
    use {Arch::*, Width::*};
    if config.method != Method::Sn {
        // Every baseline runs on one discriminator type per size and width (the method is a
        // run-time field): nine more monomorphizations of the training loop, not ninety.
        macro_rules! go_method {
            ($m:literal, $g:ident, $d:ident) => {
                job.run::<$m, $g<f32, D>, $d<f32, D>, D>(dev)
            };
        }
        return match (config.image_size(), config.arch, config.width) {
            (16, StdCnn, Quarter) => go_method!(
                16,
                StdCnnGenerator16Quarter,
                StdCnnMethodDiscriminator16Quarter
            ),
            (32, StdCnn, Full) => go_method!(32, StdCnnGenerator32, StdCnnMethodDiscriminator32),
            (32, StdCnn, Quarter) => go_method!(
                32,
                StdCnnGenerator32Quarter,
                StdCnnMethodDiscriminator32Quarter
            ),
            (32, StdCnnRef, Full) => {
                go_method!(32, StdCnnGenerator32Ref, StdCnnMethodDiscriminator32Ref)
            }
            (32, StdCnnRef, Quarter) => go_method!(
                32,
                StdCnnGenerator32RefQuarter,
                StdCnnMethodDiscriminator32RefQuarter
            ),
            (48, StdCnn, Full) => go_method!(48, StdCnnGenerator48, StdCnnMethodDiscriminator48),
            (48, StdCnn, Quarter) => go_method!(
                48,
                StdCnnGenerator48Quarter,
                StdCnnMethodDiscriminator48Quarter
            ),
            (48, StdCnnRef, Full) => {
                go_method!(48, StdCnnGenerator48Ref, StdCnnMethodDiscriminator48Ref)
            }
            (48, StdCnnRef, Quarter) => go_method!(
                48,
                StdCnnGenerator48RefQuarter,
                StdCnnMethodDiscriminator48RefQuarter
            ),
            (_, ResNet, _) => Err(Error::Config(format!(
                "--method {} is implemented for the standard CNN (--arch std-cnn or \
                 std-cnn-ref) only; the ResNets run with spectral normalization (--method sn)",
                config.method
            ))),
            (m, arch, width) => Err(Error::Config(format!(
                "no {arch} network at {width} width for {m}x{m} images"
            ))),
        };
    }
    match (config.image_size(), config.arch, config.width) {
        (16, StdCnn, Quarter) => go!(16, StdCnnGenerator16Quarter, StdCnnDiscriminator16Quarter),
        (32, StdCnn, Full) => go!(32, StdCnnGenerator32, StdCnnDiscriminator32),
        (32, StdCnn, Quarter) => go!(32, StdCnnGenerator32Quarter, StdCnnDiscriminator32Quarter),
        (32, StdCnnRef, Full) => go!(32, StdCnnGenerator32Ref, StdCnnDiscriminator32Ref),
        (32, StdCnnRef, Quarter) => {
            go!(
                32,
                StdCnnGenerator32RefQuarter,
                StdCnnDiscriminator32RefQuarter
            )
        }
        (48, StdCnn, Full) => go!(48, StdCnnGenerator48, StdCnnDiscriminator48),
        (48, StdCnn, Quarter) => go!(48, StdCnnGenerator48Quarter, StdCnnDiscriminator48Quarter),
        (48, StdCnnRef, Full) => go!(48, StdCnnGenerator48Ref, StdCnnDiscriminator48Ref),
        (48, StdCnnRef, Quarter) => {
            go!(
                48,
                StdCnnGenerator48RefQuarter,
                StdCnnDiscriminator48RefQuarter
            )
        }
        (16, ResNet, Quarter) => go!(16, ResNetGenerator16Quarter, ResNetDiscriminator16Quarter),
        (32, ResNet, Full) => go!(32, ResNetGenerator32, ResNetDiscriminator32),
        (32, ResNet, Quarter) => go!(32, ResNetGenerator32Quarter, ResNetDiscriminator32Quarter),
        (48, ResNet, Full) => go!(48, ResNetGenerator48, ResNetDiscriminator48),
        (48, ResNet, Quarter) => go!(48, ResNetGenerator48Quarter, ResNetDiscriminator48Quarter),
        (m, arch, width) => Err(Error::Config(format!(
            "no {arch} network at {width} width for {m}x{m} images (supported: 16x16 std-cnn or \
             resnet at quarter width for the digits; 32x32 and 48x48 with any architecture and \
             width)"
        ))),
    }
}

/// Any image source, boxed (the dataset is chosen at run time).
struct Source<const M: usize>(Box<dyn ImageSource<M>>);

impl<const M: usize> ImageSource<M> for Source<M> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error> {
        self.0.read(i, out)
    }
}

/// CIFAR-10 behind a generic `M` (opened only when `M == 32`).
struct Cifar32(Cifar10);

impl<const M: usize> ImageSource<M> for Cifar32 {
    fn len(&self) -> usize {
        ImageSource::<32>::len(&self.0)
    }
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error> {
        ImageSource::<32>::read(&self.0, i, out)
    }
}

fn open_source<const M: usize>(dataset: &Dataset) -> Result<Source<M>, Error> {
    Ok(Source(match dataset {
        Dataset::Digits => Box::new(digits::<M>()),
        Dataset::Cifar10 { dir } => {
            if M != 32 {
                return Err(Error::Config(format!(
                    "CIFAR-10 images are 32x32, not {M}x{M}"
                )));
            }
            Box::new(Cifar32(Cifar10::open(dir, Cifar10Split::Train)?))
        }
        Dataset::Stl10 { dir } => Box::new(Stl10::<M>::open(dir, Stl10Split::Unlabeled)?),
        Dataset::Folder { dir, .. } => Box::new(ImageFolder::<M>::open(dir)?),
    }))
}

struct Job<'a> {
    config: &'a RunConfig,
    run_dir: &'a Path,
    task: Task<'a>,
}

impl Job<'_> {
    fn run<const M: usize, G, Dis, D>(self, dev: D) -> Result<Outcome, Error>
    where
        D: ConvDevice,
        G: Generator<M, D>,
        Dis: Discriminator<M, D>,
    {
        match self.task {
            Task::Train {
                resume,
                steps,
                progress,
            } => {
                // The dataset first: a missing one should leave nothing behind.
                let source = open_source::<M>(&self.config.dataset)?;
                if !resume {
                    fs::create_dir_all(self.run_dir).map_err(|e| {
                        Error::Io(format!("create {}: {e}", self.run_dir.display()))
                    })?;
                    self.config.save(self.run_dir)?;
                }
                let mut t = Trainer::<M, G, Dis, D>::with_method(
                    dev,
                    self.config.train_options(),
                    self.config.method,
                )?;
                let session = Session {
                    config: self.config,
                    run_dir: self.run_dir,
                    progress,
                };
                session
                    .train(&mut t, source, resume, steps)
                    .map(Outcome::Trained)
            }
            Task::Sample(req) => {
                let mut t = Trainer::<M, G, Dis, D>::with_method(
                    dev,
                    self.config.train_options(),
                    self.config.method,
                )?;
                let checkpoint = load_latest(&mut t, self.run_dir)?;
                write_samples(&t, req, self.run_dir, checkpoint).map(Outcome::Sampled)
            }
            Task::Generate { n, seed } => {
                let mut t = Trainer::<M, G, Dis, D>::with_method(
                    dev,
                    self.config.train_options(),
                    self.config.method,
                )?;
                let checkpoint = load_latest(&mut t, self.run_dir)?;
                Ok(Outcome::Generated(Generated {
                    checkpoint,
                    step: t.step,
                    m: M,
                    images: generate_images(&t, n, seed)?,
                }))
            }
            Task::Time {
                warmup,
                steps,
                random_data,
            } => {
                let source = if random_data {
                    use rand::{Rng, SeedableRng};
                    let mut rng = rand::rngs::StdRng::seed_from_u64(self.config.seed);
                    let pixels = (0..256 * 3 * M * M)
                        .map(|_| rng.gen_range(-1.0f32..1.0))
                        .collect();
                    Source(Box::new(crate::data::InMemory::<M>::new(pixels)?))
                } else {
                    open_source::<M>(&self.config.dataset)?
                };
                let mut t = Trainer::<M, G, Dis, D>::new(dev, self.config.train_options())?;
                let mut data = Batches::new(source, self.config.seed)?;
                for _ in 0..warmup {
                    t.train_step(&mut data)?;
                }
                let started = Instant::now();
                for _ in 0..steps {
                    t.train_step(&mut data)?;
                }
                Ok(Outcome::Timed(started.elapsed().as_secs_f64()))
            }
            Task::Eval => {
                let mut t = Trainer::<M, G, Dis, D>::with_method(
                    dev,
                    self.config.train_options(),
                    self.config.method,
                )?;
                let checkpoint = load_latest(&mut t, self.run_dir)?;
                let sigmas = t.sigmas_of_normalized()?;
                Ok(Outcome::Sigmas(SigmaReport {
                    checkpoint,
                    step: t.step,
                    sigmas: Dis::LAYERS.iter().copied().zip(sigmas).collect(),
                }))
            }
        }
    }
}

/// Loads the newest checkpoint of `run_dir` into `t`; returns its path.
fn load_latest<const M: usize, G, Dis, D>(
    t: &mut Trainer<M, G, Dis, D>,
    run_dir: &Path,
) -> Result<PathBuf, Error>
where
    D: ConvDevice,
    G: Generator<M, D>,
    Dis: Discriminator<M, D>,
{
    let path = checkpoint::latest(run_dir).ok_or_else(|| {
        Error::Checkpoint(format!(
            "{}: none found (no ckpt-STEP.safetensors in the run directory yet)",
            run_dir.display()
        ))
    })?;
    t.load_checkpoint(&path)?;
    Ok(path)
}

/// `n_images` images from the run's generator for evaluation (the moving average when the run
/// keeps one), z seeded by `seed` chunk by chunk.
fn generate_images<const M: usize, G, Dis, D>(
    t: &Trainer<M, G, Dis, D>,
    n_images: usize,
    seed: u64,
) -> Result<Vec<f32>, Error>
where
    D: ConvDevice,
    G: Generator<M, D>,
    Dis: Discriminator<M, D>,
{
    let mut images = Vec::with_capacity(n_images * 3 * M * M);
    // z of chunk k comes from (seed, k): the first N images do not depend on how many follow.
    for (k, start) in (0..n_images).step_by(SAMPLE_CHUNK).enumerate() {
        let n = SAMPLE_CHUNK.min(n_images - start);
        let seed = seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let z = t.sample_z(n, seed)?;
        images.extend(
            t.g_for_eval()
                .forward_eval(z)
                .map_err(D::into_error)?
                .as_vec(),
        );
    }
    Ok(images)
}

fn write_samples<const M: usize, G, Dis, D>(
    t: &Trainer<M, G, Dis, D>,
    req: &SampleRequest,
    run_dir: &Path,
    checkpoint: PathBuf,
) -> Result<SampleOutput, Error>
where
    D: ConvDevice,
    G: Generator<M, D>,
    Dis: Discriminator<M, D>,
{
    let per = 3 * M * M;
    let images = generate_images(t, req.n, req.seed)?;
    let default_name = match req.format {
        SampleFormat::Grid => format!("sample-{:08}.png", t.step),
        SampleFormat::Pngs => format!("sample-{:08}", t.step),
        SampleFormat::Npy => format!("sample-{:08}.npy", t.step),
    };
    let path = req
        .out
        .clone()
        .unwrap_or_else(|| run_dir.join(default_name));
    let io = |p: &Path, e: std::io::Error| Error::Io(format!("{}: {e}", p.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    match req.format {
        SampleFormat::Grid => {
            let cols = (req.n as f64).sqrt().ceil() as usize;
            save_grid(&path, &images, M, cols, grid_zoom(M))?;
        }
        SampleFormat::Pngs => {
            fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
            let width = (req.n - 1).to_string().len().max(6);
            for (i, img) in images.chunks_exact(per).enumerate() {
                let mut rgb = vec![0u8; per];
                for c in 0..3 {
                    for p in 0..M * M {
                        let v = img[c * M * M + p].clamp(-1.0, 1.0);
                        rgb[p * 3 + c] = ((v + 1.0) * 127.5).round() as u8;
                    }
                }
                let file = path.join(format!("{i:0width$}.png"));
                let bytes = crate::plot::encode_png(M, M, &rgb)?;
                fs::write(&file, bytes).map_err(|e| io(&file, e))?;
            }
        }
        SampleFormat::Npy => write_npy(&path, &images, &[req.n, 3, M, M])?,
    }
    Ok(SampleOutput {
        path,
        checkpoint,
        step: t.step,
        n: req.n,
        m: M,
    })
}

/// Pixels per image pixel in sample grids: about 64 pixels a side.
fn grid_zoom(m: usize) -> usize {
    (64 / m).max(1)
}

// ---------------------------------------------------------------------------------------------
// The training loop.

struct Session<'a> {
    config: &'a RunConfig,
    run_dir: &'a Path,
    progress: bool,
}

impl Session<'_> {
    fn train<const M: usize, G, Dis, D, S>(
        &self,
        t: &mut Trainer<M, G, Dis, D>,
        source: S,
        resume: bool,
        steps_override: Option<usize>,
    ) -> Result<TrainSummary, Error>
    where
        D: ConvDevice,
        G: Generator<M, D>,
        Dis: Discriminator<M, D>,
        S: ImageSource<M>,
    {
        let (cfg, dir) = (self.config, self.run_dir);
        remove_stale_temporaries(dir);
        let mut position = Position::default();
        let mut checkpoint = None;
        if resume {
            if let Some(path) = checkpoint::latest(dir) {
                position = t.load_checkpoint(&path)?;
                checkpoint = Some(path);
            } else {
                self.say(&format!(
                    "no checkpoint in {} yet: starting from step 0",
                    dir.display()
                ));
            }
            if t.step > cfg.steps {
                return Err(Error::Config(format!(
                    "{} is at step {}, past --steps {}",
                    dir.display(),
                    t.step,
                    cfg.steps
                )));
            }
            if steps_override.is_some() {
                cfg.save(dir)?;
            }
        }
        let wall_offset = truncate_metrics(dir, t.step)?;
        let start_step = t.step;
        if t.step == cfg.steps {
            if let Some(checkpoint) = checkpoint {
                self.say(&format!(
                    "{} is already at step {} (pass --steps N to train further)",
                    dir.display(),
                    t.step
                ));
                return Ok(TrainSummary {
                    start_step,
                    step: t.step,
                    checkpoint,
                    last: None,
                    seconds: 0.0,
                    plots: Vec::new(),
                });
            }
        }

        let mut data = Batches::at(source, cfg.seed, position)?;
        let samples_dir = dir.join("samples");
        fs::create_dir_all(&samples_dir)
            .map_err(|e| Error::Io(format!("create {}: {e}", samples_dir.display())))?;
        let z_grid = t.sample_z(GRID_SAMPLES, cfg.seed ^ GRID_Z_SEED)?;
        let metrics = metrics_path(dir);
        let mut metrics_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&metrics)
            .map_err(|e| Error::Io(format!("open {}: {e}", metrics.display())))?;

        let bar = self.progress_bar(start_step, cfg.steps);
        let started = Instant::now();
        let mut last = None;
        while t.step < cfg.steps {
            let stats = match t.train_step(&mut data) {
                Ok(s) => s,
                Err(Error::NonFinite(what)) => {
                    bar.abandon();
                    let kept = checkpoint.as_ref().map_or_else(
                        || "no checkpoint had been written".to_string(),
                        |p| format!("the last good checkpoint {} is kept", p.display()),
                    );
                    return Err(Error::NonFinite(format!(
                        "{what}; training of {} stopped; {kept}",
                        dir.display()
                    )));
                }
                Err(e) => {
                    bar.abandon();
                    return Err(e);
                }
            };
            let step = stats.step;
            let done = step == cfg.steps;
            bar.inc(1);
            bar.set_message(format!("D {:.4}  G {:.4}", stats.d_loss, stats.g_loss));
            if step % cfg.sigma_every == 0 || done {
                let line = MetricsLine {
                    step,
                    d_loss: stats.d_loss,
                    g_loss: stats.g_loss,
                    sigma: t.sigmas_of_normalized()?,
                    lr: stats.lr,
                    wall_s: wall_offset + started.elapsed().as_secs_f64(),
                };
                let mut text = serde_json::to_string(&line)
                    .map_err(|e| Error::Io(format!("{}: {e}", metrics.display())))?;
                text.push('\n');
                metrics_file
                    .write_all(text.as_bytes())
                    .map_err(|e| Error::Io(format!("write {}: {e}", metrics.display())))?;
                if self.progress {
                    let (lo, hi) = line
                        .sigma
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &s| {
                            (a.min(s), b.max(s))
                        });
                    let rate = (step - start_step) as f64 / started.elapsed().as_secs_f64();
                    bar.suspend(|| {
                        log(&format!(
                            "step {step}/{}  D {:.4}  G {:.4}  σ(W̄) {lo:.4}..{hi:.4}  lr {:.2e}  \
                             {rate:.2} steps/s",
                            cfg.steps, line.d_loss, line.g_loss, line.lr
                        ))
                    });
                }
            }
            if step % cfg.sample_every == 0 || done {
                let x = t.g.forward_eval(z_grid.clone()).map_err(D::into_error)?;
                let path = samples_dir.join(format!("{step:08}.png"));
                save_grid(&path, &x.as_vec(), M, 8, grid_zoom(M))?;
                if let Some(ema) = &t.ema {
                    let x = ema.g.forward_eval(z_grid.clone()).map_err(D::into_error)?;
                    let path = samples_dir.join(format!("{step:08}-ema.png"));
                    save_grid(&path, &x.as_vec(), M, 8, grid_zoom(M))?;
                }
            }
            if step % cfg.checkpoint_every == 0 || done {
                let path = checkpoint::path_for(dir, step);
                t.save_checkpoint(&path, data.position())?;
                checkpoint::prune(dir, cfg.keep_last)?;
                checkpoint = Some(path);
            }
            last = Some(stats);
        }
        let seconds = started.elapsed().as_secs_f64();
        bar.finish();
        // The loop checkpoints its last step; only a run that took no step lacks one.
        let checkpoint = match checkpoint {
            Some(p) => p,
            None => {
                let path = checkpoint::path_for(dir, t.step);
                t.save_checkpoint(&path, data.position())?;
                path
            }
        };
        let plots = if read_metrics(dir)?.is_empty() {
            Vec::new()
        } else {
            crate::plot::plot_run(dir)?
        };
        Ok(TrainSummary {
            start_step,
            step: t.step,
            checkpoint,
            last,
            seconds,
            plots,
        })
    }

    fn progress_bar(&self, start: usize, target: usize) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(target as u64);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {pos}/{len} steps  {rate}  ETA {eta}  {msg}",
        )
        .map(|s| {
            s.progress_chars("=> ").with_key(
                "rate",
                |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.2} steps/s", s.per_sec());
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_position(start as u64);
        bar.reset_eta();
        bar
    }

    fn say(&self, msg: &str) {
        if self.progress {
            log(msg);
        }
    }
}

/// A line on stderr; a closed stderr is not an error.
fn log(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Drops the lines of `metrics.jsonl` past `step` (written after the checkpoint a run resumes
/// from) and a torn last line; returns the wall time of the last line kept.
fn truncate_metrics(run_dir: &Path, step: usize) -> Result<f64, Error> {
    let path = metrics_path(run_dir);
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(0.0);
    };
    let mut kept = String::new();
    let mut wall = 0.0;
    for line in text.lines() {
        if let Ok(m) = serde_json::from_str::<MetricsLine>(line) {
            if m.step <= step {
                kept.push_str(line);
                kept.push('\n');
                wall = m.wall_s;
            }
        }
    }
    if kept != text {
        checkpoint::write_atomic(&path, kept.as_bytes())?;
    }
    Ok(wall)
}

/// Removes the temporary files of atomic writes that a killed run left behind.
fn remove_stale_temporaries(run_dir: &Path) {
    let is_stale = |name: &str| {
        (name.starts_with('.') && name.contains(".tmp-")) || name.ends_with(".png.tmp")
    };
    for dir in [
        run_dir.to_path_buf(),
        run_dir.join("samples"),
        run_dir.join("plots"),
    ] {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if is_stale(&entry.file_name().to_string_lossy()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_parseable() {
        let dir = std::env::temp_dir().join(format!("sngan-npy-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.npy");
        let values: Vec<f32> = (0..2 * 3 * 4 * 4).map(|i| i as f32 / 100.0 - 0.5).collect();
        write_npy(&path, &values, &[2, 3, 4, 4]).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
        assert!(
            header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4, 4), }")
        );
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + len + 4 * values.len());
        let back: Vec<f32> = bytes[10 + len..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(back, values);
        assert!(write_npy(&path, &values, &[5]).is_err());
        write_npy(&path, &values[..5], &[5]).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert!(std::str::from_utf8(&bytes[10..70])
            .unwrap()
            .contains("'shape': (5,)"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn metrics_truncation_keeps_lines_up_to_the_checkpoint() {
        let dir = std::env::temp_dir().join(format!("sngan-metrics-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let line = |step| MetricsLine {
            step,
            d_loss: 1.0,
            g_loss: 0.5,
            sigma: vec![1.0; 8],
            lr: 2e-4,
            wall_s: step as f64,
        };
        let mut text: String = (1..=5)
            .map(|s| serde_json::to_string(&line(s)).unwrap() + "\n")
            .collect();
        text.push_str("{\"step\": 6, \"d_lo"); // torn by a kill
        fs::write(metrics_path(&dir), &text).unwrap();
        assert_eq!(read_metrics(&dir).unwrap().len(), 5);
        assert_eq!(truncate_metrics(&dir, 3).unwrap(), 3.0);
        let kept = read_metrics(&dir).unwrap();
        assert_eq!(kept, vec![line(1), line(2), line(3)]);
        fs::write(metrics_path(&dir), "garbage\n{}\n").unwrap();
        let e = read_metrics(&dir).unwrap_err().to_string();
        assert!(e.contains("metrics.jsonl:1"), "{e}");
        fs::remove_dir_all(dir).unwrap();
    }
}
