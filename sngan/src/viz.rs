//! Pictures: a batch of images as one PNG grid.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::Error;

/// Writes `images` (N images of `3·M·M` values in [−1, 1], NCHW) as an RGB PNG grid with
/// `cols` columns, each pixel drawn as a `zoom × zoom` block, 1-pixel gaps, to `path`
/// (atomically: a temporary file is renamed over it).
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn save_grid(
    path: &Path,
    images: &[f32],
    m: usize,
    cols: usize,
    zoom: usize,
) -> Result<(), Error> {
    let per = 3 * m * m;
    let n = images.len() / per;
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols);
    let zoom = zoom.max(1);
    let side = m * zoom;
    let (w, h) = (cols * (side + 1) + 1, rows * (side + 1) + 1);
    let mut rgb = vec![40u8; w * h * 3];
    for k in 0..n {
        let img = &images[k * per..(k + 1) * per];
        let (r0, c0) = ((k / cols) * (side + 1) + 1, (k % cols) * (side + 1) + 1);
        for y in 0..side {
            for x in 0..side {
                for c in 0..3 {
                    let v = img[c * m * m + (y / zoom) * m + x / zoom];
                    let byte = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
                    rgb[((r0 + y) * w + c0 + x) * 3 + c] = byte;
                }
            }
        }
    }
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("png.tmp");
    {
        let file = File::create(&tmp).map_err(io)?;
        let mut enc = png::Encoder::new(BufWriter::new(file), w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| Error::Io(format!("{}: {e}", tmp.display())))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| Error::Io(format!("{}: {e}", tmp.display())))?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
