//! The process allocator of the crate's binaries, examples and benchmarks: mimalloc, told to
//! keep the memory that a training step frees for the next step.
//!
//! A training step allocates and frees the same few hundred MB of activations, gradients and
//! scratch buffers every time. glibc's malloc serves large blocks with `mmap` and gives them
//! back with `munmap`, so every step faulted every page in again: on the Table 3 D step
//! ≈ 110,000 minor page faults per step and about a fifth of the CPU time in the kernel
//! (clearing pages, TLB shootdowns), measured with `perf stat` on the 2-core CI machine.
//! mimalloc with purging switched off ([`keep_freed_memory`]) reuses freed blocks without
//! returning them to the OS: the faults drop to almost none, and the process's peak memory is
//! its live peak plus fragmentation, as with any caching allocator (PyTorch's CUDA one, say).
//!
//! A binary opts in with two lines:
//!
//! ```no_run
//! #[global_allocator]
//! static GLOBAL: sngan::alloc::MiMalloc = sngan::alloc::MiMalloc;
//!
//! fn main() {
//!     sngan::alloc::keep_freed_memory();
//!     // ...
//! }
//! ```
//!
//! A library user who keeps another global allocator is unaffected: nothing here runs unless
//! called, and [`keep_freed_memory`] only sets one of mimalloc's options.

pub use mimalloc::MiMalloc;

/// The index of `mi_option_purge_delay` (the 16th entry of `mi_option_e`, the option enum of
/// the mimalloc v3.3 that `libmimalloc-sys` 0.1.49 builds): the crate exports no constant for
/// it. The versions are pinned in `Cargo.toml`, and `tests/alloc.rs` checks that this index is
/// the option mimalloc reads from `MIMALLOC_PURGE_DELAY`.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Switches mimalloc's purging off (`purge_delay = -1`): freed memory stays mapped and is
/// reused, instead of being handed back to the OS after the default delay and faulted in
/// again. Call it first thing in `main`; it takes effect for every later free. Harmless when
/// mimalloc is not the global allocator.
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table (an atomic store;
    // any thread, any time). The index is a valid option (`MI_OPTION_PURGE_DELAY` above) and
    // −1 is that option's documented "never purge" value.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// mimalloc's purge delay in milliseconds (−1: never purge), as the option at
/// [`MI_OPTION_PURGE_DELAY`] reads: `tests/alloc.rs` checks through it that the index is the
/// one mimalloc reads from `MIMALLOC_PURGE_DELAY`.
#[doc(hidden)]
#[allow(unsafe_code)]
// `c_long` is i64 here but i32 on Windows.
#[allow(clippy::useless_conversion)]
pub fn purge_delay_ms() -> i64 {
    // SAFETY: `mi_option_get` reads an integer from mimalloc's option table (initializing it
    // from the environment on first use); the index is a valid option.
    i64::from(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) })
}
