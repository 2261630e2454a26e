//! Inception score and FID, faithful to the implementations published numbers come from.
//!
//! - [`inception`]: Inception-v3 in the form FID uses — pytorch-fid's port of the TF
//!   2015-12-05 graph (FID-specific A, C, E_1, E_2 blocks, 1008 logits) — built on dfdx's CPU
//!   matmul, with weights from a safetensors file made by `sngan/scripts/convert_fid_weights.py`.
//! - [`fid`]: statistics in f64, Σ with N − 1, tr (Σ₁Σ₂)^½ from symmetric eigendecompositions,
//!   pytorch-fid's 1e-6·I fallback.
//! - [`is`]: the Inception score over 10 splits, mean ± std.
//! - [`npz`]: pytorch-fid's `.npz` statistics, read and written.
//! - [`digits`]: digits IS and FID, with a small classifier of the embedded digits in place of
//!   Inception-v3, for the small-scale experiments.
//! - [`eval`]: IS and FID of a run's checkpoint, with their protocol (`sngan eval`).
//!
//! The protocol (SNGAN.md §7): every reported number states the weights, n_real and which
//! split, n_fake and the resize ([`Protocol`]).

pub mod digits;
pub mod eval;
pub mod fid;
pub mod inception;
pub mod is;
pub mod npz;

use std::path::Path;

pub use fid::{frechet_distance, FidStats, StatsAccumulator};
pub use inception::{Features, InceptionV3, INCEPTION_SIZE, LOGITS, POOL3};
pub use is::{inception_score, InceptionScore, IS_SPLITS};

use crate::Error;
use npz::{NpyArray, NpyData};

/// How a set of FID statistics or an Inception score was made: printed beside every number
/// and stored in the `.npz` files this crate writes (keys pytorch-fid ignores).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Protocol {
    /// The network (e.g. "pytorch-fid FID Inception-v3 (TF 2015-12-05), pool3").
    pub network: String,
    /// The weights file's name and SHA-256.
    pub weights: String,
    /// The resize applied to the images.
    pub resize: String,
    /// Where the images came from (dataset and split, or a checkpoint).
    pub source: String,
    /// How many images.
    pub n: usize,
}

impl Protocol {
    /// The resize pytorch-fid applies.
    pub const RESIZE: &'static str = "bilinear to 299x299 (align_corners=False, no antialias)";
    /// The network, as recorded.
    pub const NETWORK: &'static str =
        "pytorch-fid FID Inception-v3 (TF 2015-12-05 graph), 2048-d pool3 / 1008 logits";

    /// One line: `source, N = n; network; weights; resize`.
    pub fn describe(&self) -> String {
        format!(
            "{}, N = {}; weights {}; resize {}",
            self.source, self.n, self.weights, self.resize
        )
    }
}

const PROTOCOL_KEYS: [&str; 5] = [
    "sngan_network",
    "sngan_weights",
    "sngan_resize",
    "sngan_source",
    "sngan_n",
];

/// Writes `stats` as a pytorch-fid `.npz` (`mu` float64 (d,), `sigma` float64 (d, d)) with the
/// protocol in extra string keys `sngan_*`, which pytorch-fid ignores.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_stats(path: &Path, stats: &FidStats, protocol: &Protocol) -> Result<(), Error> {
    let d = stats.dim();
    let values = [
        protocol.network.clone(),
        protocol.weights.clone(),
        protocol.resize.clone(),
        protocol.source.clone(),
        protocol.n.to_string(),
    ];
    let mut entries = vec![
        ("mu", NpyArray::f64(vec![d], stats.mu.clone())),
        ("sigma", NpyArray::f64(vec![d, d], stats.sigma.clone())),
    ];
    for (k, v) in PROTOCOL_KEYS.iter().zip(&values) {
        entries.push((k, NpyArray::string(v)));
    }
    npz::write(path, &entries)
}

/// Reads a pytorch-fid `.npz` (`mu` (d,), `sigma` (d, d), float64 or float32) and the protocol
/// keys if this crate wrote it (`None` for files from elsewhere, e.g. published statistics).
///
/// # Errors
/// [`npz::read`]'s errors; [`Error::Data`] naming the file if `mu` or `sigma` is missing or
/// their shapes do not agree.
pub fn read_stats(path: &Path) -> Result<(FidStats, Option<Protocol>), Error> {
    let entries = npz::read(path)?;
    let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, a)| a);
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let float = |key: &str| -> Result<(Vec<usize>, Vec<f64>), Error> {
        match get(key) {
            Some(NpyArray {
                shape,
                data: NpyData::F64(v),
            }) => Ok((shape.clone(), v.clone())),
            Some(_) => Err(Error::Data(format!(
                "{}: '{key}' is a string array, expected float64",
                path.display()
            ))),
            None => Err(Error::Data(format!(
                "{}: no '{key}' array (pytorch-fid statistics hold 'mu' and 'sigma'); found {keys:?}",
                path.display()
            ))),
        }
    };
    let (mu_shape, mu) = float("mu")?;
    let (sigma_shape, sigma) = float("sigma")?;
    let d = mu.len();
    if mu_shape.len() != 1 || sigma_shape != [d, d] {
        return Err(Error::Data(format!(
            "{}: expected mu of shape (d,) and sigma of shape (d, d), found {mu_shape:?} and {sigma_shape:?}",
            path.display()
        )));
    }
    let text = |key: &str| match get(key) {
        Some(NpyArray {
            data: NpyData::Str(s),
            ..
        }) => s.first().cloned(),
        _ => None,
    };
    let protocol = match PROTOCOL_KEYS.map(text) {
        [Some(network), Some(weights), Some(resize), Some(source), Some(n)] => Some(Protocol {
            network,
            weights,
            resize,
            source,
            n: n.parse().unwrap_or(0),
        }),
        _ => None,
    };
    Ok((FidStats { mu, sigma }, protocol))
}
