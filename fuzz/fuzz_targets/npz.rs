//! Fuzzes sngan's `.npz` reader (`sngan::metrics::npz::read`, `sngan::metrics::read_stats`):
//! the input becomes a file on disk and both read it.
//!
//! The first byte steers, the rest is the content: `ctl & 1` clear: the content is the file as
//! is (the zip parser sees it); set: a zip holding the content's first half as `mu.npy` and,
//! when `ctl & 2`, its second half as `sigma.npy`, stored or deflated by `ctl & 4` (the `.npy`
//! parser sees arbitrary bytes).
//!
//! Invariants (a violation panics): nothing panics; every array read holds as many values as
//! its shape says; statistics read have a d × d sigma for a length-d mu.
#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sngan::metrics::npz::{self, NpyData};
use sngan::metrics::read_stats;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// This process's scratch file (overwritten on every run).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("sngan-fuzz-npz-{}.npz", std::process::id()))
    })
}

fn zipped(body: &[u8], ctl: u8) -> Vec<u8> {
    let method = if ctl & 4 == 0 {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let opts = SimpleFileOptions::default().compression_method(method);
    let half = body.len() / 2;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("mu.npy", opts).expect("zip entry");
    z.write_all(&body[..half]).expect("zip write");
    if ctl & 2 != 0 {
        z.start_file("sigma.npy", opts).expect("zip entry");
        z.write_all(&body[half..]).expect("zip write");
    }
    z.finish().expect("zip finish").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else {
        return;
    };
    let bytes = if ctl & 1 == 0 {
        body.to_vec()
    } else {
        zipped(body, ctl)
    };
    std::fs::write(path(), &bytes).expect("write the scratch file");
    if let Ok(entries) = npz::read(path()) {
        for (_, a) in &entries {
            let n: usize = a.shape.iter().product();
            match &a.data {
                NpyData::F64(v) => assert_eq!(v.len(), n),
                NpyData::Str(s) => assert_eq!(s.len(), n),
            }
        }
    }
    if let Ok((s, _)) = read_stats(path()) {
        assert_eq!(s.sigma.len(), s.mu.len() * s.mu.len());
    }
});
