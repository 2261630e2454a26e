//! CIFAR-10, binary version (SNGAN.md §9).

use std::path::{Path, PathBuf};

use super::{check_read, file_len, io_error, thousands, unit};
use crate::data::ImageSource;
use crate::Error;

/// Bytes of one image: 3 planes of 32 × 32.
const IMAGE_LEN: usize = 3 * 32 * 32;
/// Bytes of one record: the label byte, then the image.
const RECORD_LEN: usize = 1 + IMAGE_LEN;
/// Records in each file of the distribution.
const RECORDS_PER_FILE: usize = 10_000;
/// Classes: labels are `0..CLASSES`.
const CLASSES: u8 = 10;

/// Which files of the distribution to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cifar10Split {
    /// `data_batch_1.bin` … `data_batch_5.bin`: 50,000 images.
    Train,
    /// `test_batch.bin`: 10,000 images.
    Test,
}

impl Cifar10Split {
    /// The file names of the split, in the order they are read.
    pub fn file_names(self) -> &'static [&'static str] {
        match self {
            Cifar10Split::Train => &[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
            ],
            Cifar10Split::Test => &["test_batch.bin"],
        }
    }
}

/// CIFAR-10 (binary version) in memory: `3 × 32 × 32` images, served in [−1, 1].
///
/// Each file is a sequence of 3,073-byte records: one label byte (0–9), then 1,024 red,
/// 1,024 green and 1,024 blue bytes, each plane row-major 32 × 32 — already NCHW, so a read
/// is a copy with `x / 127.5 − 1`. The pixels stay `u8` in memory (150 MB for the training
/// split, a quarter of the `f32` size).
///
/// The type is an [`ImageSource<32>`] only, so using it at another resolution does not build:
///
/// ```compile_fail
/// fn at_48(c: sngan::datasets::Cifar10) {
///     let _ = sngan::data::Batches::<48, _>::new(c, 0);
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Cifar10 {
    /// `len × 3,072` bytes, NCHW.
    pixels: Vec<u8>,
    /// One label (0–9) per image.
    labels: Vec<u8>,
}

impl Cifar10 {
    /// Reads the files of `split` from `dir` (the extracted `cifar-10-batches-bin`), each of
    /// which must hold exactly 10,000 records.
    ///
    /// # Errors
    /// [`Error::Data`] naming the file for a missing file, a size other than 30,730,000 bytes,
    /// or a label outside 0–9 (with the record index); [`Error::Io`] for a file that cannot be
    /// read.
    pub fn open(dir: impl AsRef<Path>, split: Cifar10Split) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let names = split.file_names();
        let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
        let expected = match split {
            Cifar10Split::Train => "data_batch_1.bin … data_batch_5.bin",
            Cifar10Split::Test => "test_batch.bin",
        };
        for path in &paths {
            if !path.exists() {
                return Err(Error::Data(format!(
                    "{}: not found (the CIFAR-10 {split:?} split is {expected} in {})",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Self::load(&paths, Some(RECORDS_PER_FILE))
    }

    /// Reads `paths` in order; each must hold a whole, non-zero number of 3,073-byte records
    /// (the distribution's files hold 10,000; [`Cifar10::open`] insists on that).
    ///
    /// # Errors
    /// As [`Cifar10::open`], with "a whole, non-zero number of records" as the size rule, and
    /// [`Error::Data`] for an empty `paths`.
    pub fn open_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, Error> {
        if paths.is_empty() {
            return Err(Error::Data(
                "CIFAR-10: expected at least one batch file, found none".into(),
            ));
        }
        let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
        Self::load(&paths, None)
    }

    /// Reads `paths`, each of `records` records if given, else of any whole non-zero number.
    fn load<P: AsRef<Path>>(paths: &[P], records: Option<usize>) -> Result<Self, Error> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let what = "a CIFAR-10 binary batch";
            // The size is checked before reading, so a wrong (perhaps huge) file is never
            // loaded, and again after, in case it changed in between.
            let check = |len: u64| match records {
                Some(n) if len != (n * RECORD_LEN) as u64 => Err(Error::Data(format!(
                    "{}: expected {} bytes ({} records of {}), found {}",
                    path.display(),
                    thousands((n * RECORD_LEN) as u64),
                    thousands(n as u64),
                    thousands(RECORD_LEN as u64),
                    thousands(len)
                ))),
                None if len == 0 || !len.is_multiple_of(RECORD_LEN as u64) => {
                    Err(Error::Data(format!(
                        "{}: expected a whole, non-zero number of {}-byte records, found {} bytes \
                     ({} records and {} bytes)",
                        path.display(),
                        thousands(RECORD_LEN as u64),
                        thousands(len),
                        thousands(len / RECORD_LEN as u64),
                        len % RECORD_LEN as u64
                    )))
                }
                _ => Ok(()),
            };
            check(file_len(path, what)?)?;
            let bytes = std::fs::read(path).map_err(|e| io_error(path, what, e))?;
            check(bytes.len() as u64)?;

            let n = bytes.len() / RECORD_LEN;
            pixels.reserve(n * IMAGE_LEN);
            labels.reserve(n);
            for (r, record) in bytes.chunks_exact(RECORD_LEN).enumerate() {
                let label = record[0];
                if label >= CLASSES {
                    return Err(Error::Data(format!(
                        "{}: record {} (counting from 0, at byte {}) has label {label}, \
                         expected 0–{}",
                        path.display(),
                        thousands(r as u64),
                        thousands((r * RECORD_LEN) as u64),
                        CLASSES - 1
                    )));
                }
                labels.push(label);
                pixels.extend_from_slice(&record[1..]);
            }
        }
        Ok(Cifar10 { pixels, labels })
    }

    /// The class (0–9) of each image, in image order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
}

impl ImageSource<32> for Cifar10 {
    fn len(&self) -> usize {
        self.labels.len()
    }

    /// # Errors
    /// [`Error::Data`] for `i ≥ len()` or an `out` of other than 3,072 values.
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error> {
        check_read("CIFAR-10", i, self.labels.len(), out, 32)?;
        let src = &self.pixels[i * IMAGE_LEN..(i + 1) * IMAGE_LEN];
        for (o, &x) in out.iter_mut().zip(src) {
            *o = unit(x);
        }
        Ok(())
    }
}
