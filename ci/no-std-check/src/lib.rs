//! A `#![no_std]` consumer of sn-core, built as a staticlib with its own `#[panic_handler]`.
//!
//! If sn-core (default features off) ever linked `std` — an `extern crate std`, a dependency
//! with `std` on — this crate fails to build with E0152 "found duplicate lang item
//! `panic_impl`", because std brings its own panic handler. Build it with
//! `cargo build --release --manifest-path ci/no-std-check/Cargo.toml`.
#![no_std]

use core::panic::PanicInfo;
use sn_core::{lipschitz_bound, Error, Float, Matrix, SpectralNorm};

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}

/// Power iteration, W̄ = W/σ̃, σ(W̄) and the Lipschitz bound for a 2×3 weight built from `a`, `b`.
fn exercise<T: Float>(a: T, b: T) -> Result<T, Error> {
    let w = [a, b, T::one(), T::zero(), b, a];
    let m = Matrix::<T, 2, 3>::new(&w)?;
    let mut sn = SpectralNorm::<T, 2, 3>::new([T::one(), T::one()])?;
    let sigma_tilde = sn.power_iteration(m, 50)?;
    let mut w_bar = [T::zero(); 6];
    sn.normalize(m, &mut w_bar)?;
    let sigma = m.sigma_exact(T::lit(1e-6), 1000)?.sigma;
    let sigma_bar = Matrix::<T, 2, 3>::new(&w_bar)?
        .sigma_exact(T::lit(1e-6), 1000)?
        .sigma;
    // ‖W̄‖_Lip · σ(W)/σ̃: both ≈ 1 once σ̃ has converged.
    lipschitz_bound([sigma_bar, sigma / sigma_tilde])
}

/// Runs sn-core in f32 and f64; returns 0 when both bounds are ≈ 1, a non-zero code otherwise.
#[no_mangle]
pub extern "C" fn sn_core_no_std_check(a: f64, b: f64) -> i32 {
    let near_one_64 = |x: f64| x > 0.999 && x < 1.001;
    let near_one_32 = |x: f32| x > 0.999 && x < 1.001;
    match (exercise::<f64>(a, b), exercise::<f32>(a as f32, b as f32)) {
        (Ok(x), Ok(y)) if near_one_64(x) && near_one_32(y) => 0,
        (Ok(_), Ok(_)) => 1,
        _ => 2,
    }
}
