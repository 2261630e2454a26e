//! Readers for the paper's datasets (SNGAN.md §9), each an [`ImageSource`](crate::data::ImageSource):
//!
//! | type | format | images | `M` |
//! | --- | --- | --- | --- |
//! | [`Cifar10`] | CIFAR-10 binary batches, held in memory as `u8` | 50,000 train / 10,000 test | 32 only |
//! | [`Stl10`] | STL-10 binary `*_X.bin` (+ `*_y.bin`), read lazily per image | 100,000 unlabeled / 5,000 train / 8,000 test | 1..=96 (area-averaged) |
//! | [`ImageFolder`] | a folder of PNG / JPEG files, center-cropped and resized once, held as `u8` | any | any ≥ 1 |
//!
//! Bytes map to [−1, 1] as `x / 127.5 − 1` (0 → −1, 255 → 1), the inverse of
//! [`crate::viz::save_grid`]'s `(v + 1) · 127.5`.
//!
//! Every problem with the files is an [`Error`]: [`Error::Data`] for a missing file or bytes
//! that do not have the format (the message names the file, what was expected and what was
//! found), [`Error::Io`] for a file that exists but cannot be read. Nothing here panics on the
//! contents of a file.
//!
//! ```no_run
//! use sngan::data::{Batches, ImageSource};
//! use sngan::datasets::{Cifar10, Cifar10Split, Stl10, Stl10Split};
//!
//! # fn main() -> Result<(), sngan::Error> {
//! let cifar = Cifar10::open("data/cifar-10-batches-bin", Cifar10Split::Train)?;
//! assert_eq!(cifar.len(), 50_000);
//! // SN-GAN trains on STL-10's unlabeled images at 48 × 48 (Table 3).
//! let stl = Stl10::<48>::open("data/stl10_binary", Stl10Split::Unlabeled)?;
//! let batches = Batches::new(stl, 0)?;
//! # Ok(()) }
//! ```

mod cifar10;
mod image_folder;
mod stl10;

pub use cifar10::{Cifar10, Cifar10Split};
pub use image_folder::ImageFolder;
pub use stl10::{Stl10, Stl10Split};

use std::io;
use std::path::Path;

use crate::Error;

/// A byte as a value in [−1, 1]: `x / 127.5 − 1`.
#[inline]
pub(crate) fn unit(x: u8) -> f32 {
    f32::from(x) / 127.5 - 1.0
}

/// `n` with thousands separators: `30730000` → `"30,730,000"`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// An I/O error on `path` as a crate error: a missing file is a dataset problem
/// ([`Error::Data`]), anything else (permissions, a failing disk) is [`Error::Io`].
pub(crate) fn io_error(path: &Path, what: &str, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::NotFound {
        Error::Data(format!("{}: not found ({what})", path.display()))
    } else {
        Error::Io(format!("{}: cannot read {what}: {e}", path.display()))
    }
}

/// The length of the file at `path`, checked to be a plain file.
pub(crate) fn file_len(path: &Path, what: &str) -> Result<u64, Error> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, what, e))?;
    if !meta.is_file() {
        return Err(Error::Data(format!(
            "{}: expected a file ({what}), found a directory or special file",
            path.display()
        )));
    }
    Ok(meta.len())
}

/// Checks the arguments of [`ImageSource::read`](crate::data::ImageSource::read): `i < len` and `out.len() == 3·m·m`.
pub(crate) fn check_read(
    source: &str,
    i: usize,
    len: usize,
    out: &[f32],
    m: usize,
) -> Result<(), Error> {
    if i >= len {
        return Err(Error::Data(format!(
            "{source}: image index {i} is out of range (it holds {} images)",
            thousands(len as u64)
        )));
    }
    if out.len() != 3 * m * m {
        return Err(Error::Data(format!(
            "{source}: the output buffer for one 3x{m}x{m} image must hold {} values, found {}",
            3 * m * m,
            out.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(3073), "3,073");
        assert_eq!(thousands(30_730_000), "30,730,000");
        assert_eq!(thousands(2_764_800_000), "2,764,800,000");
    }

    #[test]
    fn unit_maps_bytes_onto_minus_one_to_one() {
        assert_eq!(unit(0), -1.0);
        assert_eq!(unit(255), 1.0);
        assert_eq!(unit(51), 51.0 / 127.5 - 1.0);
        assert!((0..=255u8).all(|x| (-1.0..=1.0).contains(&unit(x))));
    }
}
