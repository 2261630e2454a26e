//! IS and FID of a run's checkpoint: what `sngan eval` computes beside σ(W̄).

use std::path::{Path, PathBuf};

use crate::config::Dataset;
use crate::data::{digits, ImageSource};
use crate::datasets::{Cifar10, Cifar10Split, ImageFolder, Stl10, Stl10Split};
use crate::metrics::fid::{self, Fid, FidStats};
use crate::metrics::inception::{Features, InceptionV3, LOGITS, MISSING_WEIGHTS_HELP, POOL3};
use crate::metrics::is::{inception_score, InceptionScore};
use crate::metrics::{read_stats, write_stats, Protocol};
use crate::{run, Error};

/// The FID reference: published statistics or a dataset.
#[derive(Clone, Debug, PartialEq)]
pub enum Reference {
    /// A pytorch-fid `.npz` (mu, sigma), used as it is.
    Stats(PathBuf),
    /// The first `n_real` images of a dataset's split, in file order.
    Dataset {
        /// The dataset (its directory; the run's image side for STL-10 and folders).
        dataset: Dataset,
        /// cifar10: train or test; stl10: unlabeled, train or test; folder, digits: all.
        split: String,
        /// How many images.
        n_real: usize,
        /// Where to write their statistics (with the protocol), for later `Stats` use.
        save: Option<PathBuf>,
    },
}

/// What to compute.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRequest {
    /// The Inception weights file (safetensors from `convert_fid_weights.py`).
    pub weights: PathBuf,
    /// Whether IS/FID were asked for explicitly (weights path, reference): then missing
    /// weights are an error rather than a note.
    pub required: bool,
    /// The FID reference; IS only without one.
    pub reference: Option<Reference>,
    /// Generated images (the paper: 5,000).
    pub n_fake: usize,
    /// Inception-score splits (the paper: 10).
    pub splits: usize,
    /// Images per Inception forward pass.
    pub batch: usize,
    /// Seed of the generator's z (as `sngan sample --seed`).
    pub seed: u64,
}

/// IS and FID with the protocol of each number.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricsReport {
    /// The weights are missing and were not asked for: why nothing was computed.
    Skipped(String),
    /// Computed.
    Done {
        /// The Inception score of the generated images.
        is: InceptionScore,
        /// Splits of the score.
        splits: usize,
        /// How the generated images' features were made.
        fake: Protocol,
        /// The FID and the reference's protocol (`None` inside for a statistics file that
        /// does not record one, e.g. a published file).
        fid: Option<(Fid, String)>,
    },
}

/// Maps generated images to what a PNG of them holds (8 bits), as pytorch-fid sees samples
/// saved by `sngan sample --format pngs`.
pub fn quantize_8bit(images: &mut [f32]) {
    for v in images {
        *v = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() / 127.5 - 1.0;
    }
}

/// pool3 features and logits of `n` images of side `m`, `batch` at a time; `read(i, out)`
/// writes image `i` (3·m·m values, NCHW, [−1, 1]) into `out`.
///
/// # Errors
/// `read`'s errors and [`InceptionV3::forward`]'s.
pub fn extract(
    net: &InceptionV3,
    n: usize,
    m: usize,
    batch: usize,
    mut read: impl FnMut(usize, &mut [f32]) -> Result<(), Error>,
) -> Result<Features, Error> {
    let per = 3 * m * m;
    let batch = batch.max(1);
    let mut out = Features {
        pool3: Vec::with_capacity(n * POOL3),
        logits: Vec::with_capacity(n * LOGITS),
        logits_unbiased: Vec::with_capacity(n * LOGITS),
    };
    let mut buf = vec![0.0f32; batch * per];
    let mut start = 0;
    while start < n {
        let k = batch.min(n - start);
        for i in 0..k {
            read(start + i, &mut buf[i * per..(i + 1) * per])?;
        }
        let f = net.forward(&buf[..k * per], k, m, m)?;
        out.pool3.extend_from_slice(&f.pool3);
        out.logits.extend_from_slice(&f.logits);
        out.logits_unbiased.extend_from_slice(&f.logits_unbiased);
        start += k;
    }
    Ok(out)
}

fn weights_label(path: &Path, net: &InceptionV3) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    format!("{name} (sha256 {})", net.sha256())
}

