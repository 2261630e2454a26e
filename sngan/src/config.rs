//! The configuration of a training run, written as `config.json` in its run directory.
//!
//! Every hyperparameter of a run lives in one [`RunConfig`] whose [`Default`] is the paper's
//! standard-CNN CIFAR-10 run: Table 3's networks at full width, Table 1's setting C (α = 2e-4,
//! β1 = 0.5, β2 = 0.999, n_dis = 1), the standard loss (eq. 15), batch 64, one power-iteration
//! round per update, 100K generator updates. `sngan train` writes the configuration before the
//! first step; `sngan resume`, `sample` and `eval` rebuild the model from it.
//!
//! ```
//! use sngan::config::{Arch, Dataset, RunConfig, Width};
//! use sngan::settings::Setting;
//!
//! let paper = RunConfig::default();
//! assert_eq!((paper.setting, paper.steps, paper.power_iterations), (Setting::C, 100_000, 1));
//! let s = paper.train_settings();
//! assert_eq!((s.adam.alpha, s.adam.beta1, s.adam.beta2, s.n_dis, s.batch_size), (2e-4, 0.5, 0.999, 1, 64));
//!
//! // The embedded digits are 16 × 16 and train the ¼-width networks.
//! let digits = RunConfig::for_dataset(Dataset::Digits);
//! assert_eq!((digits.image_size(), digits.width, digits.arch), (16, Width::Quarter, Arch::StdCnn));
//! let json = serde_json::to_string(&digits).unwrap();
//! assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), digits);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::baselines::Method;
use crate::ema::EmaOptions;
use crate::loss::Loss;
use crate::settings::{Setting, TrainSettings};
use crate::train::TrainOptions;
use crate::Error;

/// Name of the configuration file in a run directory.
pub const CONFIG_FILE: &str = "config.json";

/// Where the training images come from; fixes the image side M.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dataset {
    /// The embedded 8×8 digits upscaled to 16×16 (no download; for small CPU runs).
    Digits,
    /// CIFAR-10's binary training batches in `dir` (`data_batch_1.bin` …), 32×32.
    Cifar10 {
        /// The `cifar-10-batches-bin` directory.
        dir: PathBuf,
    },
    /// STL-10's unlabeled images in `dir` (`unlabeled_X.bin`), area-averaged to 48×48 as in
    /// the paper (Table 3, M = 48).
    Stl10 {
        /// The `stl10_binary` directory.
        dir: PathBuf,
    },
    /// A folder of PNG / JPEG images, center-cropped and resized to `size` × `size`.
    Folder {
        /// The image folder.
        dir: PathBuf,
        /// The image side: 32 or 48 (the sizes of Table 3's networks).
        size: usize,
    },
}

impl Dataset {
    /// The image side M the dataset is served at.
    pub fn image_size(&self) -> usize {
        match self {
            Dataset::Digits => 16,
            Dataset::Cifar10 { .. } => 32,
            Dataset::Stl10 { .. } => 48,
            Dataset::Folder { size, .. } => *size,
        }
    }

    /// The dataset's kind.
    pub fn kind(&self) -> DatasetKind {
        match self {
            Dataset::Digits => DatasetKind::Digits,
            Dataset::Cifar10 { .. } => DatasetKind::Cifar10,
            Dataset::Stl10 { .. } => DatasetKind::Stl10,
            Dataset::Folder { .. } => DatasetKind::Folder,
        }
    }

