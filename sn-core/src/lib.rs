//! Spectral normalization (Miyato et al., "Spectral Normalization for Generative Adversarial
//! Networks", ICLR 2018) as a few pure functions with explicit state: `no_std`, no allocation,
//! no unsafe, f32 and f64, shapes as const generics.
//!
//! # Math
//! A layer's weight W (d_out × d_in·kh·kw) is replaced by W̄ = W / σ(W) (eq. 8), which makes the
//! layer 1-Lipschitz; σ is estimated per training step by one round of power iteration on a
//! persistent vector ũ (Algorithm 1):
//!
//! * `v ← Wᵀũ / ‖Wᵀũ‖₂` (eq. 20), `ũ ← W v / ‖W v‖₂` (eq. 21), `σ̃ = ũᵀ W v` (eq. 22):
//!   [`SpectralNorm::power_iteration`];
//! * `W̄ = W / σ̃`: [`SpectralNorm::normalize`], or `W̄x = (Wx)/σ̃` without materializing W̄:
//!   [`SpectralNorm::apply`];
//! * `∂L/∂W = (G − ⟨G, W̄⟩ ũ vᵀ) / σ̃` with `G = ∂L/∂W̄` (eq. 12):
//!   [`SpectralNorm::normalize_backward`];
//! * σ(W) to a stated tolerance for monitoring: [`Matrix::sigma_exact`];
//! * ‖f‖_Lip ≤ ∏ σ(Wˡ) (eq. 7): [`lipschitz_bound`].
//!
//! Convolution weights `(d_out, d_in, kh, kw)` are the matrix d_out × d_in·kh·kw
//! ([`Matrix::conv`]); transposed-convolution weights `(d_in, d_out, kh, kw)` have their output
//! axis at dim 1 ([`Matrix::conv_transpose`]).
//!
//! # Example
//! ```
//! use sn_core::{Matrix, SpectralNorm};
//!
//! // A dense layer d_in = 3 → d_out = 2.
//! let w = [1.0_f64, -2.0, 0.5, 0.3, 4.0, -1.0];
//! let m = Matrix::<f64, 2, 3>::new(&w)?;
//! let mut sn = SpectralNorm::<f64, 2, 3>::new([1.0, 1.0])?; // ũ₀: draw it with your RNG
//! let sigma_tilde = sn.power_iteration(m, 1)?; // one round per training step
//! let exact = m.sigma_exact(1e-12, 10_000)?.sigma;
//! assert!(sigma_tilde <= exact * (1.0 + 1e-12)); // σ̃ under-estimates σ
//!
//! sn.power_iteration(m, 50)?; // recycling ũ converges
//! let mut w_bar = [0.0; 6];
//! sn.normalize(m, &mut w_bar)?;
//! let s = Matrix::<f64, 2, 3>::new(&w_bar)?.sigma_exact(1e-12, 10_000)?.sigma;
//! assert!((s - 1.0).abs() < 1e-12); // σ(W̄) = 1
//! # Ok::<(), sn_core::Error>(())
//! ```
//!
//! # Degenerate input
//! No NaN or Inf ever comes out: NaN/Inf inputs give [`Error::NonFinite`]; a zero matrix gives
//! σ̃ = 0 and W̄ = 0; a zero or unlucky ũ is replaced deterministically; weights whose norms
//! would underflow (subnormals) or overflow (values near `f32::MAX`) are rescaled by an exact
//! power of two, and a σ that itself does not fit the type is [`Error::Overflow`]. Vectors are
//! normalized with PyTorch's `x / max(‖x‖, ε)` convention (not Chainer's `x / (‖x‖ + ε)`); thanks
//! to the rescaling ε is only ever met by an exactly-zero vector, which stays zero.
//!
//! # Features
//! * `std`: implements `std::error::Error` for [`Error`].
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

mod error;
mod exact;
mod float;
mod lipschitz;
mod matrix;
mod power;

pub use error::{Error, Result};
pub use exact::{Convergence, ExactSigma};
pub use float::Float;
pub use lipschitz::lipschitz_bound;
pub use matrix::{DynMatrix, Matrix};
pub use power::{DynSpectralNorm, SpectralNorm};