/// IS (and FID against `req.reference`) of `req.n_fake` images of the newest checkpoint in
/// `run_dir`, quantized to 8 bits first ([`quantize_8bit`]).
///
/// # Errors
/// [`Error::Io`] naming the weights file and how to make it if it is missing and
/// `req.required`; the errors of [`InceptionV3::load`], [`run::generate`], the dataset
/// readers, [`read_stats`] and [`fid::frechet_distance`]; [`Error::Config`] for a split the
/// dataset does not have, or more images asked for than it holds.
pub fn evaluate(run_dir: &Path, req: &EvalRequest) -> Result<MetricsReport, Error> {
    if !req.weights.is_file() {
        let msg = format!(
            "Inception weights {} not found: {MISSING_WEIGHTS_HELP}",
            req.weights.display()
        );
        return if req.required {
            Err(Error::Io(msg))
        } else {
            Ok(MetricsReport::Skipped(msg))
        };
    }
    if req.n_fake < req.splits.max(2) {
        return Err(Error::Config(format!(
            "--n-fake {} is too few for {} Inception-score splits (and FID needs at least 2)",
            req.n_fake, req.splits
        )));
    }
    let net = InceptionV3::load(&req.weights)?;
    let weights = weights_label(&req.weights, &net);
    let mut generated = run::generate(run_dir, req.n_fake, req.seed)?;
    quantize_8bit(&mut generated.images);
    let m = generated.m;
    let per = 3 * m * m;
    let f = extract(&net, req.n_fake, m, req.batch, |i, out| {
        out.copy_from_slice(&generated.images[i * per..(i + 1) * per]);
        Ok(())
    })?;
    // The original TF code's convention: softmax of pool3·W without the bias.
    let is = inception_score(&f.logits_unbiased, LOGITS, req.splits)?;
    let fake = Protocol {
        network: Protocol::NETWORK.into(),
        weights: weights.clone(),
        resize: format!("{m}x{m} -> {}", Protocol::RESIZE),
        source: format!(
            "generated by {} (step {}), seed {}, 8-bit quantized",
            generated.checkpoint.display(),
            generated.step,
            req.seed
        ),
        n: req.n_fake,
    };
    let fid = match &req.reference {
        None => None,
        Some(r) => {
            let (real, described) = reference_stats(r, &net, &weights, m, req.batch)?;
            let fake_stats = fid::stats_of(&f.pool3, POOL3)?;
            Some((fid::frechet_distance(&fake_stats, &real)?, described))
        }
    };
    Ok(MetricsReport::Done {
        is,
        splits: req.splits,
        fake,
        fid,
    })
}

fn reference_stats(
    r: &Reference,
    net: &InceptionV3,
    weights: &str,
    m: usize,
    batch: usize,
) -> Result<(FidStats, String), Error> {
    match r {
        Reference::Stats(path) => {
            let (stats, protocol) = read_stats(path)?;
            if stats.dim() != POOL3 {
                return Err(Error::Data(format!(
                    "{}: statistics of dimension {}, expected {POOL3} (pool3)",
                    path.display(),
                    stats.dim()
                )));
            }
            let how = match protocol {
                Some(p) => format!("{}: {}", path.display(), p.describe()),
                None => format!(
                    "{} (records no protocol; pytorch-fid statistics are of [0, 1] images \
                     bilinearly resized to 299x299)",
                    path.display()
                ),
            };
            Ok((stats, how))
        }
        Reference::Dataset {
            dataset,
            split,
            n_real,
            save,
        } => {
            let (side, features) = dataset_features(dataset, split, *n_real, m, net, batch)?;
            let stats = fid::stats_of(&features.pool3, POOL3)?;
            let protocol = Protocol {
                network: Protocol::NETWORK.into(),
                weights: weights.into(),
                resize: format!("{side}x{side} -> {}", Protocol::RESIZE),
                source: format!(
                    "{} {split} (first {n_real} images in file order)",
                    dataset.kind()
                ),
                n: *n_real,
            };
            if let Some(path) = save {
                write_stats(path, &stats, &protocol)?;
            }
            Ok((stats, protocol.describe()))
        }
    }
}

/// Features of the first `n` images of `dataset`'s `split`; returns the side read and them.
fn dataset_features(
    dataset: &Dataset,
    split: &str,
    n: usize,
    m: usize,
    net: &InceptionV3,
    batch: usize,
) -> Result<(usize, Features), Error> {
    fn go<const M: usize>(
        src: &dyn ImageSource<M>,
        what: &str,
        n: usize,
        net: &InceptionV3,
        batch: usize,
    ) -> Result<(usize, Features), Error> {
        if n < 2 || n > src.len() {
            return Err(Error::Config(format!(
                "--n-real {n}: {what} holds {} images (FID needs at least 2)",
                src.len()
            )));
        }
        Ok((M, extract(net, n, M, batch, |i, out| src.read(i, out))?))
    }
    let bad_split = |allowed: &str| {
        Error::Config(format!(
            "--ref-split {split}: the {} dataset has {allowed}",
            dataset.kind()
        ))
    };
    let what = format!("{} {split}", dataset.kind());
    match dataset {
        Dataset::Digits => match split {
            "all" => go::<16>(&digits::<16>(), &what, n, net, batch),
            _ => Err(bad_split("all")),
        },
        Dataset::Cifar10 { dir } => {
            let s = match split {
                "train" => Cifar10Split::Train,
                "test" => Cifar10Split::Test,
                _ => return Err(bad_split("train, test")),
            };
            go::<32>(&Cifar10::open(dir, s)?, &what, n, net, batch)
        }
        Dataset::Stl10 { dir } => {
            let s = match split {
                "unlabeled" => Stl10Split::Unlabeled,
                "train" => Stl10Split::Train,
                "test" => Stl10Split::Test,
                _ => return Err(bad_split("unlabeled, train, test")),
            };
            // At the run's side (48 in the paper: area-averaged, as trained on).
            match m {
                32 => go::<32>(&Stl10::<32>::open(dir, s)?, &what, n, net, batch),
                48 => go::<48>(&Stl10::<48>::open(dir, s)?, &what, n, net, batch),
                _ => Err(Error::Config(format!(
                    "STL-10 reference at {m}x{m}: use 32 or 48"
                ))),
            }
        }
        Dataset::Folder { dir, size } => {
            if split != "all" {
                return Err(bad_split("all"));
            }
            match size {
                32 => go::<32>(&ImageFolder::<32>::open(dir)?, &what, n, net, batch),
                48 => go::<48>(&ImageFolder::<48>::open(dir)?, &what, n, net, batch),
                s => Err(Error::Config(format!(
                    "folder reference at {s}x{s}: use 32 or 48"
                ))),
            }
        }
    }
}
