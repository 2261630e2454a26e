//! Networks whose layer sizes do not chain must not build (trybuild).
//!
//! Channel counts are types, so a channel mismatch is a type error. Spatial sizes and the
//! spectral-norm column count `N = I·K·K` are checked by associated-const asserts in the layers'
//! `forward`, which fire when `forward` is instantiated: a post-monomorphization error that
//! `cargo check` does not report. trybuild runs `cargo build` (not `check`) on all cases when at
//! least one `pass` case is registered, so `tests/ui-pass` is what makes the const-assert cases
//! real; it also shows that a well-chained network builds and runs.
//!
//! The `.stderr` snapshots depend on rustc's diagnostic format: regenerate them with
//! `TRYBUILD=overwrite cargo test --release -p sngan --test compile_fail` after a toolchain
//! update, and read the diff.

#[test]
fn layer_sizes_must_chain() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui-pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}
