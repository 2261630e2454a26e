//! Fuzz target for sn-core: arbitrary bytes become a float type, a weight shape and layout,
//! weight values (zeros, subnormals, values near MAX, NaN, ±Inf, tiny and huge ones), start
//! vectors (sometimes zero), round counts 0..=5 and slice lengths (sometimes wrong), and drive
//! every public entry point of sn-core.
//!
//! Invariants (a violation panics, which libFuzzer reports as a crash):
//! * no sn-core function panics (or trips a debug assertion / overflow check);
//! * every `Ok` result is free of NaN/Inf: σ̃, ũ, v, W̄, W̄x, ∂L/∂W, `Convergence::sigma`,
//!   Lipschitz constants and bounds; the persistent state stays finite after every call;
//! * σ̃ ≥ 0 after at least one round, σ̃ ≤ ‖W‖_F, σ̃ never decreases from round to round,
//!   and when σ̃ > 0, ‖ũ‖ = ‖v‖ = 1 within 1e-3 (f32) / 1e-9 (f64);
//! * NaN/Inf in the weight gives `Error::NonFinite` from `power_iteration` (ũ and σ̃
//!   unchanged), `normalize`, `apply`, `normalize_backward` and `sigma_exact`;
//! * wrong slice lengths give `Error::LengthMismatch` (`lipschitz_constant` included), bad
//!   shapes `Error::InvalidShape`, and every other error is the documented one for its cause
//!   (`ZeroSigma` only for σ̃ = 0, `Overflow` only when the exact result, or W̄ or an
//!   intermediate at W̄'s scale, is near the type's MAX: never for W near MAX with an ordinary
//!   W̄x or gradient);
//! * `get`, `mul_vec`, `mul_vec_transposed`, `normalize`, `apply` and `normalize_backward`
//!   agree with an f64 reference within rounding-error bounds, for subnormal and near-MAX
//!   weights too (the `apply`/`normalize_backward` references carry an unbounded exponent);
//! * `from_parts` accepts ũ only if it is zero or unit within 1e-3, however small Σu² is;
//! * `lipschitz_constant` is `Err(Negative)` for σ̃ < 0 and never returns a negative value
//!   for a valid σ(W) ≥ 0;
//! * the const-generic `Matrix`/`SpectralNorm` give bit-identical results to
//!   `DynMatrix`/`DynSpectralNorm` (3×4 and 2×4 weights in all three layouts).

#![no_main]
// Index loops mirror the sums they check; `!(a < b)` is deliberate where NaN must count as
// "too big".
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

use libfuzzer_sys::arbitrary::{Result as AResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use sn_core::{
    lipschitz_bound, Convergence, DynMatrix, DynSpectralNorm, Error, Float, Matrix, SpectralNorm,
};

fuzz_target!(|data: &[u8]| {
    stats::tick();
    let mut u = Unstructured::new(data);
    let which: u8 = u.arbitrary().unwrap_or(0);
    // Running out of bytes ends a run early; that is not a failure.
    let _ = match which % 4 {
        0 => drive::<f32>(&mut u),
        1 => drive::<f64>(&mut u),
        2 => fixed_all::<f32>(&mut u),
        _ => fixed_all::<f64>(&mut u),
    };
});

/// Counters of which paths the inputs reach, printed every 2^17 runs with `--features stats`
/// (to see that the invariants are exercised, not just compiled).
mod stats {
    #[cfg(feature = "stats")]
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    #[cfg_attr(not(feature = "stats"), allow(dead_code))]
    pub const NAMES: [&str; 32] = [
        "runs",
        "pi_ok_pos",
        "pi_ok_pos_tiny_w",
        "pi_ok_pos_huge_w",
        "pi_nonfinite",
        "pi_overflow",
        "pi_zero_w",
        "pi_monotone_checked",
        "normalize_ok",
        "normalize_overflow",
        "apply_ok",
        "apply_overflow",
        "backward_ok_ref_checked",
        "backward_overflow",
        "exact_ok_pos",
        "exact_overflow",
        "lipschitz_ok",
        "fixed_runs",
        // Paths of the fixed sn-core issues (see README): apply / normalize_backward checked
        // against the reference for σ̃ outside [√MIN_POSITIVE, √MAX] (subnormal or near-MAX
        // weights), from_parts rejecting a tiny non-unit ũ, lipschitz_constant errors.
        "apply_ref_tiny_sigma",
        "apply_ref_huge_sigma",
        "backward_ref_tiny_sigma",
        "backward_ref_huge_sigma",
        "from_parts_tiny_u_rejected",
        "lipschitz_shape_mismatch",
        "lipschitz_negative_sigma",
        "lipschitz_exact_non_finite",
        "lipschitz_exact_negative",
        "apply_backward_negative_sigma",
        "wbar_rounding_allowed",
        // Open issues (README), tolerated unless `--features strict`.
        "open_lipschitz_negative_exact",
        "open_apply_zero_w_skipped",
        "open_apply_divisor_overflow",
    ];
    #[cfg(feature = "stats")]
    static C: [AtomicU64; 30] = [const { AtomicU64::new(0) }; 30];

    #[inline(always)]
    pub fn hit(_name: &str) {
        #[cfg(feature = "stats")]
        {
            let i = NAMES.iter().position(|n| *n == _name).expect("stat name");
            C[i].fetch_add(1, Relaxed);
        }
    }

    pub fn tick() {
        hit("runs");
        #[cfg(feature = "stats")]
        if C[0].load(Relaxed).is_multiple_of(1 << 17) {
            let v: Vec<String> = NAMES
                .iter()
                .zip(C.iter())
                .map(|(n, c)| format!("{n}={}", c.load(Relaxed)))
                .collect();
            eprintln!("STATS {}", v.join(" "));
        }
    }
}

// ------------------------------------------------------------------------------------------
// Float helpers
// ------------------------------------------------------------------------------------------

trait FF: Float {
    const NAME: &'static str;
    fn of(x: f64) -> Self;
    fn f(self) -> f64;
    fn raw(bits: u64) -> Self;
    fn eps() -> f64;
    /// Smallest positive subnormal.
    fn tiny() -> f64;
    fn maxf() -> f64;
    fn unit_tol() -> f64;
    /// Exponent range for whole-weight scaling (reaches subnormals and overflow).
    fn exp_range() -> (i32, i32);
    fn specials() -> &'static [Self];
    /// x·2^k, computed exactly where representable.
    fn scaled(x: f64, k: i32) -> Self;
}

static F32_SPECIALS: [f32; 28] = [
    0.0,
    -0.0,
    1.4e-45, // smallest subnormal
    -1.4e-45,
    1.1754942e-38, // largest subnormal
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    1e-30,
    -1e-30,
    3.2927225e-10, // (sqrt(MIN_POSITIVE))^(1/2): sum-of-squares safe-range edge
    1.0842022e-19, // sqrt(MIN_POSITIVE)
    1.8446743e19,  // sqrt(MAX)
    4.2949673e9,   // MAX^(1/4)
    1e30,
    -1e30,
    f32::MAX,
    -f32::MAX,
    1.7014117e38, // MAX/2
    3e38,
    1.0,
    -1.0,
    0.5,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::EPSILON,
    1.0e-7,
    -3.0e38,
];

static F64_SPECIALS: [f64; 28] = [
    0.0,
    -0.0,
    5e-324, // smallest subnormal
    -5e-324,
    2.225073858507201e-308, // largest subnormal
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    1e-300,
    -1e-300,
    1.221338669755462e-77, // sum-of-squares safe-range edge
    1.4916681462400413e-154,
    1.3407807929942596e154, // sqrt(MAX)
    1.157920892373162e77,
    1e300,
    -1e300,
    f64::MAX,
    -f64::MAX,
    8.988465674311579e307, // MAX/2
    1.7e308,
    1.0,
    -1.0,
    0.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::EPSILON,
    1.0e-16,
    -1.7e308,
];

impl FF for f32 {
    const NAME: &'static str = "f32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f(self) -> f64 {
        self as f64
    }
    fn raw(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    fn eps() -> f64 {
        f32::EPSILON as f64
    }
    fn tiny() -> f64 {
        f32::from_bits(1) as f64
    }
    fn maxf() -> f64 {
        f32::MAX as f64
    }
    fn unit_tol() -> f64 {
        1e-3
    }
    fn exp_range() -> (i32, i32) {
        (-170, 140)
    }
    fn specials() -> &'static [Self] {
        &F32_SPECIALS
    }
    fn scaled(x: f64, k: i32) -> Self {
        (x * 2f64.powi(k)) as f32
    }
}

impl FF for f64 {
    const NAME: &'static str = "f64";
    fn of(x: f64) -> Self {
        x
    }
    fn f(self) -> f64 {
        self
    }
    fn raw(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn eps() -> f64 {
        f64::EPSILON
    }
    fn tiny() -> f64 {
        f64::from_bits(1)
    }
    fn maxf() -> f64 {
        f64::MAX
    }
    fn unit_tol() -> f64 {
        1e-9
    }
    fn exp_range() -> (i32, i32) {
        (-1100, 1040)
    }
    fn specials() -> &'static [Self] {
        &F64_SPECIALS
    }
    fn scaled(x: f64, k: i32) -> Self {
        // Two steps, so that 2^k itself never has to be representable.
        let h = k / 2;
        x * 2f64.powi(h) * 2f64.powi(k - h)
    }
}

