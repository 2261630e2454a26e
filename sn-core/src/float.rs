//! The floating-point types sn-core works in: `f32` and `f64`.

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type: implemented for `f32` and `f64` only (sealed), so every
/// routine of the crate runs in either precision.
///
/// ```
/// fn sigma<T: sn_core::Float>(w: &[T]) -> T {
///     sn_core::DynMatrix::new(w, 1, w.len()).unwrap().get(0, 0).unwrap().abs()
/// }
/// assert_eq!(sigma(&[-3.0_f32]), 3.0);
/// assert_eq!(sigma(&[-3.0_f64]), 3.0);
/// ```
///
pub trait Float:
    num_traits::Float
    + Default
    + core::fmt::Debug
    + core::iter::Sum
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// Conversion from an `f64` constant (exact for the small constants sn-core uses).
    fn lit(x: f64) -> Self;
}

impl Float for f32 {
    #[inline(always)]
    fn lit(x: f64) -> Self {
        x as f32
    }
}

impl Float for f64 {
    #[inline(always)]
    fn lit(x: f64) -> Self {
        x
    }
}

/// `2^k` as an exact product of at most two representable factors, so that `x * a * b`
/// scales by `2^k` exactly (no rounding) whenever the result is a normal number.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pow2<T> {
    pub(crate) a: T,
    pub(crate) b: T,
}

impl<T: Float> Pow2<T> {
    pub(crate) fn new(k: i32) -> Self {
        let two = T::lit(2.0);
        let h = k / 2;
        Pow2 {
            a: two.powi(h),
            b: two.powi(k - h),
        }
    }
    #[inline(always)]
    pub(crate) fn apply(self, x: T) -> T {
        x * self.a * self.b
    }
}

/// ⌊log₂ |x|⌋ for finite non-zero x, exact (subnormals included).
pub(crate) fn ilog2_abs<T: Float>(x: T) -> i32 {
    let (mantissa, exponent, _) = x.integer_decode();
    debug_assert!(mantissa != 0);
    exponent as i32 + (63 - mantissa.leading_zeros() as i32)
}

/// Sum of squares is trusted without rescaling inside `[LOW, HIGH]`: √LOW·… ≈ 1e-19 (f32) is
/// far above where subnormal rounding could matter, √HIGH far below overflow.
#[inline]
pub(crate) fn sq_in_safe_range<T: Float>(sq: T) -> bool {
    let low = T::min_positive_value().sqrt();
    let high = T::max_value().sqrt();
    sq >= low && sq <= high
}