    /// Builds a dataset from its kind, a directory and (for a folder) an image side: what the
    /// command line gives.
    ///
    /// # Errors
    /// [`Error::Config`] when a directory is missing for a dataset that needs one, given for
    /// the digits, or when a size is given for anything but a folder or is not 32 or 48.
    pub fn from_parts(
        kind: DatasetKind,
        dir: Option<PathBuf>,
        size: Option<usize>,
    ) -> Result<Self, Error> {
        if size.is_some() && kind != DatasetKind::Folder {
            return Err(Error::Config(format!(
                "--size applies to the folder dataset only; {kind} images are {}x{0}",
                match kind {
                    DatasetKind::Digits => 16,
                    DatasetKind::Cifar10 => 32,
                    _ => 48,
                }
            )));
        }
        let need_dir = |dir: Option<PathBuf>| {
            dir.ok_or_else(|| {
                Error::Config(format!(
                    "the {kind} dataset needs --data-dir DIR (its files)"
                ))
            })
        };
        Ok(match kind {
            DatasetKind::Digits => {
                if let Some(dir) = dir {
                    return Err(Error::Config(format!(
                        "the digits are embedded in the binary; --data-dir {} is not used",
                        dir.display()
                    )));
                }
                Dataset::Digits
            }
            DatasetKind::Cifar10 => Dataset::Cifar10 {
                dir: need_dir(dir)?,
            },
            DatasetKind::Stl10 => Dataset::Stl10 {
                dir: need_dir(dir)?,
            },
            DatasetKind::Folder => Dataset::Folder {
                dir: need_dir(dir)?,
                size: size.unwrap_or(32),
            },
        })
    }
}

/// The kinds of [`Dataset`], for parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// [`Dataset::Digits`].
    Digits,
    /// [`Dataset::Cifar10`].
    Cifar10,
    /// [`Dataset::Stl10`].
    Stl10,
    /// [`Dataset::Folder`].
    Folder,
}

/// Which networks: one of the two forms of Table 3's standard CNN (see
/// [`crate::nets::std_cnn::Variant`]) or the ResNets of Tables 4–5 ([`crate::nets::resnet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// The paper's Table 3 (`std-cnn`).
    #[default]
    StdCnn,
    /// chainer-gan-lib's code of Table 3 (`std-cnn-ref`).
    StdCnnRef,
    /// The ResNets of Tables 4 (32×32, and the 16×16 digits) and 5 (48×48) (`resnet`). Choosing
    /// it on the command line also chooses [`Setting::ResNet`] unless a setting is given.
    #[serde(rename = "resnet")]
    ResNet,
}

/// Channel widths: the paper's, or ¼ of them for small experiments (Fig. 4 varies widths too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Width {
    /// The paper's channel counts.
    #[default]
    Full,
    /// ¼ of the paper's channel counts.
    Quarter,
}

macro_rules! names {
    ($ty:ident, $what:literal, $($variant:ident => $name:literal),+ $(,)?) => {
        impl $ty {
            /// Every accepted name, in order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($ty::$variant => $name),+ })
            }
        }
        impl FromStr for $ty {
            type Err = Error;
            /// Parses one of [`NAMES`](Self::NAMES), ignoring ASCII case.
            fn from_str(s: &str) -> Result<Self, Error> {
                $(if s.eq_ignore_ascii_case($name) { return Ok($ty::$variant); })+
                Err(Error::Config(format!(
                    concat!("unknown ", $what, " {:?}: expected one of {}"),
                    s,
                    Self::NAMES.join(", ")
                )))
            }
        }
    };
}

names!(DatasetKind, "dataset", Digits => "digits", Cifar10 => "cifar10", Stl10 => "stl10",
    Folder => "folder");
names!(Arch, "architecture", StdCnn => "std-cnn", StdCnnRef => "std-cnn-ref",
    ResNet => "resnet");
names!(Width, "width", Full => "full", Quarter => "quarter");

/// Where a run computes (`--device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// dfdx's CPU device.
    #[default]
    Cpu,
    /// dfdx's CUDA device (only in builds with the `cuda` feature).
    Cuda,
}

names!(DeviceKind, "device", Cpu => "cpu", Cuda => "cuda");