fn finite<T: FF>(x: &[T]) -> bool {
    x.iter().all(|v| v.is_finite())
}

fn same<T: FF>(a: T, b: T) -> bool {
    a.f().to_bits() == b.f().to_bits()
}

fn same_slice<T: FF>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| same(x, y))
}

/// ‖x‖₂ in f64, scaled so that it neither underflows nor (for f32 data) overflows.
fn norm_f64<T: FF>(x: &[T]) -> f64 {
    let m = x.iter().fold(0f64, |m, v| m.max(v.f().abs()));
    if m == 0.0 || !m.is_finite() {
        return m;
    }
    m * x
        .iter()
        .map(|v| {
            let t = v.f() / m;
            t * t
        })
        .sum::<f64>()
        .sqrt()
}

fn assert_unit<T: FF>(what: &str, x: &[T]) {
    let n = norm_f64(x);
    assert!(
        (n - 1.0).abs() <= T::unit_tol(),
        "{}: ‖{what}‖ = {n} is not 1 within {} (x = {x:?})",
        T::NAME,
        T::unit_tol()
    );
}

fn assert_finite<T: FF>(what: &str, x: &[T]) {
    assert!(
        finite(x),
        "{}: {what} holds NaN/Inf after Ok: {x:?}",
        T::NAME
    );
}

/// `--features strict`: also assert where sn-core still has open issues (README, "Open issues"),
/// instead of tolerating exactly those cases.
const STRICT: bool = cfg!(feature = "strict");

/// √MIN_POSITIVE of T, in f64: sn-core forms W x / ⟨G, W⟩-type sums at W's own scale only for
/// σ̃ ≥ this (and ≤ √MAX); outside, it rescales by an exact power of two.
fn sqrt_min_pos<T: FF>() -> f64 {
    T::min_positive_value().f().sqrt()
}

/// ⌊log₂|x|⌋ of a finite non-zero f64, exact (subnormals included).
fn ilog2(x: f64) -> i32 {
    let b = x.abs().to_bits();
    let biased = (b >> 52) as i32;
    if biased == 0 {
        let mant = b & ((1u64 << 52) - 1);
        -1074 + (63 - mant.leading_zeros() as i32)
    } else {
        biased - 1023
    }
}

/// x·2^k with a single rounding (three exact steps, each factor representable); saturates to
/// ±inf / ±0 far outside the f64 range.
fn ldexp(x: f64, k: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let k = k.clamp(-2200, 2200);
    let a = k / 3;
    let b = (k - a) / 2;
    let c = k - a - b;
    // Steps go in the direction of k: the first two never leave the normal range for the
    // mantissas in [0.5, 1) and the subnormal/huge f64 inputs used here, so only the last rounds.
    x * 2f64.powi(a) * 2f64.powi(b) * 2f64.powi(c)
}

/// m·2^e with |m| in [0.5, 1) (or m = 0): an f64 with an unbounded exponent, so that the f64
/// references for f64 data (W x / σ̃, ⟨G, W⟩ / σ̃ near f64::MAX or among subnormals) neither
/// overflow nor underflow. Each operation rounds once, like f64.
#[derive(Clone, Copy, Debug)]
struct Ex {
    m: f64,
    e: i32,
}

impl Ex {
    const ZERO: Ex = Ex { m: 0.0, e: 0 };

    fn norm(m: f64, e: i32) -> Ex {
        if m == 0.0 {
            return Ex::ZERO;
        }
        let d = ilog2(m) + 1;
        Ex {
            m: ldexp(m, -d),
            e: e + d,
        }
    }

    /// A finite f64 (or f32 widened).
    fn of(x: f64) -> Ex {
        debug_assert!(x.is_finite());
        Ex::norm(x, 0)
    }

    fn mul(self, o: Ex) -> Ex {
        Ex::norm(self.m * o.m, self.e + o.e)
    }

    /// `o` must be non-zero.
    fn div(self, o: Ex) -> Ex {
        Ex::norm(self.m / o.m, self.e - o.e)
    }

    fn add(self, o: Ex) -> Ex {
        if self.m == 0.0 {
            return o;
        }
        if o.m == 0.0 {
            return self;
        }
        let (big, small) = if self.e >= o.e { (self, o) } else { (o, self) };
        let shift = small.e - big.e;
        if shift < -1100 {
            return big;
        }
        Ex::norm(big.m + ldexp(small.m, shift), big.e)
    }

    fn abs(self) -> Ex {
        Ex {
            m: self.m.abs(),
            e: self.e,
        }
    }

    /// The nearest f64 (±inf beyond f64::MAX).
    fn f(self) -> f64 {
        ldexp(self.m, self.e)
    }
}

/// (Σ aᵢbᵢ / d, Σ |aᵢbᵢ| / d) in f64 without intermediate overflow or underflow.
fn ex_dot_div(pairs: impl Iterator<Item = (f64, f64)>, d: f64) -> (f64, f64) {
    let (mut s, mut a) = (Ex::ZERO, Ex::ZERO);
    for (x, y) in pairs {
        let t = Ex::of(x).mul(Ex::of(y));
        s = s.add(t);
        a = a.add(t.abs());
    }
    let d = Ex::of(d);
    (s.div(d).f(), a.div(d).f())
}

/// x / d in f64 without intermediate overflow (the result itself may be ±inf).
fn ex_ratio(x: f64, d: f64) -> f64 {
    Ex::of(x).div(Ex::of(d)).f()
}

// ------------------------------------------------------------------------------------------
// Input generation
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// m/1024 · 2^scale with m an i16.
    Ordinary,
    /// Ordinary, raw bit patterns and special values.
    Mixed,
    /// Ordinary plus one special value at one index.
    Inject,
    /// All zero.
    Zero,
    /// All zero but one element (ordinary or special).
    OneHot,
}

fn mode(u: &mut Unstructured) -> AResult<Mode> {
    Ok(match u.arbitrary::<u8>()? {
        0..=95 => Mode::Ordinary,
        96..=159 => Mode::Mixed,
        160..=215 => Mode::Inject,
        216..=231 => Mode::Zero,
        _ => Mode::OneHot,
    })
}

fn scale<T: FF>(u: &mut Unstructured) -> AResult<i32> {
    Ok(match u.arbitrary::<u8>()? {
        0..=127 => 0,
        128..=191 => u.int_in_range(-24..=24)?,
        _ => {
            let (lo, hi) = T::exp_range();
            u.int_in_range(lo..=hi)?
        }
    })
}

fn ordinary<T: FF>(u: &mut Unstructured, k: i32) -> AResult<T> {
    let m: i16 = u.arbitrary()?;
    Ok(T::scaled(m as f64 / 1024.0, k))
}

fn special<T: FF>(u: &mut Unstructured) -> AResult<T> {
    let s = T::specials();
    Ok(s[u.choose_index(s.len())?])
}

fn mixed<T: FF>(u: &mut Unstructured, k: i32) -> AResult<T> {
    match u.arbitrary::<u8>()? {
        0..=175 => ordinary(u, k),
        176..=207 => Ok(T::raw(u.arbitrary::<u64>()?)),
        _ => special(u),
    }
}

fn gen_vec<T: FF>(u: &mut Unstructured, len: usize) -> AResult<Vec<T>> {
    let md = mode(u)?;
    let k = scale::<T>(u)?;
    gen_vec_with(u, len, md, k)
}

fn gen_vec_with<T: FF>(u: &mut Unstructured, len: usize, md: Mode, k: i32) -> AResult<Vec<T>> {
    let mut v = Vec::with_capacity(len);
    match md {
        Mode::Ordinary | Mode::Inject => {
            for _ in 0..len {
                v.push(ordinary(u, k)?);
            }
            if matches!(md, Mode::Inject) && len > 0 {
                let i = u.choose_index(len)?;
                v[i] = special(u)?;
            }
        }
        Mode::Mixed => {
            for _ in 0..len {
                v.push(mixed(u, k)?);
            }
        }
        Mode::Zero | Mode::OneHot => {
            v.resize(len, T::zero());
            if matches!(md, Mode::OneHot) && len > 0 {
                let i = u.choose_index(len)?;
                v[i] = mixed(u, k)?;
            }
        }
    }
    Ok(v)
}

/// `len`, or (rarely) a wrong length.
fn maybe_wrong_len(u: &mut Unstructured, len: usize) -> AResult<usize> {
    Ok(match u.arbitrary::<u8>()? {
        0..=249 => len,
        250 | 251 => len + 1,
        252 | 253 => len.saturating_sub(1),
        254 => 0,
        _ => len + 7,
    })
}

fn rounds(u: &mut Unstructured) -> AResult<usize> {
    u.int_in_range(0..=5)
}

fn tol<T: FF>(u: &mut Unstructured) -> AResult<T> {
    let choices = [
        1e-3,
        1e-6,
        1e-12,
        1e-30,
        0.5,
        2.0,
        T::tiny(),
        0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
    ];
    Ok(T::of(choices[u.choose_index(choices.len())?]))
}

