//! Fuzzes sngan's dataset readers (`sngan::datasets`): the input becomes files on disk, each
//! reader opens them, and every image is read.
//!
//! The first byte steers, the rest is the content:
//! * `ctl % 3 == 0`: a CIFAR-10 batch; `ctl & 0x80` clear: the content is the file as is, set:
//!   the content cycled to fill `1 + (ctl >> 3) % 3` whole records, plus `(ctl >> 5) & 3`
//!   stray bytes.
//! * `ctl % 3 == 1`: an STL-10 image file, built the same way from 27,648-byte images, with a
//!   label file of the content's first `images ± 1` bytes when `ctl & 4`; read at M = 48
//!   (exact 2 × 2 means) or M = 5 (fractional area weights), by `ctl & 0x40`.
//! * `ctl % 3 == 2`: a folder holding the content as `img.png` or `img.jpg` (by `ctl & 4`),
//!   read at M = 8 or M = 1 (by `ctl & 0x40`).
//!
//! Invariants (a violation panics): nothing panics; once a reader has opened the files, every
//! `read(i)` for `i < len()` is `Ok` and gives finite values in [−1, 1]; `read(len())` and a
//! wrong-length buffer are `Err`; CIFAR-10 values are exactly `byte / 127.5 − 1` of the record's
//! bytes, and its labels the records' first bytes.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sngan::data::ImageSource;
use sngan::datasets::{Cifar10, ImageFolder, Stl10};

/// This process's scratch folder (files are overwritten on every run).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("sngan-fuzz-datasets-{}", std::process::id()));
        fs::create_dir_all(d.join("folder")).expect("create the scratch folder");
        d
    })
}

/// `body` as is, or cycled to `n` units of `unit` bytes plus `extra` bytes.
fn build(body: &[u8], ctl: u8, unit: usize) -> Vec<u8> {
    if ctl & 0x80 == 0 {
        return body.to_vec();
    }
    let n = 1 + usize::from(ctl >> 3) % 3;
    let extra = usize::from((ctl >> 5) & 3);
    let len = n * unit + extra;
    if body.is_empty() {
        return vec![0; len];
    }
    body.iter().copied().cycle().take(len).collect()
}

/// Reads every image of `s`, checking the invariants; returns the images.
fn read_every<const M: usize, S: ImageSource<M>>(s: &S) -> Vec<Vec<f32>> {
    assert!(s.len() > 0, "an opened source is never empty");
    let mut all = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        let mut out = vec![f32::NAN; 3 * M * M];
        s.read(i, &mut out)
            .expect("a read of an opened, unchanged file succeeds");
        assert!(
            out.iter().all(|v| (-1.0..=1.0).contains(v)),
            "image {i}: a value outside [-1, 1] (or NaN)"
        );
        all.push(out);
    }
    let mut out = vec![0.0; 3 * M * M];
    assert!(
        s.read(s.len(), &mut out).is_err(),
        "read(len()) must be an error"
    );
    assert!(
        s.read(0, &mut out[1..]).is_err(),
        "a short buffer must be an error"
    );
    all
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).expect("write a scratch file");
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else {
        return;
    };
    let dir = scratch();
    match ctl % 3 {
        0 => {
            let bytes = build(body, ctl, 3073);
            let path = dir.join("batch.bin");
            write(&path, &bytes);
            if let Ok(c) = Cifar10::open_files(&[&path]) {
                let images = read_every::<32, _>(&c);
                assert_eq!(images.len() * 3073, bytes.len());
                for (n, (img, record)) in images.iter().zip(bytes.chunks_exact(3073)).enumerate() {
                    assert_eq!(c.labels()[n], record[0]);
                    for (v, &b) in img.iter().zip(&record[1..]) {
                        assert_eq!(*v, f32::from(b) / 127.5 - 1.0);
                    }
                }
            }
        }
        1 => {
            let bytes = build(body, ctl, 27_648);
            let x = dir.join("x.bin");
            write(&x, &bytes);
            let y = (ctl & 4 != 0).then(|| {
                let images = bytes.len() / 27_648;
                // One label per image, or one too few / too many now and then.
                let n = match ctl & 3 {
                    0 => images + 1,
                    1 => images.saturating_sub(1),
                    _ => images,
                };
                let labels: Vec<u8> = body
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(1))
                    .take(n)
                    .collect();
                let y = dir.join("y.bin");
                write(&y, &labels);
                y
            });
            if ctl & 0x40 == 0 {
                if let Ok(s) = Stl10::<48>::open_files(&x, y.as_deref()) {
                    read_every::<48, _>(&s);
                    check_labels(s.labels(), s.len(), y.is_some());
                }
            } else if let Ok(s) = Stl10::<5>::open_files(&x, y.as_deref()) {
                read_every::<5, _>(&s);
                check_labels(s.labels(), s.len(), y.is_some());
            }
        }
        _ => {
            let folder = dir.join("folder");
            let (name, other) = if ctl & 4 == 0 {
                ("img.png", "img.jpg")
            } else {
                ("img.jpg", "img.png")
            };
            let _ = fs::remove_file(folder.join(other));
            write(&folder.join(name), body);
            if ctl & 0x40 == 0 {
                if let Ok(f) = ImageFolder::<8>::open(&folder) {
                    assert_eq!(read_every::<8, _>(&f).len(), 1);
                }
            } else if let Ok(f) = ImageFolder::<1>::open(&folder) {
                assert_eq!(read_every::<1, _>(&f).len(), 1);
            }
        }
    }
});

/// Labels, when a label file was given, are one class index 0–9 per image.
fn check_labels(labels: Option<&[u8]>, len: usize, given: bool) {
    assert_eq!(labels.is_some(), given);
    if let Some(l) = labels {
        assert_eq!(l.len(), len);
        assert!(l.iter().all(|&c| c < 10));
    }
}
