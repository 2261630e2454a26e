//! STL-10, binary version (SNGAN.md §9), read one image at a time and area-resized to M × M.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{check_read, file_len, io_error, thousands};
use crate::data::ImageSource;
use crate::Error;

/// Side of an STL-10 image.
const SIDE: usize = 96;
/// Bytes of one channel.
const PLANE: usize = SIDE * SIDE;
/// Bytes of one image: 3 channels of 96 × 96.
const IMAGE_LEN: usize = 3 * PLANE;

/// Which files of the distribution to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stl10Split {
    /// `unlabeled_X.bin`: 100,000 images without labels (what SN-GAN trains on).
    Unlabeled,
    /// `train_X.bin` with `train_y.bin`: 5,000 labelled images.
    Train,
    /// `test_X.bin` with `test_y.bin`: 8,000 labelled images.
    Test,
}

impl Stl10Split {
    /// The image file, the label file if the split has labels, and the number of images.
    pub fn files(self) -> (&'static str, Option<&'static str>, usize) {
        match self {
            Stl10Split::Unlabeled => ("unlabeled_X.bin", None, 100_000),
            Stl10Split::Train => ("train_X.bin", Some("train_y.bin"), 5_000),
            Stl10Split::Test => ("test_X.bin", Some("test_y.bin"), 8_000),
        }
    }
}

/// STL-10 (binary version), served as `3 × M × M` images in [−1, 1].
///
/// An image file is a sequence of 27,648-byte images, `uint8`, one channel after another
/// (R, G, B), each channel stored **column-major**: pixel (row r, column c) of channel k is
/// byte `k·9,216 + c·96 + r`. Label files hold one byte (1–10) per image.
///
/// The image file is not loaded: each [`read`](ImageSource::read) fetches one image's 27,648
/// bytes with a positioned read (`pread` on Unix), so the 2.7 GB `unlabeled_X.bin` costs no
/// memory beyond the operating system's page cache. (A memory map would need `unsafe`, which
/// the workspace forbids, and would turn a file truncated under a running job into a SIGBUS;
/// a positioned read turns it into an [`Error::Io`].)
///
/// # Resize filter
/// 96 → M by **area averaging** (the box filter the size of one output pixel, like OpenCV's
/// `INTER_AREA`): output pixel (i, j) is the mean of the source square
/// `[i·96/M, (i+1)·96/M) × [j·96/M, (j+1)·96/M)`, source pixels cut by its edges weighted by
/// the fraction inside. When M divides 96 this is the plain mean of `96/M × 96/M` blocks —
/// for the paper's M = 48, the exact 2 × 2 mean. Every source pixel contributes, with equal
/// total weight, so the downscale cannot alias (point sampling or bilinear interpolation at
/// a factor of 2 would drop or underweight half the pixels and let fine texture fold into
/// false low frequencies), and there is no overshoot (unlike Lanczos), so the result stays in
/// [−1, 1]. The weights are integers (`96·96/M²` in total) and the sum is exact, so the mean
/// is one correctly rounded division, then `x / 127.5 − 1`.
///
/// `M` must be 1..=96: other values do not build (there is no upscaling).
#[derive(Debug)]
pub struct Stl10<const M: usize> {
    file: ImageFile,
    len: usize,
    /// Class indices 0–9 (the file's 1–10 minus one), for labelled splits.
    labels: Option<Vec<u8>>,
    /// For each output row / column index, the source indices it covers and their integer
    /// overlaps (in units of 1/M source pixels; they sum to 96).
    taps: Vec<Vec<(usize, u32)>>,
}

impl<const M: usize> Stl10<M> {
    /// Compile-time check of `M`.
    const VALID_M: () = assert!(
        M >= 1 && M <= SIDE,
        "STL-10 images are 96 x 96: M must be in 1..=96 (no upscaling)"
    );

