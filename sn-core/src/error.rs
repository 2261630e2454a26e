//! The one error type of sn-core.

use core::fmt;

/// What can go wrong in sn-core. Every fallible function returns this instead of panicking
/// or producing NaN/Inf.
///
/// ```
/// use sn_core::{Error, Matrix};
/// let w = [1.0_f32, f32::NAN, 0.0, 0.0];
/// let m = Matrix::<f32, 2, 2>::new(&w)?;
/// let e = m.sigma_exact(1e-6, 10).unwrap_err();
/// assert_eq!(e, Error::NonFinite { what: "weight", index: 1 });
/// assert_eq!(e.to_string(), "weight: non-finite value (NaN or Inf) at index 1");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A slice does not hold the number of elements its shape needs.
    LengthMismatch {
        /// Which argument: `"weight"`, `"u"`, `"v"`, `"grad"`, `"out"`, ...
        what: &'static str,
        /// Elements the shape needs.
        expected: usize,
        /// Elements the slice has.
        found: usize,
    },
    /// A matrix with zero rows or columns, or a shape whose element count overflows `usize`.
    InvalidShape {
        /// Requested rows (d_out).
        rows: usize,
        /// Requested columns (d_in·kh·kw).
        cols: usize,
    },
    /// An input holds NaN or ±Inf.
    NonFinite {
        /// Which argument: `"weight"`, `"u"`, `"grad"`, `"sigma"`, ...
        what: &'static str,
        /// Index of the first offending element in the slice (0 for scalars).
        index: usize,
    },
    /// An input that must be non-negative is negative (a σ passed to
    /// [`lipschitz_bound`](crate::lipschitz_bound)).
    Negative {
        /// Which argument.
        what: &'static str,
        /// Its index.
        index: usize,
    },
    /// A result (σ, a gradient, a product of σ's) is too large to represent in the float type.
    Overflow {
        /// Which result overflowed.
        what: &'static str,
    },
    /// σ̃ is zero for a non-zero matrix, so W / σ̃ and its gradient are undefined. This happens
    /// when [`SpectralNorm::power_iteration`](crate::SpectralNorm::power_iteration) was never
    /// run with at least one round, or the weight was replaced by one orthogonal to u and v.
    ZeroSigma,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::LengthMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "{what}: expected {expected} elements for this shape, found {found}"
            ),
            Error::InvalidShape { rows, cols } => write!(
                f,
                "invalid matrix shape {rows}x{cols}: both sides must be non-zero and rows*cols must fit in usize"
            ),
            Error::NonFinite { what, index } => {
                write!(f, "{what}: non-finite value (NaN or Inf) at index {index}")
            }
            Error::Negative { what, index } => {
                write!(f, "{what}: negative value at index {index}, expected >= 0")
            }
            Error::Overflow { what } => {
                write!(f, "{what} overflows the floating-point type")
            }
            Error::ZeroSigma => write!(
                f,
                "sigma estimate is zero for a non-zero weight: run at least one power-iteration round first"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// `Result` with sn-core's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