/// How `sngan sample` writes its images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SampleFormat {
    /// One PNG grid.
    #[default]
    Grid,
    /// A folder of PNG files, one per image.
    Pngs,
    /// One `.npy` array, float32, shape (N, 3, M, M), values in [−1, 1].
    Npy,
}

names!(SampleFormat, "sample format", Grid => "grid", Pngs => "pngs", Npy => "npy");

/// [`Loss`] by name (`standard`, `hinge`, `wasserstein`), for parsing and `config.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossName {
    /// [`Loss::Standard`] (eq. 15).
    #[default]
    Standard,
    /// [`Loss::Hinge`] (eq. 16–17).
    Hinge,
    /// [`Loss::Wasserstein`] (critic without gradient penalty).
    Wasserstein,
}

names!(LossName, "loss", Standard => "standard", Hinge => "hinge", Wasserstein => "wasserstein");

impl From<LossName> for Loss {
    fn from(l: LossName) -> Loss {
        match l {
            LossName::Standard => Loss::Standard,
            LossName::Hinge => Loss::Hinge,
            LossName::Wasserstein => Loss::Wasserstein,
        }
    }
}

impl From<Loss> for LossName {
    fn from(l: Loss) -> LossName {
        match l {
            Loss::Standard => LossName::Standard,
            Loss::Hinge => LossName::Hinge,
            Loss::Wasserstein => LossName::Wasserstein,
        }
    }
}

/// [`Setting`] as its Table 1 letter (or `resnet`) in JSON.
mod setting_str {
    use super::Setting;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Setting, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Setting, D::Error> {
        let s = String::deserialize(de)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every hyperparameter of a training run. [`Default`] is the paper's standard-CNN CIFAR-10
/// run (see the module documentation); the optional overrides are `None` there, meaning the
/// value of the chosen Table 1 `setting`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The training images (fixes the image side M).
    pub dataset: Dataset,
    /// Which form of Table 3's networks.
    pub arch: Arch,
    /// Full or ¼ channel widths.
    pub width: Width,
    /// The adversarial objective (Sec. 4); the standard loss of eq. 15 in the paper's
    /// standard-CNN runs.
    pub loss: LossName,
    /// The discriminator-side method of Table 2 ([`crate::baselines`]); spectral
    /// normalization by default. Absent from the `config.json` of an `sn` run (and of runs
    /// written before methods existed, which are `sn` runs).
    #[serde(default, skip_serializing_if = "Method::is_sn")]
    pub method: Method,
    /// Table 1's optimizer setting (A–F) or `resnet`.
    #[serde(with = "setting_str")]
    pub setting: Setting,
    /// Generator updates in the whole run (100K in the paper).
    pub steps: usize,
    /// Batch size, overriding the setting's 64.
    pub batch: Option<usize>,
    /// Discriminator updates per generator update, overriding the setting's n_dis.
    pub n_dis: Option<usize>,
    /// Adam's α, overriding the setting's.
    pub lr: Option<f64>,
    /// Seed of the initialisation, of every z and of the data order.
    pub seed: u64,
    /// Power-iteration rounds per update (1 in the paper, Algorithm 1).
    pub power_iterations: usize,
    /// Power-iteration rounds run once when D is built (PyTorch runs 15).
    pub warmup_rounds: usize,
    /// Generator updates between checkpoints.
    pub checkpoint_every: usize,
    /// Checkpoints kept (the newest ones).
    pub keep_last: usize,
    /// Generator updates between sample grids (`samples/STEP.png`, fixed z).
    pub sample_every: usize,
    /// Generator updates between lines of `metrics.jsonl` (losses and σ(W̄) of every layer).
    pub sigma_every: usize,
    /// Decay of an exponential moving average of G's weights (see [`crate::ema`]), in [0, 1);
    /// `None` (the paper) keeps none. With a value, `sample` and `eval` use the average.
    #[serde(default)]
    pub ema_decay: Option<f64>,
    /// Generator updates before which the average is a plain copy of G (BigGAN's and
    /// StudioGAN's `ema_start`); used only with `ema_decay`.
    #[serde(default)]
    pub ema_start: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        let options = TrainOptions::default();
        RunConfig {
            dataset: Dataset::Cifar10 {
                dir: PathBuf::from("data/cifar-10-batches-bin"),
            },
            arch: Arch::StdCnn,
            width: Width::Full,
            loss: Setting::default().loss().into(),
            method: Method::Sn,
            setting: Setting::default(),
            steps: options.total_steps,
            batch: None,
            n_dis: None,
            lr: None,
            seed: options.seed,
            power_iterations: options.power_iterations,
            warmup_rounds: options.warmup_rounds,
            checkpoint_every: 5_000,
            keep_last: 3,
            sample_every: 1_000,
            sigma_every: 100,
            ema_decay: None,
            ema_start: 0,
        }
    }
}