// ------------------------------------------------------------------------------------------
// The weight under test, with f64 reference computations
// ------------------------------------------------------------------------------------------

struct Ctx<'a, T: FF> {
    m: DynMatrix<'a, T>,
    data: &'a [T],
    rows: usize,
    cols: usize,
    /// Blocks of the storage layout: 1 for dense/conv, d_in for a transposed convolution.
    blocks: usize,
    w_finite: bool,
    w_zero: bool,
    /// ‖W‖_F (f64; may be inf for f64 weights near MAX or non-finite weights).
    frob: f64,
}

impl<'a, T: FF> Ctx<'a, T> {
    fn new(m: DynMatrix<'a, T>, data: &'a [T], rows: usize, cols: usize, blocks: usize) -> Self {
        assert_eq!((m.rows(), m.cols()), (rows, cols));
        assert!(core::ptr::eq(m.data(), data));
        Ctx {
            m,
            data,
            rows,
            cols,
            blocks,
            w_finite: finite(data),
            w_zero: data.iter().all(|&x| x == T::zero()),
            frob: norm_f64(data),
        }
    }

    fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Storage index of (i, j), written independently of sn-core.
    fn idx(&self, i: usize, j: usize) -> usize {
        let k = self.cols / self.blocks;
        (j / k) * self.rows * k + i * k + j % k
    }

    fn w(&self, i: usize, j: usize) -> f64 {
        self.data[self.idx(i, j)].f()
    }

    /// Relative slack for σ bounds.
    fn rel(&self) -> f64 {
        64.0 * (self.rows.max(self.cols) as f64 + 4.0) * T::eps()
    }

    /// Bound on |computed − f64 reference| for a dot product of n terms with Σ|terms| = s.
    fn dot_err(n: usize, s: f64) -> f64 {
        4.0 * (n as f64 + 2.0) * T::eps() * s + 4.0 * (n as f64 + 1.0) * T::tiny()
    }

    fn check_get(&self) {
        for i in 0..=self.rows {
            for j in 0..=self.cols {
                let g = self.m.get(i, j);
                if i < self.rows && j < self.cols {
                    let want = self.data[self.idx(i, j)];
                    assert!(
                        matches!(g, Some(x) if same(x, want)),
                        "get({i},{j}) = {g:?}, want {want:?}"
                    );
                } else {
                    assert!(g.is_none(), "get({i},{j}) out of range gave {g:?}");
                }
            }
        }
        assert!(self.m.get(usize::MAX, 0).is_none());
        assert!(self.m.get(0, usize::MAX).is_none());
    }

    /// y = W x: lengths, then agreement with the f64 reference where nothing overflows.
    fn check_mul_vec(&self, x: &[T], y_len: usize, r: sn_core::Result<()>, y: &[T]) {
        if x.len() != self.cols || y_len != self.rows {
            assert!(
                matches!(r, Err(Error::LengthMismatch { .. })),
                "mul_vec: {r:?}"
            );
            return;
        }
        assert_eq!(r, Ok(()), "mul_vec with right lengths");
        if !(self.w_finite && finite(x)) {
            return;
        }
        for i in 0..self.rows {
            let (mut s, mut a) = (0f64, 0f64);
            for j in 0..self.cols {
                let t = self.w(i, j) * x[j].f();
                s += t;
                a += t.abs();
            }
            if a.is_finite() && a <= T::maxf() / 4.0 {
                let e = Self::dot_err(self.cols, a);
                assert!(
                    (y[i].f() - s).abs() <= e,
                    "{}: mul_vec row {i}: got {:?}, reference {s} (bound {e})",
                    T::NAME,
                    y[i]
                );
            }
        }
    }

    /// x = Wᵀ y.
    fn check_mul_vec_t(&self, y: &[T], x_len: usize, r: sn_core::Result<()>, x: &[T]) {
        if y.len() != self.rows || x_len != self.cols {
            assert!(
                matches!(r, Err(Error::LengthMismatch { .. })),
                "mul_vec_t: {r:?}"
            );
            return;
        }
        assert_eq!(r, Ok(()), "mul_vec_transposed with right lengths");
        if !(self.w_finite && finite(y)) {
            return;
        }
        for j in 0..self.cols {
            let (mut s, mut a) = (0f64, 0f64);
            for i in 0..self.rows {
                let t = self.w(i, j) * y[i].f();
                s += t;
                a += t.abs();
            }
            if a.is_finite() && a <= T::maxf() / 4.0 {
                let e = Self::dot_err(self.rows, a);
                assert!(
                    (x[j].f() - s).abs() <= e,
                    "{}: mul_vec_transposed col {j}: got {:?}, reference {s} (bound {e})",
                    T::NAME,
                    x[j]
                );
            }
        }
    }

    fn check_sigma_bound(&self, what: &str, s: T) {
        let bound = self.frob * (1.0 + self.rel()) + 4.0 * T::tiny();
        assert!(
            s.f() <= bound,
            "{}: {what} = {s:?} exceeds ‖W‖_F = {} (W = {:?})",
            T::NAME,
            self.frob,
            self.data
        );
    }

