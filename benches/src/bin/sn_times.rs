//! Prints sn-core's side-by-side timings for the Table 3 discriminator shapes, as a table or
//! (with `--json`) one JSON object per line for `benches/pytorch/sn_core_vs_torch.py`.

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let times = sngan_benches::table3_times(21, 20.0);
    if json {
        for t in &times {
            println!(
                "{{\"rows\": {}, \"cols\": {}, \"round_ns\": {:.1}, \"stream_ns\": {:.1}, \"normalize_ns\": {:.1}, \"copy_ns\": {:.1}}}",
                t.rows, t.cols, t.round_ns, t.stream_ns, t.normalize_ns, t.copy_ns
            );
        }
    } else {
        print!("{}", sngan_benches::ratio_table(&times));
    }
}