    /// Opens `split` in `dir` (the extracted `stl10_binary`), which must hold exactly the
    /// split's number of images (and labels).
    ///
    /// # Errors
    /// [`Error::Data`] naming the file for a missing file, a size other than the split's, or a
    /// label outside 1–10 (with its index); [`Error::Io`] for a file that cannot be read.
    pub fn open(dir: impl AsRef<Path>, split: Stl10Split) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let (x_name, y_name, n) = split.files();
        let names = match y_name {
            Some(y) => format!("{x_name} and {y}"),
            None => x_name.to_string(),
        };
        let x = dir.join(x_name);
        let y = y_name.map(|y| dir.join(y));
        for path in std::iter::once(&x).chain(y.as_ref()) {
            if !path.exists() {
                return Err(Error::Data(format!(
                    "{}: not found (the STL-10 {split:?} split is {names} in {})",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Self::load(&x, y.as_deref(), Some(n))
    }

    /// Opens the image file `x`, which must hold a whole, non-zero number of 27,648-byte
    /// images, with the label file `y` (one byte 1–10 per image) if given.
    ///
    /// # Errors
    /// As [`Stl10::open`], with "a whole, non-zero number of images" as the size rule.
    pub fn open_files(x: impl AsRef<Path>, y: Option<&Path>) -> Result<Self, Error> {
        Self::load(x.as_ref(), y, None)
    }

    fn load(x: &Path, y: Option<&Path>, images: Option<usize>) -> Result<Self, Error> {
        let () = Self::VALID_M;
        let what = "an STL-10 binary image file";
        let bytes = file_len(x, what)?;
        let il = IMAGE_LEN as u64;
        match images {
            Some(n) if bytes != n as u64 * il => {
                return Err(Error::Data(format!(
                    "{}: expected {} bytes ({} images of {}), found {}",
                    x.display(),
                    thousands(n as u64 * il),
                    thousands(n as u64),
                    thousands(il),
                    thousands(bytes)
                )))
            }
            None if bytes == 0 || bytes % il != 0 => {
                return Err(Error::Data(format!(
                    "{}: expected a whole, non-zero number of {}-byte images, found {} bytes \
                     ({} images and {} bytes)",
                    x.display(),
                    thousands(il),
                    thousands(bytes),
                    thousands(bytes / il),
                    thousands(bytes % il)
                )))
            }
            _ => {}
        }
        let Ok(len) = usize::try_from(bytes / il) else {
            return Err(Error::Data(format!(
                "{}: {} images do not fit this platform's address range",
                x.display(),
                thousands(bytes / il)
            )));
        };
        let file = ImageFile::open(x, what)?;
        let labels = match y {
            Some(y) => Some(read_labels(y, x, len)?),
            None => None,
        };
        Ok(Stl10 {
            file,
            len,
            labels,
            taps: area_taps(SIDE, M),
        })
    }

    /// The class index (0–9, the file's label 1–10 minus one) of each image, for a split
    /// opened with labels.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

impl<const M: usize> ImageSource<M> for Stl10<M> {
    fn len(&self) -> usize {
        self.len
    }

    /// Reads image `i` from the file, transposes each channel from column-major and
    /// area-resizes it to `M × M`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file if the read fails (the file shrank since it was opened);
    /// [`Error::Data`] for `i ≥ len()` or an `out` of other than `3·M·M` values.
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error> {
        check_read(&self.file.path.display().to_string(), i, self.len, out, M)?;
        let mut buf = vec![0u8; IMAGE_LEN];
        let offset = i as u64 * IMAGE_LEN as u64;
        self.file.read_at(offset, &mut buf).map_err(|e| {
            Error::Io(format!(
                "{}: cannot read image {} ({} bytes at byte {}; the file was {} bytes when \
                 opened): {e}",
                self.file.path.display(),
                thousands(i as u64),
                thousands(IMAGE_LEN as u64),
                thousands(offset),
                thousands(self.len as u64 * IMAGE_LEN as u64)
            ))
        })?;
        let area = (SIDE * SIDE) as f32;
        for k in 0..3 {
            let plane = &buf[k * PLANE..(k + 1) * PLANE];
            for (r, row_taps) in self.taps.iter().enumerate() {
                for (c, col_taps) in self.taps.iter().enumerate() {
                    // Σ overlap_r · overlap_c · x ≤ 96 · 96 · 255: exact in u32 and in f32.
                    let mut sum = 0u32;
                    for &(sr, wr) in row_taps {
                        let mut row = 0u32;
                        for &(sc, wc) in col_taps {
                            // Column-major: (row sr, column sc) is at sc·96 + sr.
                            row += wc * u32::from(plane[sc * SIDE + sr]);
                        }
                        sum += wr * row;
                    }
                    let mean = sum as f32 / area;
                    out[k * M * M + r * M + c] = mean / 127.5 - 1.0;
                }
            }
        }
        Ok(())
    }
}

/// Area-averaging taps for resizing `n` samples to `m`: output `i` covers the source interval
/// `[i·n/m, (i+1)·n/m)`; in units of `1/m` source pixels that is `[i·n, (i+1)·n)` and source
/// pixel `s` is `[s·m, (s+1)·m)`, so the overlaps are integers that sum to `n` per output.
fn area_taps(n: usize, m: usize) -> Vec<Vec<(usize, u32)>> {
    (0..m)
        .map(|i| {
            let (lo, hi) = (i * n, (i + 1) * n);
            (lo / m..hi.div_ceil(m))
                .filter_map(|s| {
                    let overlap = hi.min((s + 1) * m).saturating_sub(lo.max(s * m));
                    (overlap > 0).then_some((s, overlap as u32))
                })
                .collect()
        })
        .collect()
}

/// Reads and checks the label file `y` for the `len` images of `x`.
fn read_labels(y: &Path, x: &Path, len: usize) -> Result<Vec<u8>, Error> {
    let what = "an STL-10 label file";
    let check = |bytes: u64| {
        if bytes == len as u64 {
            Ok(())
        } else {
            Err(Error::Data(format!(
                "{}: expected {} bytes (one label per image of {}), found {}",
                y.display(),
                thousands(len as u64),
                x.display(),
                thousands(bytes)
            )))
        }
    };
    check(file_len(y, what)?)?;
    let mut labels = std::fs::read(y).map_err(|e| io_error(y, what, e))?;
    check(labels.len() as u64)?;
    for (i, l) in labels.iter_mut().enumerate() {
        if !(1..=10).contains(l) {
            return Err(Error::Data(format!(
                "{}: label {} (counting from 0) is {l}, expected 1–10",
                y.display(),
                thousands(i as u64)
            )));
        }
        *l -= 1;
    }
    Ok(labels)
}

/// A file read at offsets through a shared reference.
#[derive(Debug)]
struct ImageFile {
    path: PathBuf,
    #[cfg(unix)]
    file: File,
    #[cfg(not(unix))]
    file: std::sync::Mutex<File>,
}

impl ImageFile {
    fn open(path: &Path, what: &str) -> Result<Self, Error> {
        let file = File::open(path).map_err(|e| io_error(path, what, e))?;
        Ok(ImageFile {
            path: path.to_path_buf(),
            #[cfg(unix)]
            file,
            #[cfg(not(unix))]
            file: std::sync::Mutex::new(file),
        })
    }

    /// Fills `buf` from byte `offset`; a short file is `UnexpectedEof`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            // A poisoned lock only means another reader panicked mid-read; the file offset is
            // set again below, so the handle is still good.
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_taps_are_boxes_that_cover_the_source_once() {
        // 96 → 48: each output is the 2-pixel box, equal weights.
        let t = area_taps(96, 48);
        assert!(t
            .iter()
            .enumerate()
            .all(|(i, taps)| taps == &vec![(2 * i, 48), (2 * i + 1, 48)]));
        // 96 → 96: the identity.
        assert!(area_taps(96, 96)
            .iter()
            .enumerate()
            .all(|(i, taps)| taps == &vec![(i, 96)]));
        // Any m: each output's overlaps sum to n, and each source pixel's to m.
        for m in 1..=96 {
            let t = area_taps(96, m);
            let mut per_source = [0u32; 96];
            for taps in &t {
                assert_eq!(taps.iter().map(|&(_, w)| w).sum::<u32>(), 96, "m = {m}");
                for &(s, w) in taps {
                    per_source[s] += w;
                }
            }
            assert!(per_source.iter().all(|&w| w == m as u32), "m = {m}");
        }
        // 96 → 5: output 0 is [0, 19.2): pixels 0..=18 whole, pixel 19 a fifth.
        let t = area_taps(96, 5);
        assert_eq!(t[0].len(), 20);
        assert_eq!(t[0][18], (18, 5));
        assert_eq!(t[0][19], (19, 1));
    }
}