/// Optional changes to a [`RunConfig`], one per command-line flag (`None`: leave as is).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// [`RunConfig::arch`].
    pub arch: Option<Arch>,
    /// [`RunConfig::width`].
    pub width: Option<Width>,
    /// [`RunConfig::loss`].
    pub loss: Option<LossName>,
    /// [`RunConfig::method`] (also sets the loss to the method's
    /// [`default_loss`](Method::default_loss), unless `loss` is given).
    pub method: Option<Method>,
    /// [`RunConfig::setting`] (also sets the loss to the setting's, unless `loss` is given).
    /// `None` with `arch: Some(Arch::ResNet)` chooses [`Setting::ResNet`], the ResNets'
    /// schedule.
    pub setting: Option<Setting>,
    /// [`RunConfig::steps`].
    pub steps: Option<usize>,
    /// [`RunConfig::batch`].
    pub batch: Option<usize>,
    /// [`RunConfig::n_dis`].
    pub n_dis: Option<usize>,
    /// [`RunConfig::lr`].
    pub lr: Option<f64>,
    /// [`RunConfig::seed`].
    pub seed: Option<u64>,
    /// [`RunConfig::power_iterations`].
    pub power_iterations: Option<usize>,
    /// [`RunConfig::checkpoint_every`].
    pub checkpoint_every: Option<usize>,
    /// [`RunConfig::keep_last`].
    pub keep_last: Option<usize>,
    /// [`RunConfig::sample_every`].
    pub sample_every: Option<usize>,
    /// [`RunConfig::sigma_every`].
    pub sigma_every: Option<usize>,
    /// [`RunConfig::ema_decay`].
    pub ema_decay: Option<f64>,
    /// [`RunConfig::ema_start`].
    pub ema_start: Option<usize>,
}

impl RunConfig {
    /// The paper's configuration for `dataset`: full width, except for the embedded digits,
    /// whose 16×16 images train the ¼-width networks for 1,200 steps (a few minutes on two
    /// cores), with samples every 100 steps, σ(W̄) every 25 and checkpoints every 400.
    pub fn for_dataset(dataset: Dataset) -> Self {
        if dataset == Dataset::Digits {
            return RunConfig {
                dataset,
                width: Width::Quarter,
                steps: 1_200,
                checkpoint_every: 400,
                sample_every: 100,
                sigma_every: 25,
                ..Default::default()
            };
        }
        RunConfig {
            dataset,
            width: Width::Full,
            ..Default::default()
        }
    }