    fn check_overflow_plausible(&self, what: &str) {
        assert!(
            self.frob >= T::maxf() * (1.0 - 1e-3),
            "{}: {what} reported Overflow but ‖W‖_F = {} (W = {:?})",
            T::NAME,
            self.frob,
            self.data
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn check_sigma_exact(
        &self,
        tol: T,
        max_iter: usize,
        lens: (usize, usize, usize),
        r: &sn_core::Result<Convergence<T>>,
        u: &[T],
        v: &[T],
    ) {
        if lens != (self.rows, self.cols, self.cols) {
            assert!(
                matches!(r, Err(Error::LengthMismatch { .. })),
                "sigma_exact: {r:?}"
            );
            return;
        }
        if !(tol.is_finite() && tol > T::zero()) {
            assert!(
                matches!(r, Err(Error::NonFinite { .. })),
                "sigma_exact tol {tol:?}: {r:?}"
            );
            return;
        }
        if !self.w_finite {
            assert!(
                matches!(r, Err(Error::NonFinite { what: "weight", .. })),
                "sigma_exact of non-finite W: {r:?}"
            );
            return;
        }
        match r {
            Ok(c) => {
                assert!(
                    c.sigma.is_finite() && c.sigma >= T::zero(),
                    "sigma_exact: {c:?}"
                );
                assert!(
                    c.iterations >= 1 && c.iterations <= max_iter.max(1),
                    "{c:?}"
                );
                self.check_sigma_bound("sigma_exact", c.sigma);
                assert_finite("sigma_exact u", u);
                assert_finite("sigma_exact v", v);
                if c.sigma > T::zero() {
                    stats::hit("exact_ok_pos");
                    assert_unit("sigma_exact u", u);
                    assert_unit("sigma_exact v", v);
                } else {
                    assert!(
                        self.w_zero,
                        "sigma_exact = 0 for non-zero W = {:?}",
                        self.data
                    );
                }
                if self.w_zero {
                    assert!(c.sigma == T::zero() && c.converged, "zero W: {c:?}");
                }
            }
            Err(Error::Overflow { .. }) => {
                stats::hit("exact_overflow");
                self.check_overflow_plausible("sigma_exact")
            }
            Err(e) => panic!("sigma_exact: unexpected {e:?} for finite W {:?}", self.data),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Spectral-norm state checks (shared by the dyn and const-generic drivers)
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Snap<T> {
    u: Vec<T>,
    v: Vec<T>,
    sigma: T,
}

fn snap<T: FF, U: AsRef<[T]> + AsMut<[T]>, V: AsRef<[T]> + AsMut<[T]>>(
    s: &DynSpectralNorm<T, U, V>,
) -> Snap<T> {
    Snap {
        u: s.u().to_vec(),
        v: s.v().to_vec(),
        sigma: s.sigma(),
    }
}

fn state_finite<T: FF>(s: &Snap<T>) {
    assert_finite("state u", &s.u);
    assert_finite("state v", &s.v);
    assert!(s.sigma.is_finite(), "state sigma {:?}", s.sigma);
}

fn shape_ok<T: FF>(c: &Ctx<T>, s: &Snap<T>) -> bool {
    s.u.len() == c.rows && s.v.len() == c.cols
}

fn check_power<T: FF>(
    c: &Ctx<T>,
    before: &Snap<T>,
    after: &Snap<T>,
    rounds: usize,
    r: &sn_core::Result<T>,
    last: &mut Option<f64>,
) {
    state_finite(after);
    if !shape_ok(c, before) {
        assert!(
            matches!(r, Err(Error::LengthMismatch { .. })),
            "power_iteration: {r:?}"
        );
        assert!(same_slice(&before.u, &after.u) && same_slice(&before.v, &after.v));
        assert!(same(before.sigma, after.sigma));
        *last = None;
        return;
    }
    if !c.w_finite {
        assert!(
            matches!(r, Err(Error::NonFinite { what: "weight", .. })),
            "{}: power_iteration({rounds}) of non-finite W {:?} gave {r:?}",
            T::NAME,
            c.data
        );
        assert!(same_slice(&before.u, &after.u), "u changed on NonFinite");
        assert!(
            same(before.sigma, after.sigma),
            "sigma changed on NonFinite"
        );
        if rounds >= 1 {
            assert!(
                after.v.iter().all(|&x| x == T::zero()),
                "v not cleared on NonFinite"
            );
        }
        stats::hit("pi_nonfinite");
        *last = None;
        return;
    }
    match *r {
        Ok(s) => {
            assert!(s.is_finite(), "power_iteration gave {s:?}");
            assert!(same(s, after.sigma), "returned sigma != stored sigma");
            if rounds == 0 {
                assert!(same_slice(&before.u, &after.u) && same_slice(&before.v, &after.v));
                return;
            }
            assert!(
                s >= T::zero(),
                "{}: sigma {s:?} < 0 after {rounds} rounds",
                T::NAME
            );
            c.check_sigma_bound("power_iteration sigma", s);
            if s > T::zero() {
                stats::hit("pi_ok_pos");
                if c.frob < 1e-19 {
                    stats::hit("pi_ok_pos_tiny_w");
                }
                if c.frob > 1e19 {
                    stats::hit("pi_ok_pos_huge_w");
                }
                assert_unit("u", &after.u);
                assert_unit("v", &after.v);
            } else {
                stats::hit("pi_zero_w");
                assert!(
                    c.w_zero,
                    "{}: sigma = 0 after {rounds} rounds for non-zero W = {:?} (u before {:?})",
                    T::NAME,
                    c.data,
                    before.u
                );
            }
            if let Some(prev) = *last {
                stats::hit("pi_monotone_checked");
                assert!(
                    s.f() >= prev * (1.0 - c.rel()) - 4.0 * T::tiny(),
                    "{}: sigma decreased from {prev} to {s:?} (W = {:?})",
                    T::NAME,
                    c.data
                );
            }
            *last = Some(s.f());
        }
        Err(Error::Overflow { .. }) => {
            stats::hit("pi_overflow");
            assert!(same(before.sigma, after.sigma), "sigma changed on Overflow");
            if rounds >= 1 {
                c.check_overflow_plausible("power_iteration");
            }
            *last = None;
        }
        Err(e) => panic!(
            "{}: power_iteration({rounds}) of finite W {:?}: unexpected {e:?}",
            T::NAME,
            c.data
        ),
    }
}

fn check_normalize<T: FF>(
    c: &Ctx<T>,
    st: &Snap<T>,
    out_len: usize,
    r: &sn_core::Result<()>,
    out: &[T],
) {
    if !shape_ok(c, st) || out_len != c.len() {
        assert!(
            matches!(r, Err(Error::LengthMismatch { .. })),
            "normalize: {r:?}"
        );
        return;
    }
    if !c.w_finite {
        assert!(
            matches!(r, Err(Error::NonFinite { what: "weight", .. })),
            "normalize of non-finite W: {r:?}"
        );
        return;
    }
    let sigma = st.sigma;
    match r {
        Ok(()) => {
            stats::hit("normalize_ok");
            assert_finite("normalize output", out);
            if sigma == T::zero() {
                assert!(c.w_zero && out.iter().all(|&x| x == T::zero()));
                return;
            }
            for (i, (&o, &x)) in out.iter().zip(c.data).enumerate() {
                let want = x.f() / sigma.f();
                if want.is_finite() && want.abs() <= T::maxf() / 2.0 {
                    let e = 4.0 * T::eps() * want.abs() + 2.0 * T::tiny();
                    assert!(
                        (o.f() - want).abs() <= e,
                        "{}: normalize[{i}] = {o:?}, want {want} (sigma {sigma:?})",
                        T::NAME
                    );
                }
            }
        }
        Err(Error::ZeroSigma) => assert!(sigma == T::zero() && !c.w_zero),
        Err(Error::Overflow { .. }) => {
            stats::hit("normalize_overflow");
            assert!(sigma != T::zero());
            let big = c.data.iter().any(|&x| {
                !(x.f() / sigma.f())
                    .abs()
                    .le(&(T::maxf() * (1.0 - 8.0 * T::eps())))
            });
            assert!(
                big,
                "{}: normalize Overflow, but W/σ̃ fits (σ̃ {sigma:?})",
                T::NAME
            );
        }
        Err(e) => panic!("normalize: unexpected {e:?}"),
    }
}

fn check_apply<T: FF>(
    c: &Ctx<T>,
    st: &Snap<T>,
    x: &[T],
    y_len: usize,
    r: &sn_core::Result<()>,
    y: &[T],
) {
    if !shape_ok(c, st) || x.len() != c.cols || y_len != c.rows {
        assert!(
            matches!(r, Err(Error::LengthMismatch { .. })),
            "apply: {r:?}"
        );
        return;
    }
    let sigma = st.sigma;
    if sigma == T::zero() {
        // As normalize(): the zero matrix maps to zero, a non-zero W needs a round first.
        if !c.w_finite {
            assert!(
                matches!(r, Err(Error::NonFinite { what: "weight", .. })),
                "apply: {r:?}"
            );
        } else if c.w_zero {
            assert_eq!(*r, Ok(()), "apply of the zero matrix with sigma 0");
            assert!(
                y.iter().all(|&v| v == T::zero()),
                "apply of zero W gave {y:?}"
            );
        } else {
            assert_eq!(
                *r,
                Err(Error::ZeroSigma),
                "apply with sigma 0, W {:?}",
                c.data
            );
        }
        return;
    }
    if sigma < T::zero() {
        // A restored σ̃ < 0 (from_parts, or power_iteration(w, 0) on vectors from another W).
        stats::hit("apply_backward_negative_sigma");
        assert!(
            negative_sigma_err(r),
            "apply with sigma {sigma:?} < 0: {r:?}"
        );
        return;
    }
    if !c.w_finite || !finite(x) {
        assert!(
            matches!(r, Err(Error::NonFinite { .. })),
            "apply of non-finite W/x: {r:?}"
        );
        return;
    }
    let sf = sigma.f();
    let lim = T::maxf() / 4.0;
    // max|W| > 0 here: σ̃ ≠ 0 and W = 0 would need a restored σ̃ (then W̄x = 0 and mag is 1/L).
    let mw = c.data.iter().fold(0f64, |m, v| m.max(v.f().abs()));
    let mag = magnification::<T>(mw, sf);
    // Documented as normalize(): Overflow is also allowed when W̄ = W/σ̃ itself is near MAX (a
    // restored σ̃ far below σ(W)), even if W̄x is small.
    let mut big = mw > 0.0 && !(ex_ratio(mw, sf) <= lim);
    // Open issue (README): for a restored σ̃ > √MAX, sn-core divides by 2^k·σ̃ with
    // 2^k = 2^-⌊log₂ max|W|⌋; when that overflows (σ̃ > MAX·2^⌊log₂ max|W|⌋, so W̄ is tiny but
    // W̄x need not be) it returns y = 0.
    let divisor_overflows = mw > 0.0
        && Ex::of(sf)
            .div(Ex {
                m: 0.5,
                e: ilog2(mw) + 1,
            })
            .f()
            > T::maxf();
    for i in 0..c.rows {
        // W̄x = (Σⱼ Wᵢⱼ xⱼ) / σ̃ and Σⱼ |Wᵢⱼ xⱼ| / σ̃, exact to f64 rounding at any scale.
        let (want, a_over) = ex_dot_div((0..c.cols).map(|j| (c.w(i, j), x[j].f())), sf);
        // sn-core forms the products at W's scale (σ̃ in [√MIN_POSITIVE, √MAX]) or at 2^k·W
        // with max|2^k·W| in [1, 2): Σⱼ |2^k·Wᵢⱼ xⱼ| ≤ 2·Σⱼ |Wᵢⱼ xⱼ| / max|W| must not overflow.
        let a_scaled = if mw > 0.0 {
            2.0 * ex_dot_div((0..c.cols).map(|j| (c.w(i, j), x[j].f())), mw).1
        } else {
            0.0
        };
        let n = c.cols as f64;
        // W̄ (or 2^k·W) entries far below max|W| are only representable to half a subnormal
        // ulp: sn-core's rescaled path flushes them, as normalize(W) would.
        let wbar_round = wbar_rounding::<T>((0..c.cols).map(|j| (c.w(i, j), x[j].f())), mw, sf);
        let e = 2.0
            * (4.0 * (n + 2.0) * T::eps() * a_over
                + 4.0 * (n + 1.0) * T::tiny() * mag
                + wbar_round
                + 4.0 * T::eps() * want.abs()
                + 2.0 * T::tiny()
                + want.abs() * T::tiny() * mag);
        // Overflow is allowed only where W̄x itself is near MAX, or the scaled intermediate
        // 2^k·W x is (x near MAX): not for W near MAX or subnormal W with an ordinary W̄x.
        let fits = want.abs() + e <= lim && a_scaled <= lim;
        if !fits {
            big = true;
            continue;
        }
        if let Ok(()) = r {
            let ok = (y[i].f() - want).abs() <= e;
            if !ok && !STRICT && divisor_overflows && y[i] == T::zero() {
                // Open issue (README): 2^k·σ̃ overflows to inf and W̄x comes out as 0.
                stats::hit("open_apply_divisor_overflow");
                continue;
            }
            assert!(
                ok,
                "{}: apply row {i}: got {:?}, want {want} (bound {e}, sigma {sigma:?}, W {:?}, x {x:?})",
                T::NAME,
                y[i],
                c.data
            );
        }
    }
    match r {
        Ok(()) => {
            stats::hit("apply_ok");
            if !big {
                if sf < sqrt_min_pos::<T>() {
                    stats::hit("apply_ref_tiny_sigma");
                } else if sf > T::maxf().sqrt() {
                    stats::hit("apply_ref_huge_sigma");
                }
            }
            assert_finite("apply output", y)
        }
        Err(Error::Overflow { .. }) => {
            stats::hit("apply_overflow");
            assert!(
                big,
                "{}: apply Overflow but W̄x fits (sigma {sigma:?}, W {:?}, x {x:?})",
                T::NAME,
                c.data
            )
        }
        Err(e) => panic!("apply: unexpected {e:?}"),
    }
}

/// Open issue (README): `apply` on an all-zero W with a restored σ̃ > 0 outside
/// [√MIN_POSITIVE, √MAX] takes the rescaled path and calls `ilog2_abs(max|W| = 0)`, which trips
/// its `debug_assert!(mantissa != 0)` (release builds happen to return y = 0).
fn apply_zero_w_issue<T: FF>(c: &Ctx<T>, st: &Snap<T>, x: &[T], y_len: usize) -> bool {
    let (lo, hi) = (T::min_positive_value().sqrt(), T::max_value().sqrt());
    shape_ok(c, st)
        && x.len() == c.cols
        && y_len == c.rows
        && c.w_zero
        && finite(x)
        && st.sigma > T::zero()
        && !(st.sigma >= lo && st.sigma <= hi)
}

/// How much an absolute rounding error of one subnormal ulp in a product may be magnified in
/// W̄x or ⟨G, W̄⟩ = (…)/σ̃: by at most 1/√MIN_POSITIVE when the products are formed at W's own
/// scale (σ̃ ≥ √MIN_POSITIVE), by 2·max|W|/σ̃ when they are formed at 2^k·W with
/// max|2^k·W| in [1, 2). Before the fix, `apply` divided unscaled sums by a subnormal σ̃
/// (magnification 1/σ̃, e.g. 2^149/3 for W = [3·2⁻¹⁴⁹]); this bound fails that.
fn magnification<T: FF>(max_w: f64, sigma: f64) -> f64 {
    let scaled = if max_w > 0.0 {
        2.0 * ex_ratio(max_w, sigma.abs())
    } else {
        0.0
    };
    (1.0 / sqrt_min_pos::<T>()).max(scaled)
}

/// The rounding of W̄ = W/σ̃ to T (or of W to 2^k·W with max|2^k·W| in [1, 2)): an entry
/// below 2·MIN_POSITIVE·max(max|W|, σ̃) may be off by half a subnormal ulp at W̄'s scale (at most
/// max(1, 2·max|W|/σ̃) subnormal ulps), which its partner (xⱼ in W̄x, G_k in ⟨G, W̄⟩) multiplies.
/// Result: Σ over those entries of tiny·|partner|·max(1, 2·max|W|/σ̃). Entries at W̄'s own
/// scale (subnormal weights with σ̃ of their size, as in sn-core's old `apply` issue) get
/// nothing from this term.
fn wbar_rounding<T: FF>(pairs: impl Iterator<Item = (f64, f64)>, max_w: f64, sigma: f64) -> f64 {
    if max_w == 0.0 {
        return 0.0;
    }
    let scale = max_w.max(sigma.abs());
    let small = 2.0 * T::min_positive_value().f();
    let s: f64 = pairs
        .filter(|&(w, _)| w != 0.0 && ex_ratio(w, scale).abs() < small)
        .map(|(_, p)| p.abs())
        .sum();
    if s == 0.0 {
        return 0.0;
    }
    T::tiny() * s * (2.0 * ex_ratio(max_w, sigma.abs())).max(1.0)
}

/// The error sn-core gives `apply` / `normalize_backward` for a σ̃ < 0.
fn negative_sigma_err(r: &sn_core::Result<()>) -> bool {
    match r {
        Err(Error::NonFinite { what, .. }) => what.starts_with("sigma"),
        Err(Error::Negative { .. }) => true,
        _ => false,
    }
}

fn check_backward<T: FF>(
    c: &Ctx<T>,
    st: &Snap<T>,
    g: &[T],
    gw_len: usize,
    r: &sn_core::Result<()>,
    gw: &[T],
) {
    if !shape_ok(c, st) || g.len() != c.len() || gw_len != c.len() {
        assert!(
            matches!(r, Err(Error::LengthMismatch { .. })),
            "backward: {r:?}"
        );
        return;
    }
    let sigma = st.sigma;
    if sigma == T::zero() {
        assert_eq!(*r, Err(Error::ZeroSigma), "backward with sigma 0");
        return;
    }
    if sigma < T::zero() {
        stats::hit("apply_backward_negative_sigma");
        assert!(
            negative_sigma_err(r),
            "normalize_backward with sigma {sigma:?} < 0: {r:?}"
        );
        return;
    }
    if !c.w_finite || !finite(g) {
        assert!(
            matches!(r, Err(Error::NonFinite { .. })),
            "backward of non-finite W/G: {r:?}"
        );
        return;
    }
    // Reference: (G − ⟨G, W⟩/σ̃ · u vᵀ) / σ̃ in storage layout, with ⟨G, W⟩/σ̃ and
    // Σ|G∘W|/σ̃ exact to f64 rounding at any scale (f64 weights near MAX included).
    let sf = sigma.f();
    let n = c.len();
    let nf = n as f64;
    let (inner, dabs_over) =
        ex_dot_div(g.iter().zip(c.data).map(|(&gi, &wi)| (gi.f(), wi.f())), sf);
    let mw = c.data.iter().fold(0f64, |m, v| m.max(v.f().abs()));
    let mag = magnification::<T>(mw, sf);
    // W̄ = W/σ̃ is only representable to half a subnormal ulp: sn-core forms W_k/σ̃ in T before
    // multiplying by G_k, as ⟨G, normalize(W)⟩ would.
    let wbar_round = wbar_rounding::<T>(
        c.data.iter().zip(g).map(|(&w, &gk)| (w.f(), gk.f())),
        mw,
        sf,
    );
    let inner_err = 2.0
        * (4.0 * (nf + 2.0) * T::eps() * dabs_over
            + 4.0 * (nf + 1.0) * T::tiny() * mag
            + wbar_round
            + 2.0 * T::eps() * inner.abs()
            + T::tiny());
    let lim = T::maxf() / 4.0;
    // sn-core forms W_k/σ̃ (= W̄, which the forward pass needed anyway) and Σ (W_k/σ̃)·G_k:
    // Overflow is allowed when W̄, Σ|W̄∘G| or ⟨G, W̄⟩ is near MAX, not merely ⟨G, W⟩ (W near
    // MAX with an ordinary W̄ and G).
    let wbar_max = if mw > 0.0 { ex_ratio(mw, sf) } else { 0.0 };
    let mut big = !(wbar_max <= lim && dabs_over <= lim && inner.abs() + inner_err <= lim);
    let mut checks = Vec::new();
    if !big {
        for i in 0..c.rows {
            for j in 0..c.cols {
                let k = c.idx(i, j);
                // (inner·u_i)·v_j in sn-core's order: u_i·v_j alone can underflow in f64.
                let (ui, vj) = (st.u[i].f(), st.v[j].f());
                let cv = (inner * ui) * vj;
                let t = g[k].f() - cv;
                let want = t / sf;
                // c = inner·u_i is rounded in T before it meets v_j: a subnormal c carries an
                // absolute error of up to half the smallest subnormal, magnified by |v_j|.
                let e_t = (inner_err * ui.abs()) * vj.abs()
                    + 4.0 * T::eps() * (g[k].f().abs() + cv.abs())
                    + 2.0 * T::tiny() * (1.0 + vj.abs());
                let e = 2.0 * (e_t / sf.abs() + 2.0 * T::eps() * want.abs() + T::tiny());
                if !(cv.abs() + e_t <= lim && t.abs() + e_t <= lim && want.abs() + e <= lim) {
                    big = true;
                }
                checks.push((k, want, e));
            }
        }
    }
    match r {
        Ok(()) => {
            assert_finite("normalize_backward gradient", gw);
            if !big {
                stats::hit("backward_ok_ref_checked");
                if sf < sqrt_min_pos::<T>() {
                    stats::hit("backward_ref_tiny_sigma");
                } else if sf > T::maxf().sqrt() {
                    stats::hit("backward_ref_huge_sigma");
                }
                if wbar_round > 0.0 {
                    stats::hit("wbar_rounding_allowed");
                }
                for (k, want, e) in checks {
                    assert!(
                        (gw[k].f() - want).abs() <= e,
                        "{}: backward[{k}] = {:?}, want {want} (bound {e})\n W {:?}\n G {:?}\n state {st:?}\n out {gw:?}\n rows {} cols {} blocks {}",
                        T::NAME,
                        gw[k],
                        c.data,
                        g,
                        c.rows,
                        c.cols,
                        c.blocks
                    );
                }
            }
        }
        Err(Error::Overflow { .. }) => {
            stats::hit("backward_overflow");
            assert!(
                big,
                "{}: backward Overflow but the gradient fits (sigma {sigma:?}, W {:?}, G {g:?})",
                T::NAME,
                c.data
            )
        }
        Err(e) => panic!("normalize_backward: unexpected {e:?}"),
    }
}

fn check_lipschitz<T: FF>(c: &Ctx<T>, st: &Snap<T>, exact: T, r: &sn_core::Result<T>) {
    if !shape_ok(c, st) {
        // ũ / v of another shape: checked like every other DynSpectralNorm method.
        stats::hit("lipschitz_shape_mismatch");
        assert!(
            matches!(r, Err(Error::LengthMismatch { .. })),
            "lipschitz_constant with u len {} / v len {} for a {}x{} W: {r:?}",
            st.u.len(),
            st.v.len(),
            c.rows,
            c.cols
        );
        return;
    }
    // A caller-supplied σ(W) that is NaN/Inf or negative is invalid input (fixed in sn-core:
    // it used to give a negative Ok or an Overflow).
    if !exact.is_finite() {
        stats::hit("lipschitz_exact_non_finite");
        assert!(
            matches!(r, Err(Error::NonFinite { .. })),
            "lipschitz_constant with sigma_exact {exact:?}: {r:?}"
        );
        return;
    }
    if exact < T::zero() {
        stats::hit("lipschitz_exact_negative");
        assert!(
            matches!(r, Err(Error::Negative { .. })),
            "lipschitz_constant with sigma_exact {exact:?} < 0: {r:?}"
        );
        return;
    }
    let sigma = st.sigma;
    if sigma < T::zero() {
        // σ̃ = ũᵀWv < 0 (restored state, or power_iteration(w, 0) with vectors from another W):
        // σ(W)/σ̃ would be a negative "Lipschitz constant".
        stats::hit("lipschitz_negative_sigma");
        assert!(
            matches!(r, Err(Error::Negative { .. })),
            "lipschitz_constant with sigma {sigma:?} < 0: {r:?}"
        );
        return;
    }
    if sigma == T::zero() {
        if c.w_zero {
            assert!(
                matches!(r, Ok(x) if *x == T::zero()),
                "lipschitz of zero W: {r:?}"
            );
        } else {
            assert_eq!(*r, Err(Error::ZeroSigma));
        }
        return;
    }
    // σ(W) is the caller's: from sigma_exact (≥ 0), or an arbitrary value. A negative or NaN
    // σ(W) is invalid input, for which an error is always acceptable.
    let invalid_exact = !(exact >= T::zero());
    let q = exact.f() / sigma.f();
    match r {
        Ok(x) => {
            stats::hit("lipschitz_ok");
            assert!(x.is_finite(), "lipschitz_constant gave {x:?}");
            // Never a negative Lipschitz constant. Open issue (README): a negative caller-supplied
            // σ(W) is passed through as σ(W)/σ̃ < 0; tolerated unless `--features strict`.
            if *x < T::zero() && !(invalid_exact && !STRICT) {
                panic!(
                    "{}: lipschitz_constant = {x:?} < 0 (sigma {sigma:?}, sigma_exact {exact:?})",
                    T::NAME
                );
            }
            if *x < T::zero() {
                stats::hit("open_lipschitz_negative_exact");
            }
            if q.abs() <= T::maxf() / 2.0 {
                assert!(
                    (x.f() - q).abs() <= 2.0 * T::eps() * q.abs() + 2.0 * T::tiny(),
                    "{}: lipschitz_constant = {x:?}, want {q}",
                    T::NAME
                );
            }
        }
        Err(Error::Overflow { .. }) => {
            assert!(
                !(q.abs() < T::maxf() * (1.0 - 4.0 * T::eps())),
                "lipschitz Overflow, q = {q}"
            )
        }
        Err(Error::Negative { .. } | Error::NonFinite { .. }) if invalid_exact => {}
        Err(e) => {
            panic!("lipschitz_constant: unexpected {e:?} (sigma {sigma:?}, sigma_exact {exact:?})")
        }
    }
}

// ------------------------------------------------------------------------------------------
// Drivers
// ------------------------------------------------------------------------------------------

/// Constructors with bad or extreme shapes: InvalidShape / LengthMismatch, never a panic.
fn bad_shapes<T: FF>(u: &mut Unstructured) -> AResult<()> {
    let dims = [0usize, 1, 2, 3, 1 << 32, usize::MAX / 2 + 1, usize::MAX];
    let mut d = [0usize; 4];
    for x in d.iter_mut() {
        *x = dims[u.choose_index(dims.len())?];
    }
    let len = u.int_in_range(0..=8usize)?;
    let buf = vec![T::one(); len];
    let expect = |rows: usize, cols: Option<usize>, r: sn_core::Result<DynMatrix<'_, T>>| {
        let total = cols.and_then(|c| rows.checked_mul(c));
        match (cols, total) {
            (Some(c), Some(n)) if rows > 0 && c > 0 => {
                if n == len {
                    assert!(r.is_ok(), "{rows}x{c}: {r:?}");
                } else {
                    assert!(
                        matches!(r, Err(Error::LengthMismatch { expected, found, .. }) if expected == n && found == len),
                        "{rows}x{c} len {len}: {r:?}"
                    );
                }
            }
            _ => assert!(
                matches!(r, Err(Error::InvalidShape { .. })),
                "{rows}x{cols:?}: {r:?}"
            ),
        }
    };
    expect(d[0], Some(d[1]), DynMatrix::new(&buf, d[0], d[1]));
    let cols = d[1].checked_mul(d[2]).and_then(|x| x.checked_mul(d[3]));
    expect(d[0], cols, DynMatrix::conv(&buf, d[0], d[1], d[2], d[3]));
    expect(
        d[0],
        cols,
        DynMatrix::conv_transpose(&buf, d[1], d[0], d[2], d[3]),
    );
    Ok(())
}

fn lipschitz_bound_check<T: FF>(u: &mut Unstructured) -> AResult<()> {
    let n = u.int_in_range(0..=6usize)?;
    let f: Vec<T> = gen_vec(u, n)?;
    let r = lipschitz_bound(f.iter().copied());
    match r {
        Ok(p) => {
            assert!(
                p.is_finite() && p >= T::zero(),
                "lipschitz_bound {f:?} = {p:?}"
            );
            assert!(f.iter().all(|x| x.is_finite() && *x >= T::zero()));
            let want: f64 = f.iter().map(|x| x.f()).product();
            // A prefix product in T's subnormal range loses relative precision that later
            // factors can magnify; compare only when every prefix is normal (or zero).
            let min_normal = T::min_positive_value().f();
            let mut prefix = 1f64;
            let normal = f.iter().all(|x| {
                prefix *= x.f();
                prefix == 0.0 || prefix >= min_normal
            });
            if normal && want <= T::maxf() / 2.0 {
                assert!(
                    (p.f() - want).abs()
                        <= 4.0 * (n as f64 + 1.0) * T::eps() * want + 2.0 * T::tiny()
                );
            }
        }
        Err(Error::NonFinite { index, .. }) => assert!(!f[index].is_finite()),
        Err(Error::Negative { index, .. }) => assert!(f[index] < T::zero()),
        Err(Error::Overflow { .. }) => {
            // Some prefix product overflowed.
            let mut p = 1f64;
            let mut hit = false;
            for x in &f {
                p *= x.f();
                if !(p.abs() < T::maxf() * (1.0 - 8.0 * T::eps() * (n as f64 + 1.0))) {
                    hit = true;
                    break;
                }
            }
            assert!(hit, "lipschitz_bound {f:?}: spurious Overflow");
        }
        Err(e) => panic!("lipschitz_bound: unexpected {e:?}"),
    }
    if let Err(e) = r {
        let _ = e.to_string();
    }
    Ok(())
}

fn gen_u0<T: FF>(u: &mut Unstructured, len: usize) -> AResult<Vec<T>> {
    // A zero start vector a quarter of the time.
    if u.int_in_range(0..=3u8)? == 0 {
        return Ok(vec![T::zero(); len]);
    }
    gen_vec(u, len)
}

/// A candidate ũ for from_parts: often unit (computed in f64), sometimes raw.
fn gen_saved_u<T: FF>(u: &mut Unstructured, len: usize) -> AResult<Vec<T>> {
    let mut x: Vec<T> = gen_u0(u, len)?;
    if u.arbitrary::<bool>()? {
        let n = norm_f64(&x);
        if n > 0.0 && n.is_finite() {
            x.iter_mut().for_each(|v| *v = T::of(v.f() / n));
        }
    }
    Ok(x)
}

fn check_from_parts<T: FF>(uu: &[T], vv: &[T], s: T, r: &sn_core::Result<Snap<T>>) {
    // ‖ũ‖ exactly (Σu² in T may underflow to 0 for a tiny ũ, which must not pass as zero).
    let n = norm_f64(uu);
    match r {
        Ok(st) => {
            assert!(finite(uu) && finite(vv) && s.is_finite());
            assert!(same_slice(&st.u, uu) && same_slice(&st.v, vv) && same(st.sigma, s));
            // Unit within 1e-3, or exactly zero: nothing in between, however small.
            assert!(
                n == 0.0 || (n - 1.0).abs() <= 1e-3 + 1e-5,
                "{}: from_parts accepted u with ‖u‖ = {n} (u = {uu:?})",
                T::NAME
            );
        }
        Err(Error::NonFinite { what, .. }) => match *what {
            "u" => assert!(!finite(uu)),
            "v" => assert!(!finite(vv)),
            "sigma" => assert!(!s.is_finite()),
            _ => {
                assert!(
                    (n - 1.0).abs() >= 1e-3 - 1e-5 && n > 0.0,
                    "{}: from_parts rejected u with ‖u‖ = {n}: {r:?}",
                    T::NAME
                );
                if n < sqrt_min_pos::<T>() {
                    stats::hit("from_parts_tiny_u_rejected");
                }
            }
        },
        Err(e) => panic!("from_parts: unexpected {e:?}"),
    }
}

fn check_new<T: FF>(u0: &[T], r: &sn_core::Result<Snap<T>>) {
    match r {
        Ok(st) => {
            assert!(finite(u0));
            state_finite(st);
            assert!(st.sigma == T::zero() && st.v.iter().all(|&x| x == T::zero()));
            if u0.iter().any(|&x| x != T::zero()) {
                assert_unit("new u", &st.u);
            } else {
                assert!(st.u.iter().all(|&x| x == T::zero()));
            }
        }
        Err(Error::NonFinite { what: "u", index }) => assert!(!u0[*index].is_finite()),
        Err(e) => panic!("new: unexpected {e:?}"),
    }
}

/// The state under test: a `DynSpectralNorm`, and for the const-generic driver the matching
/// `Matrix`/`SpectralNorm` that must stay bit-identical to it.
struct Harness<'a, T: FF, const M: usize, const N: usize> {
    c: Ctx<'a, T>,
    fm: Option<Matrix<'a, T, M, N>>,
    fs: Option<SpectralNorm<T, M, N>>,
    ds: DynSpectralNorm<T, Vec<T>, Vec<T>>,
    last: Option<f64>,
}

fn arr<T: FF, const K: usize>(x: &[T]) -> [T; K] {
    x.try_into().expect("length")
}

impl<'a, T: FF, const M: usize, const N: usize> Harness<'a, T, M, N> {
    fn fixed(&self) -> bool {
        self.fm.is_some()
    }

    fn sync(&self) {
        if let Some(fs) = &self.fs {
            assert!(same_slice(fs.u(), self.ds.u()), "fixed/dyn u differ");
            assert!(same_slice(fs.v(), self.ds.v()), "fixed/dyn v differ");
            assert!(same(fs.sigma(), self.ds.sigma()), "fixed/dyn sigma differ");
        }
    }

    fn create(
        c: Ctx<'a, T>,
        fm: Option<Matrix<'a, T, M, N>>,
        u: &mut Unstructured,
    ) -> AResult<Self> {
        let fixed = fm.is_some();
        let (ul, vl) = if fixed {
            (M, N)
        } else {
            (maybe_wrong_len(u, c.rows)?, maybe_wrong_len(u, c.cols)?)
        };
        let how = u.int_in_range(0..=2u8)?;
        let (ds, fs) = if how < 2 {
            let u0: Vec<T> = gen_u0(u, ul)?;
            let junk: Vec<T> = gen_vec(u, vl)?;
            let dr = DynSpectralNorm::new(u0.clone(), junk);
            check_new(&u0, &dr.as_ref().map(snap).map_err(|e| *e));
            let fr = fixed.then(|| {
                let fr = if how == 0 {
                    SpectralNorm::<T, M, N>::new(arr(&u0))
                } else {
                    SpectralNorm::<T, M, N>::from_fn(|i| u0[i])
                };
                match (&fr, &dr) {
                    (Ok(f), Ok(d)) => {
                        assert!(same_slice(f.u(), d.u()) && same_slice(f.v(), d.v()));
                        assert!(same(f.sigma(), d.sigma()));
                    }
                    (Err(a), Err(b)) => assert_eq!(a, b),
                    _ => panic!("new: fixed {fr:?} vs dyn {dr:?}"),
                }
                fr
            });
            (dr, fr)
        } else {
            let uu: Vec<T> = gen_saved_u(u, ul)?;
            let vv: Vec<T> = gen_vec(u, vl)?;
            let s: T = mixed(u, 0)?;
            let dr = DynSpectralNorm::from_parts(uu.clone(), vv.clone(), s);
            check_from_parts(&uu, &vv, s, &dr.as_ref().map(snap).map_err(|e| *e));
            let fr = fixed.then(|| {
                let fr = SpectralNorm::<T, M, N>::from_parts(arr(&uu), arr(&vv), s);
                match (&fr, &dr) {
                    (Ok(_), Ok(_)) => {}
                    (Err(a), Err(b)) => assert_eq!(a, b),
                    _ => panic!("from_parts: fixed {fr:?} vs dyn {dr:?}"),
                }
                fr
            });
            (dr, fr)
        };
        if let Err(e) = &ds {
            let _ = e.to_string();
        }
        let ds = ds.or_else(|_| DynSpectralNorm::new(vec![T::zero(); ul], vec![T::zero(); vl]));
        let ds = ds.expect("zero start vector is accepted");
        let fs = fs.map(|r| {
            r.or_else(|_| SpectralNorm::new([T::zero(); M]))
                .expect("zero u0")
        });
        let h = Harness {
            c,
            fm,
            fs,
            ds,
            last: None,
        };
        h.sync();
        Ok(h)
    }

    fn step(&mut self, u: &mut Unstructured) -> AResult<()> {
        let (rows, cols, len) = (self.c.rows, self.c.cols, self.c.len());
        let fixed = self.fixed();
        let before = snap(&self.ds);
        match u.int_in_range(0..=5u8)? {
            0 | 1 => {
                let k = rounds(u)?;
                let r = self.ds.power_iteration(self.c.m, k);
                if let (Some(fs), Some(fm)) = (&mut self.fs, self.fm) {
                    let rf = fs.power_iteration(fm, k);
                    assert!(
                        match (&rf, &r) {
                            (Ok(a), Ok(b)) => same(*a, *b),
                            (a, b) => a == b,
                        },
                        "power_iteration: fixed {rf:?} vs dyn {r:?}"
                    );
                }
                if let Err(e) = &r {
                    let _ = e.to_string();
                }
                check_power(&self.c, &before, &snap(&self.ds), k, &r, &mut self.last);
            }
            2 => {
                let ol = maybe_wrong_len(u, len)?;
                let mut out = vec![T::zero(); ol];
                let r = self.ds.normalize(self.c.m, &mut out);
                if let (Some(fs), Some(fm)) = (&self.fs, self.fm) {
                    let mut o2 = vec![T::zero(); ol];
                    assert_eq!(fs.normalize(fm, &mut o2), r);
                    assert!(same_slice(&out, &o2) || r.is_err());
                }
                check_normalize(&self.c, &before, ol, &r, &out);
            }
            3 => {
                let (xl, yl) = if fixed {
                    (cols, rows)
                } else {
                    (maybe_wrong_len(u, cols)?, maybe_wrong_len(u, rows)?)
                };
                let x: Vec<T> = gen_vec(u, xl)?;
                let mut y = vec![T::zero(); yl];
                if !STRICT && apply_zero_w_issue(&self.c, &before, &x, yl) {
                    // Open issue (README): sn-core panics here (debug assertion); skip the call.
                    stats::hit("open_apply_zero_w_skipped");
                    return Ok(());
                }
                let r = self.ds.apply(self.c.m, &x, &mut y);
                if let (Some(fs), Some(fm)) = (&self.fs, self.fm) {
                    let mut y2 = [T::zero(); M];
                    assert_eq!(fs.apply(fm, &arr(&x), &mut y2), r);
                    assert!(same_slice(&y, &y2) || r.is_err());
                }
                check_apply(&self.c, &before, &x, yl, &r, &y);
            }
            4 => {
                let (gl, ol) = (maybe_wrong_len(u, len)?, maybe_wrong_len(u, len)?);
                let g: Vec<T> = gen_vec(u, gl)?;
                let mut gw = vec![T::zero(); ol];
                let r = self.ds.normalize_backward(self.c.m, &g, &mut gw);
                if let (Some(fs), Some(fm)) = (&self.fs, self.fm) {
                    let mut g2 = vec![T::zero(); ol];
                    assert_eq!(fs.normalize_backward(fm, &g, &mut g2), r);
                    assert!(same_slice(&gw, &g2) || r.is_err());
                }
                check_backward(&self.c, &before, &g, ol, &r, &gw);
            }
            _ => {
                // Lipschitz constant: σ(W) from sigma_exact, or an arbitrary value.
                let t: T = tol(u)?;
                let it = u.int_in_range(0..=40usize)?;
                let (mut eu, mut ev, mut ew) = (
                    vec![T::zero(); rows],
                    vec![T::zero(); cols],
                    vec![T::zero(); cols],
                );
                let ex = self.c.m.sigma_exact(t, it, &mut eu, &mut ev, &mut ew);
                let exact = match (u.arbitrary::<u8>()? < 200, &ex) {
                    (true, Ok(cv)) => cv.sigma,
                    _ => mixed(u, 0)?,
                };
                let r = self.ds.lipschitz_constant(self.c.m, exact);
                if let (Some(fs), Some(fm)) = (&self.fs, self.fm) {
                    let rf = fs.lipschitz_constant(fm, t, it);
                    let rd = ex.and_then(|cv| self.ds.lipschitz_constant(self.c.m, cv.sigma));
                    assert!(
                        match (&rf, &rd) {
                            (Ok(a), Ok(b)) => same(*a, *b),
                            (a, b) => a == b,
                        },
                        "lipschitz_constant: fixed {rf:?} vs dyn {rd:?}"
                    );
                }
                if let Err(e) = &r {
                    let _ = e.to_string();
                }
                check_lipschitz(&self.c, &before, exact, &r);
            }
        }
        // Only power_iteration may change the state.
        let after = snap(&self.ds);
        state_finite(&after);
        self.sync();
        Ok(())
    }
}

/// Runtime-shaped weights: DynMatrix + DynSpectralNorm.
fn drive<T: FF>(u: &mut Unstructured) -> AResult<()> {
    bad_shapes::<T>(u)?;
    lipschitz_bound_check::<T>(u)?;

    let layout = u.int_in_range(0..=2u8)?;
    let rows = u.int_in_range(1..=16usize)?;
    let (d_in, kh, kw) = if layout == 0 {
        (u.int_in_range(1..=16usize)?, 1, 1)
    } else {
        let kh = u.int_in_range(1..=3usize)?;
        let kw = u.int_in_range(1..=3usize)?;
        (u.int_in_range(1..=(16 / (kh * kw)).max(1))?, kh, kw)
    };
    let cols = d_in * kh * kw;
    let len = rows * cols;
    let wl = maybe_wrong_len(u, len)?;
    let data: Vec<T> = gen_vec(u, wl)?;
    let m = match layout {
        0 => DynMatrix::new(&data, rows, cols),
        1 => DynMatrix::conv(&data, rows, d_in, kh, kw),
        _ => DynMatrix::conv_transpose(&data, d_in, rows, kh, kw),
    };
    if wl != len {
        assert!(
            matches!(m, Err(Error::LengthMismatch { what: "weight", expected, found }) if expected == len && found == wl),
            "{m:?}"
        );
        return Ok(());
    }
    let m = m.expect("valid shape and length");
    let blocks = if layout == 2 { d_in } else { 1 };
    let c = Ctx::new(m, &data, rows, cols, blocks);
    c.check_get();

    // Raw kernels.
    let (xl, yl) = (maybe_wrong_len(u, cols)?, maybe_wrong_len(u, rows)?);
    let x: Vec<T> = gen_vec(u, xl)?;
    let mut y = vec![T::zero(); yl];
    let r = m.mul_vec(&x, &mut y);
    c.check_mul_vec(&x, yl, r, &y);
    let (yl, xl) = (maybe_wrong_len(u, rows)?, maybe_wrong_len(u, cols)?);
    let yv: Vec<T> = gen_vec(u, yl)?;
    let mut xo = vec![T::zero(); xl];
    let r = m.mul_vec_transposed(&yv, &mut xo);
    c.check_mul_vec_t(&yv, xl, r, &xo);

    // sigma_exact.
    let t: T = tol(u)?;
    let it = u.int_in_range(0..=40usize)?;
    let lens = (
        maybe_wrong_len(u, rows)?,
        maybe_wrong_len(u, cols)?,
        maybe_wrong_len(u, cols)?,
    );
    let (mut eu, mut ev, mut ew) = (
        vec![T::zero(); lens.0],
        vec![T::zero(); lens.1],
        vec![T::zero(); lens.2],
    );
    let r = m.sigma_exact(t, it, &mut eu, &mut ev, &mut ew);
    c.check_sigma_exact(t, it, lens, &r, &eu, &ev);
    if let Err(e) = &r {
        let _ = e.to_string();
    }

    // Spectral-norm state and a sequence of operations on it.
    let mut h = Harness::<T, 1, 1>::create(c, None, u)?;
    let steps = u.int_in_range(1..=8u8)?;
    for _ in 0..steps {
        h.step(u)?;
    }
    Ok(())
}

fn fixed_all<T: FF>(u: &mut Unstructured) -> AResult<()> {
    if u.arbitrary::<bool>()? {
        // Dense 3×4; conv (3, 2, 1, 2); transposed conv (2, 3, 1, 2).
        fixed::<T, 3, 4, 2, 1, 2>(u)
    } else {
        // Dense 2×4; conv (2, 1, 2, 2); transposed conv (1, 2, 2, 2).
        fixed::<T, 2, 4, 1, 2, 2>(u)
    }
}

/// Compile-time-shaped weights: Matrix + SpectralNorm, checked bit for bit against the dyn API.
fn fixed<
    T: FF,
    const M: usize,
    const N: usize,
    const DI: usize,
    const KH: usize,
    const KW: usize,
>(
    u: &mut Unstructured,
) -> AResult<()> {
    stats::hit("fixed_runs");
    let layout = u.int_in_range(0..=2u8)?;
    let wl = maybe_wrong_len(u, M * N)?;
    let data: Vec<T> = gen_vec(u, wl)?;
    let (fm, dm) = match layout {
        0 => (Matrix::<T, M, N>::new(&data), DynMatrix::new(&data, M, N)),
        1 => (
            Matrix::<T, M, N>::conv::<DI, KH, KW>(&data),
            DynMatrix::conv(&data, M, DI, KH, KW),
        ),
        _ => (
            Matrix::<T, M, N>::conv_transpose::<DI, KH, KW>(&data),
            DynMatrix::conv_transpose(&data, DI, M, KH, KW),
        ),
    };
    if wl != M * N {
        assert!(matches!(fm, Err(Error::LengthMismatch { .. })), "{fm:?}");
        assert_eq!(fm.err(), dm.err());
        return Ok(());
    }
    let (fm, dm) = (fm.expect("fixed matrix"), dm.expect("dyn matrix"));
    let ad = fm.as_dyn();
    assert_eq!((ad.rows(), ad.cols()), (M, N));
    assert!(core::ptr::eq(ad.data(), dm.data()));
    let blocks = if layout == 2 { DI } else { 1 };
    let c = Ctx::new(dm, &data, M, N, blocks);
    c.check_get();
    for i in 0..=M {
        for j in 0..=N {
            let (a, b) = (fm.get(i, j), dm.get(i, j));
            assert!(a
                .zip(b)
                .map_or(a.is_none() && b.is_none(), |(a, b)| same(a, b)));
        }
    }

    let x: Vec<T> = gen_vec(u, N)?;
    let (mut y, mut y2) = ([T::zero(); M], vec![T::zero(); M]);
    fm.mul_vec(&arr(&x), &mut y);
    let r = dm.mul_vec(&x, &mut y2);
    assert!(same_slice(&y, &y2), "mul_vec fixed/dyn differ");
    c.check_mul_vec(&x, M, r, &y);

    let yv: Vec<T> = gen_vec(u, M)?;
    let (mut xo, mut xo2) = ([T::zero(); N], vec![T::zero(); N]);
    fm.mul_vec_transposed(&arr(&yv), &mut xo);
    let r = dm.mul_vec_transposed(&yv, &mut xo2);
    assert!(same_slice(&xo, &xo2), "mul_vec_transposed fixed/dyn differ");
    c.check_mul_vec_t(&yv, N, r, &xo);

    let t: T = tol(u)?;
    let it = u.int_in_range(0..=40usize)?;
    let rf = fm.sigma_exact(t, it);
    let (mut eu, mut ev, mut ew) = (vec![T::zero(); M], vec![T::zero(); N], vec![T::zero(); N]);
    let rd = dm.sigma_exact(t, it, &mut eu, &mut ev, &mut ew);
    match (&rf, &rd) {
        (Ok(a), Ok(b)) => {
            assert!(same(a.sigma, b.sigma) && a.iterations == b.iterations);
            assert!(a.converged == b.converged);
            assert!(same_slice(&a.u, &eu) && same_slice(&a.v, &ev));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("sigma_exact: fixed {rf:?} vs dyn {rd:?}"),
    }
    c.check_sigma_exact(t, it, (M, N, N), &rd, &eu, &ev);

    let mut h = Harness::<T, M, N>::create(c, Some(fm), u)?;
    let steps = u.int_in_range(1..=8u8)?;
    for _ in 0..steps {
        h.step(u)?;
    }
    Ok(())
}
