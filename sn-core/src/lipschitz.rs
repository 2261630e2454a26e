//! The Lipschitz bound of a stack of layers (eq. 7).

use crate::error::{Error, Result};
use crate::float::Float;

/// ∏ₗ σₗ: the bound ‖f‖_Lip ≤ ∏ σ(Wˡ) of eq. 7 for a network whose activations are
/// 1-Lipschitz (ReLU, leaky ReLU with slope ≤ 1).
///
/// Pass σ(Wˡ) of raw weights, or, for a spectrally normalized network, each layer's
/// [`SpectralNorm::lipschitz_constant`](crate::SpectralNorm::lipschitz_constant) σ(Wˡ)/σ̃ˡ
/// (1 when σ̃ has converged). The empty product is 1.
///
/// ```
/// use sn_core::lipschitz_bound;
/// assert_eq!(lipschitz_bound([2.0_f64, 0.5, 3.0])?, 3.0);
/// assert_eq!(lipschitz_bound::<f32>([])?, 1.0);
/// assert!(lipschitz_bound([f32::MAX, 2.0]).is_err()); // overflow is an error, not inf
/// # Ok::<(), sn_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::NonFinite`] or [`Error::Negative`] for an invalid factor, [`Error::Overflow`] if
/// the product overflows.
pub fn lipschitz_bound<T: Float>(factors: impl IntoIterator<Item = T>) -> Result<T> {
    let mut p = T::one();
    for (index, s) in factors.into_iter().enumerate() {
        if !s.is_finite() {
            return Err(Error::NonFinite {
                what: "lipschitz factor",
                index,
            });
        }
        if s < T::zero() {
            return Err(Error::Negative {
                what: "lipschitz factor",
                index,
            });
        }
        p = p * s;
        if !p.is_finite() {
            return Err(Error::Overflow {
                what: "lipschitz bound",
            });
        }
    }
    Ok(p)
}
