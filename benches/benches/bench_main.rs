//! Criterion benchmarks, one topic module each, every one with its baseline in the same run.
//!
//! `cargo bench -p sngan-benches` runs them all and ends with the ratio table of sn-core's
//! power-iteration round against streaming the same bytes twice (the memory bound). Filter with
//! criterion's usual argument, e.g. `cargo bench -p sngan-benches -- table3_step`.

use criterion::Criterion;

mod sn_core_bench;
mod table3_bench;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    sn_core_bench::power_iteration(&mut c);
    sn_core_bench::normalize(&mut c);
    table3_bench::steps(&mut c);
    c.final_summary();
    sn_core_bench::print_ratios();
}
