//! A folder of PNG / JPEG images, center-cropped and resized to M × M once, held as `u8`.

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{ImageError, ImageReader};

use super::{check_read, io_error, thousands, unit};
use crate::data::ImageSource;
use crate::Error;

/// The images of a folder as `3 × M × M` RGB in [−1, 1].
///
/// [`ImageFolder::open`] walks the folder **recursively** (class subfolders, as in
/// torchvision's `ImageFolder`, are fine; labels are not kept) and takes every file whose
/// extension is `png`, `jpg` or `jpeg` (any case), in **sorted path order**, so the image
/// indices do not depend on the file system. Names starting with `.` are skipped, files and
/// folders alike (hidden files, and the `._name.jpg` AppleDouble files that macOS archives
/// leave beside every image); symbolic links to files are followed, links to folders are not
/// (a link cycle cannot make the walk endless). The format is recognised from the file's
/// first bytes, so a PNG named `.jpg` still reads.
///
/// Each image is
/// 1. converted to 8-bit RGB (grey is repeated into the three channels, alpha is dropped —
///    not composited — and 16-bit samples are rounded to 8 bits),
/// 2. center-cropped to the largest square, side `s = min(width, height)`, at offset
///    `((width − s) / 2, (height − s) / 2)` rounded down, so no part of the picture is
///    stretched,
/// 3. resized `s → M` with [`FilterType::Triangle`] (the `image` crate's tent filter: bilinear
///    interpolation when enlarging; when shrinking, the tent is widened by the factor `s / M`,
///    so every source pixel contributes and the result is antialiased, without the overshoot
///    and ringing of Lanczos3 at high-contrast edges); skipped when `s = M`,
/// 4. stored as `u8`, NCHW, and served as `x / 127.5 − 1`.
///
/// Every file is decoded by [`ImageFolder::open`]; one that cannot be is an error, not a
/// skipped image, so a damaged dataset is not trained on silently.
#[derive(Clone, Debug)]
pub struct ImageFolder<const M: usize> {
    /// `len × 3·M·M` bytes, NCHW.
    pixels: Vec<u8>,
    /// The file of each image.
    paths: Vec<PathBuf>,
}

impl<const M: usize> ImageFolder<M> {
    /// Compile-time check of `M`.
    const VALID_M: () = assert!(M >= 1, "M must be at least 1");

    /// Reads every PNG and JPEG image under `dir`.
    ///
    /// # Errors
    /// [`Error::Data`] naming the file for an image that cannot be decoded (or is wider or
    /// taller than `u32`, or exceeds the `image` crate's default 512 MiB decoding limit), or
    /// naming the folder if it is missing or holds no image; [`Error::Io`] for a folder or file
    /// that cannot be read.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let () = Self::VALID_M;
        let dir = dir.as_ref();
        let mut paths = Vec::new();
        walk(dir, &mut paths)?;
        if paths.is_empty() {
            return Err(Error::Data(format!(
                "{}: expected .png, .jpg or .jpeg images (searched recursively, skipping names \
                 that start with '.'), found none",
                dir.display()
            )));
        }
        paths.sort();
        let mut pixels = Vec::with_capacity(paths.len() * 3 * M * M);
        for path in &paths {
            load(path, M, &mut pixels)?;
        }
        Ok(ImageFolder { pixels, paths })
    }

    /// The file of each image, in image order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }
}

impl<const M: usize> ImageSource<M> for ImageFolder<M> {
    fn len(&self) -> usize {
        self.paths.len()
    }

    /// # Errors
    /// [`Error::Data`] for `i ≥ len()` or an `out` of other than `3·M·M` values.
    fn read(&self, i: usize, out: &mut [f32]) -> Result<(), Error> {
        check_read("image folder", i, self.paths.len(), out, M)?;
        let n = 3 * M * M;
        for (o, &x) in out.iter_mut().zip(&self.pixels[i * n..(i + 1) * n]) {
            *o = unit(x);
        }
        Ok(())
    }
}

/// Appends the image files under `dir` to `out` (unsorted).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let what = "an image folder";
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, what, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, what, e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(|e| io_error(&path, what, e))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if is_image_name(&path) && (kind.is_file() || path.is_file()) {
            // `path.is_file()` follows a symbolic link; a dangling one is left out here and
            // is not an image.
            out.push(path);
        }
    }
    Ok(())
}

/// Whether the extension is png, jpg or jpeg, in any case.
fn is_image_name(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["png", "jpg", "jpeg"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// Decodes `path`, center-crops, resizes to `m × m` and appends it as NCHW bytes.
fn load(path: &Path, m: usize, out: &mut Vec<u8>) -> Result<(), Error> {
    let what = "an image";
    let decode_error = |e: ImageError| match e {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Data(format!(
                "{}: expected a PNG or JPEG image, found one that cannot be decoded: it ends \
                 early (truncated?)",
                path.display()
            ))
        }
        ImageError::IoError(e) => io_error(path, what, e),
        e => Error::Data(format!(
            "{}: expected a PNG or JPEG image, found one that cannot be decoded: {e}",
            path.display()
        )),
    };
    let image = ImageReader::open(path)
        .map_err(|e| io_error(path, what, e))?
        .with_guessed_format()
        .map_err(|e| io_error(path, what, e))?
        .decode()
        .map_err(decode_error)?
        .to_rgb8();
    let (w, h) = image.dimensions();
    let s = w.min(h);
    if s == 0 {
        return Err(Error::Data(format!(
            "{}: expected an image of at least 1 x 1 pixels, found {} x {}",
            path.display(),
            thousands(w.into()),
            thousands(h.into())
        )));
    }
    let crop = imageops::crop_imm(&image, (w - s) / 2, (h - s) / 2, s, s);
    let square = if s as usize == m {
        crop.to_image()
    } else {
        // m ≤ usize::MAX; an m past u32 could not be allocated as m × m anyway.
        let m32 = u32::try_from(m).map_err(|_| {
            Error::Data(format!(
                "{}: cannot resize to {m} x {m} (the side exceeds u32)",
                path.display()
            ))
        })?;
        imageops::resize(&*crop, m32, m32, FilterType::Triangle)
    };
    let raw = square.as_raw();
    for k in 0..3 {
        out.extend(raw.iter().skip(k).step_by(3));
    }
    Ok(())
}
