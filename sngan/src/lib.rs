//! SN-GAN on dfdx: the paper's networks, losses and training loop.
//!
//! This crate is being built up issue by issue; today it only re-exports [`sn_core`],
//! the spectral-normalization core that its layers will use.

pub use sn_core;
