//! SN-GAN on dfdx: spectrally normalized layers, the paper's networks, losses and training.
//!
//! Built on [`sn_core`] (the no_std spectral-normalization math, used here for exact σ
//! monitoring and as the test oracle) and dfdx 0.13 (tensors, autodiff, optimizers), prepared for
//! stable Rust by the workspace's `xtask`.

// dfdx tensor types spell out shape, dtype, device and tape; aliases would hide the shapes.
#![allow(clippy::type_complexity)]

pub mod alloc;
pub mod baselines;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod datasets;
pub mod device;
pub mod ema;
mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod nets;
pub mod optim;
pub mod paper;
pub mod plot;
pub mod run;
pub mod settings;
pub mod train;
pub mod viz;

pub use device::{ConvDevice, Dev};
pub use dfdx;
pub use sn_core;

/// Errors of the sngan crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From sn-core (non-finite weights, zero σ, ...).
    #[error("spectral normalization: {0}")]
    SpectralNorm(#[from] sn_core::Error),
    /// From the dfdx device (allocation, CUDA).
    #[error("device: {0}")]
    Device(String),
    /// An invalid configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A dataset could not be used (the message names the file, what was expected and what
    /// was found).
    #[error("{0}")]
    Data(String),
    /// A checkpoint could not be used (the message names the file and the problem).
    #[error("checkpoint {0}")]
    Checkpoint(String),
    /// A file could not be read or written (the message names it).
    #[error("{0}")]
    Io(String),
    /// A loss or weight became NaN or infinite.
    #[error("non-finite value: {0}")]
    NonFinite(String),
}

impl From<dfdx::tensor::CpuError> for Error {
    fn from(e: dfdx::tensor::CpuError) -> Self {
        Error::Device(format!("{e:?}"))
    }
}

#[cfg(feature = "cuda")]
impl From<dfdx::tensor::CudaError> for Error {
    fn from(e: dfdx::tensor::CudaError) -> Self {
        Error::Device(format!("{e:?}"))
    }
}