    /// Applies every given override.
    pub fn apply(&mut self, o: &Overrides) {
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = o.$field { self.$field = v; })* };
        }
        let setting = match (o.setting, o.arch) {
            (Some(s), _) => Some(s),
            (None, Some(Arch::ResNet)) => Some(Setting::ResNet),
            (None, _) => None,
        };
        if let Some(setting) = setting {
            self.setting = setting;
            self.loss = setting.loss().into();
        }
        if let Some(method) = o.method {
            self.method = method;
            self.loss = method.default_loss();
        }
        set!(
            arch,
            width,
            loss,
            steps,
            seed,
            power_iterations,
            checkpoint_every,
            keep_last
        );
        set!(sample_every, sigma_every, ema_start);
        if o.batch.is_some() {
            self.batch = o.batch;
        }
        if o.n_dis.is_some() {
            self.n_dis = o.n_dis;
        }
        if o.lr.is_some() {
            self.lr = o.lr;
        }
        if o.ema_decay.is_some() {
            self.ema_decay = o.ema_decay;
        }
    }

    /// The image side M.
    pub fn image_size(&self) -> usize {
        self.dataset.image_size()
    }

    /// Names of the discriminator's layers, in order (the σ(W̄) columns of `metrics.jsonl`).
    pub fn layer_names(&self) -> &'static [&'static str] {
        use crate::nets::resnet::{ResNetDiscriminator32, ResNetDiscriminator48};
        match (self.arch, self.image_size()) {
            (Arch::ResNet, 48) => ResNetDiscriminator48::<true, f32, crate::Dev>::LAYERS,
            (Arch::ResNet, _) => ResNetDiscriminator32::<true, f32, crate::Dev>::LAYERS,
            (Arch::StdCnn | Arch::StdCnnRef, _) => {
                &["c0", "c1", "c2", "c3", "c4", "c5", "c6", "l7"]
            }
        }
    }

    /// The paper's hyperparameters of this run: the setting's, with the overrides applied.
    /// A batch override sets both batch sizes (the ResNet setting's generator batch stays
    /// twice D's).
    pub fn train_settings(&self) -> TrainSettings {
        let mut s = TrainSettings::from(self.setting);
        s.loss = self.loss.into();
        if let Some(b) = self.batch {
            s.g_batch_size = s.g_batch_size / s.batch_size * b;
            s.batch_size = b;
        }
        if let Some(n) = self.n_dis {
            s.n_dis = n;
        }
        if let Some(lr) = self.lr {
            s.adam.alpha = lr;
        }
        s
    }

    /// The trainer's options.
    pub fn train_options(&self) -> TrainOptions {
        TrainOptions {
            settings: self.train_settings(),
            power_iterations: self.power_iterations,
            warmup_rounds: self.warmup_rounds,
            total_steps: self.steps,
            seed: self.seed,
            ema: self.ema_decay.map(|decay| EmaOptions {
                decay,
                start: self.ema_start,
            }),
        }
    }

    /// Checks that the values are usable and that the architecture exists for the dataset's
    /// image size.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad value.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Config(m));
        for (name, v) in [
            ("steps", self.steps),
            ("batch", self.batch.unwrap_or(1)),
            ("n_dis", self.n_dis.unwrap_or(1)),
            ("power_iterations", self.power_iterations),
            ("checkpoint_every", self.checkpoint_every),
            ("keep_last", self.keep_last),
            ("sample_every", self.sample_every),
            ("sigma_every", self.sigma_every),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if let Some(lr) = self.lr {
            if !(lr.is_finite() && lr > 0.0) {
                return bad(format!("lr must be a positive number, found {lr}"));
            }
        }
        if let Some(decay) = self.ema_decay {
            if !(0.0..1.0).contains(&decay) {
                return bad(format!(
                    "ema_decay must be in [0, 1) (e.g. 0.999), found {decay}"
                ));
            }
        }
        if let Dataset::Folder { size, dir } = &self.dataset {
            if *size != 32 && *size != 48 {
                return bad(format!(
                    "folder {}: image size {size} is not supported: Table 3's networks exist \
                     for 32 and 48",
                    dir.display()
                ));
            }
        }
        if self.method != Method::Sn && self.arch == Arch::ResNet {
            return bad(format!(
                "--method {} is implemented for the standard CNN (--arch std-cnn or \
                 std-cnn-ref) only; the ResNets run with spectral normalization (--method sn)",
                self.method
            ));
        }
        if self.dataset == Dataset::Digits
            && (self.arch == Arch::StdCnnRef || self.width != Width::Quarter)
        {
            return bad(format!(
                "the digits (16x16) train --arch std-cnn or resnet at --width quarter only, not \
                 --arch {} --width {}",
                self.arch, self.width
            ));
        }
        Ok(())
    }

    /// `config.json` in `run_dir`.
    pub fn path(run_dir: &Path) -> PathBuf {
        run_dir.join(CONFIG_FILE)
    }

    /// Reads and validates `run_dir/config.json`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the directory or the file: no such run directory, no
    /// `config.json` in it, or a file that does not parse or validate.
    pub fn load(run_dir: &Path) -> Result<Self, Error> {
        if !run_dir.is_dir() {
            return Err(Error::Config(format!(
                "run directory {} does not exist (create one with `sngan train --out DIR`)",
                run_dir.display()
            )));
        }
        let path = Self::path(run_dir);
        if !path.exists() {
            return Err(Error::Config(format!(
                "{}: not found; {} is not a run directory (`sngan train --out DIR` creates one)",
                path.display(),
                run_dir.display()
            )));
        }
        let config = Self::read(&path)?;
        config
            .validate()
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Ok(config)
    }

    /// Reads a configuration file (missing fields take their defaults; nothing is validated).
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be read, [`Error::Config`] naming one that is
    /// not a configuration.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Io(format!("{}: cannot read: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Writes `run_dir/config.json` (pretty-printed), atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, run_dir: &Path) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("serializing the configuration: {e}")))?;
        text.push('\n');
        crate::checkpoint::write_atomic(&Self::path(run_dir), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_papers_standard_cnn_run() {
        let c = RunConfig::default();
        assert_eq!(c.train_options(), TrainOptions::default());
        assert_eq!(c.train_settings(), TrainSettings::default());
        assert_eq!(
            (c.arch, c.width, c.loss),
            (Arch::StdCnn, Width::Full, LossName::Standard)
        );
        assert_eq!(c.image_size(), 32);
        assert!(c.ema_decay.is_none());
        c.validate().unwrap();
    }

    #[test]
    fn json_round_trip_and_field_names() {
        let mut c = RunConfig::for_dataset(Dataset::Folder {
            dir: "imgs".into(),
            size: 48,
        });
        c.apply(&Overrides {
            setting: Some(Setting::ResNet),
            batch: Some(8),
            lr: Some(1e-3),
            ..Default::default()
        });
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""setting":"resnet""#), "{json}");
        assert!(json.contains(r#""loss":"hinge""#), "{json}");
        assert!(
            json.contains(r#""dataset":{"kind":"folder","dir":"imgs","size":48}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), c);
        let s = c.train_settings();
        assert_eq!((s.batch_size, s.g_batch_size, s.adam.alpha), (8, 16, 1e-3));
        // Missing fields take the defaults; unknown ones are errors.
        let partial: RunConfig = serde_json::from_str(r#"{"steps": 7}"#).unwrap();
        assert_eq!(partial.steps, 7);
        assert!(serde_json::from_str::<RunConfig>(r#"{"step": 7}"#).is_err());
    }

    #[test]
    fn names_parse_and_bad_values_are_named() {
        assert_eq!("STD-CNN-REF".parse::<Arch>().unwrap(), Arch::StdCnnRef);
        assert_eq!("quarter".parse::<Width>().unwrap(), Width::Quarter);
        assert_eq!("hinge".parse::<LossName>().unwrap(), LossName::Hinge);
        assert_eq!("stl10".parse::<DatasetKind>().unwrap(), DatasetKind::Stl10);
        let e = "vgg".parse::<Arch>().unwrap_err().to_string();
        assert!(e.contains("\"vgg\"") && e.contains("std-cnn-ref"), "{e}");
        for l in [Loss::Standard, Loss::Hinge, Loss::Wasserstein] {
            assert_eq!(Loss::from(LossName::from(l)), l);
        }
    }

    #[test]
    fn resnet_arch_brings_its_schedule_unless_a_setting_is_given() {
        assert_eq!("ResNet".parse::<Arch>().unwrap(), Arch::ResNet);
        assert_eq!(serde_json::to_string(&Arch::ResNet).unwrap(), r#""resnet""#);
        let mut c = RunConfig::for_dataset(Dataset::Digits);
        c.apply(&Overrides {
            arch: Some(Arch::ResNet),
            ..Default::default()
        });
        assert_eq!((c.setting, c.loss), (Setting::ResNet, LossName::Hinge));
        c.validate().unwrap();
        assert_eq!(c.layer_names().len(), 11);
        let mut c = RunConfig::default();
        c.apply(&Overrides {
            arch: Some(Arch::ResNet),
            setting: Some(Setting::B),
            ..Default::default()
        });
        assert_eq!((c.setting, c.loss), (Setting::B, LossName::Standard));
        c.dataset = Dataset::Stl10 { dir: "d".into() };
        assert_eq!(c.layer_names().len(), 16);
        assert_eq!(c.layer_names()[15], "l6");
    }

    #[test]
    fn a_method_brings_its_loss_unless_a_loss_is_given_and_sn_configs_are_unchanged() {
        let mut c = RunConfig::for_dataset(Dataset::Digits);
        let sn_json = serde_json::to_string(&c).unwrap();
        assert!(!sn_json.contains("method"), "{sn_json}");
        assert_eq!(
            serde_json::from_str::<RunConfig>(&sn_json).unwrap().method,
            Method::Sn
        );
        c.apply(&Overrides {
            method: Some(Method::WganGp),
            ..Default::default()
        });
        assert_eq!((c.method, c.loss), (Method::WganGp, LossName::Wasserstein));
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""method":"wgan-gp""#), "{json}");
        assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), c);
        c.apply(&Overrides {
            method: Some(Method::Clip),
            loss: Some(LossName::Hinge),
            ..Default::default()
        });
        assert_eq!((c.method, c.loss), (Method::Clip, LossName::Hinge));
        c.validate().unwrap();
        c.arch = Arch::ResNet;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("--method clip"), "{e}");
    }

    #[test]
    fn validation() {
        let digits = RunConfig::for_dataset(Dataset::Digits);
        digits.validate().unwrap();
        let mut c = digits.clone();
        c.width = Width::Full;
        assert!(c.validate().is_err());
        let mut c = digits.clone();
        c.checkpoint_every = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("checkpoint_every"));
        let mut c = digits.clone();
        c.lr = Some(f64::NAN);
        assert!(c.validate().is_err());
        let mut c = digits;
        c.ema_decay = Some(0.999);
        c.validate().unwrap();
        for bad in [1.0, -0.1, f64::NAN] {
            c.ema_decay = Some(bad);
            assert!(c.validate().unwrap_err().to_string().contains("ema_decay"));
        }
        let folder = RunConfig::for_dataset(Dataset::Folder {
            dir: "x".into(),
            size: 64,
        });
        assert!(folder.validate().unwrap_err().to_string().contains("64"));
        assert!(Dataset::from_parts(DatasetKind::Cifar10, None, None)
            .unwrap_err()
            .to_string()
            .contains("--data-dir"));
        assert!(Dataset::from_parts(DatasetKind::Digits, Some("d".into()), None).is_err());
        assert!(Dataset::from_parts(DatasetKind::Stl10, Some("d".into()), Some(32)).is_err());
        assert_eq!(
            Dataset::from_parts(DatasetKind::Folder, Some("d".into()), None).unwrap(),
            Dataset::Folder {
                dir: "d".into(),
                size: 32
            }
        );
    }
}
