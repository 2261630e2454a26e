//! Line plots of a run's `metrics.jsonl` as PNG files, drawn without fonts or plotting crates:
//! an RGB canvas, Bresenham lines, "nice" 1-2-5 ticks and a built-in 5×7 bitmap font (digits,
//! capital letters — lower case is drawn as upper case — a little punctuation and σ).
//!
//! [`plot_run`] writes `plots/losses.png` (D and G loss over generator updates) and
//! `plots/sigma.png` (σ(W̄) of every discriminator layer over generator updates, the
//! measurement of Fig. 9, with a dashed line at 1).

use std::path::{Path, PathBuf};

use crate::config::RunConfig;
use crate::run::read_metrics;
use crate::Error;

/// An RGB image being drawn on.
#[derive(Clone, Debug)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major RGB bytes.
    pub rgb: Vec<u8>,
}

/// A colour.
pub type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const GREY: Rgb = [120, 120, 120];

/// Matplotlib's `tab10` colours, one per series in turn.
pub const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// Glyph rows, top first; bit 4 is the leftmost of the five columns.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        'σ' => [0x00, 0x00, 0x0F, 0x12, 0x11, 0x11, 0x0E],
        ' ' => [0; 7],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '-' | '−' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '=' => [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

/// U+0304, the combining macron: drawn as a bar over the previous character (W̄).
const MACRON: char = '\u{304}';

impl Canvas {
    /// A `width × height` canvas filled with `fill`.
    pub fn new(width: usize, height: usize, fill: Rgb) -> Self {
        Canvas {
            width,
            height,
            rgb: fill.repeat(width * height),
        }
    }

    /// The colour at (x, y).
    pub fn get(&self, x: usize, y: usize) -> Rgb {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Sets (x, y); points outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Fills the rectangle with corners (x0, y0) and (x1, y1), inclusive.
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0.min(y1)..=y0.max(y1) {
            for x in x0.min(x1)..=x0.max(x1) {
                self.set(x, y, c);
            }
        }
    }

    /// A line from (x0, y0) to (x1, y1) (Bresenham), `thickness` pixels wide; with `dash`
    /// set, drawn `dash` pixels on, `dash` off.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        (x0, y0): (i64, i64),
        (x1, y1): (i64, i64),
        c: Rgb,
        thickness: i64,
        dash: Option<i64>,
    ) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        let lo = -(thickness - 1) / 2;
        let hi = lo + thickness - 1;
        let mut n = 0i64;
        loop {
            if dash.is_none_or(|d| (n / d) % 2 == 0) {
                self.fill_rect(x + lo, y + lo, x + hi, y + hi, c);
            }
            n += 1;
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Width in pixels of `s` drawn at `scale`.
    pub fn text_width(s: &str, scale: usize) -> usize {
        let n = s.chars().filter(|&c| c != MACRON).count();
        (n * 6).saturating_sub(1) * scale
    }

    /// Height in pixels of a line of text at `scale`.
    pub fn text_height(scale: usize) -> usize {
        7 * scale
    }

    /// Draws `s` with its top-left corner at (x, y), each font pixel `scale × scale`.
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb, scale: usize) {
        let k = scale as i64;
        let mut pen = x;
        for ch in s.chars() {
            if ch == MACRON {
                let left = pen - 6 * k;
                self.fill_rect(left, y - 2 * k, left + 5 * k - 1, y - k - 1, c);
                continue;
            }
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let (px, py) = (pen + col * k, y + row as i64 * k);
                        self.fill_rect(px, py, px + k - 1, py + k - 1, c);
                    }
                }
            }
            pen += 6 * k;
        }
    }

    /// The canvas as PNG bytes (RGB, 8 bits).
    ///
    /// # Errors
    /// [`Error::Io`] from the encoder.
    pub fn to_png(&self) -> Result<Vec<u8>, Error> {
        encode_png(self.width, self.height, &self.rgb)
    }
}

/// `rgb` (`width × height`, row-major RGB bytes) as PNG bytes.
///
/// # Errors
/// [`Error::Io`] from the encoder.
pub fn encode_png(width: usize, height: usize, rgb: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| Error::Io(format!("encoding PNG: {e}")))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| Error::Io(format!("encoding PNG: {e}")))?;
    }
    Ok(out)
}

/// Tick positions covering `[lo, hi]` at a 1-2-5 step, about `target` of them, and the step.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (ticks, step)
}

/// A tick label for `v` on an axis whose ticks are `step` apart.
pub fn tick_label(v: f64, step: f64) -> String {
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if v.abs() >= 1e6 || (step < 1e-4 && v != 0.0) {
        return format!("{v:.1e}");
    }
    let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// One line of a plot.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// (x, y) points in order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A line plot: axes with ticks and labels, one colour per series from [`PALETTE`], a legend
/// on the right, optional dashed horizontal reference line at `reference`.
pub fn line_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    reference: Option<f64>,
) -> Canvas {
    const W: usize = 960;
    const H: usize = 540;
    const S: usize = 2;
    let th = Canvas::text_height(S) as i64;
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(finite).copied())
        .collect();
    let range = |it: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = it.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if !lo.is_finite() {
            (0.0, 1.0)
        } else if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
            let pad = (lo.abs() * 0.05).max(1e-3);
            (lo - pad, hi + pad)
        } else {
            (lo, hi)
        }
    };
    let (x_lo, x_hi) = range(&mut all.iter().map(|p| p.0));
    let (y_lo, y_hi) = {
        let (lo, hi) = range(&mut all.iter().map(|p| p.1));
        let pad = (hi - lo) * 0.06;
        (lo - pad, hi + pad)
    };
    let (x_ticks, x_step) = nice_ticks(x_lo, x_hi, 8);
    let (y_ticks, y_step) = nice_ticks(y_lo, y_hi, 6);
    let y_labels: Vec<String> = y_ticks.iter().map(|&v| tick_label(v, y_step)).collect();
    let label_w = y_labels
        .iter()
        .map(|l| Canvas::text_width(l, S))
        .max()
        .unwrap_or(0) as i64;
    let legend_w = series
        .iter()
        .map(|s| Canvas::text_width(&s.name, S))
        .max()
        .unwrap_or(0) as i64
        + 44;

    let (left, right) = (label_w + 2 * th + 24, W as i64 - legend_w - 24);
    let (top, bottom) = (3 * th, H as i64 - 3 * th - 12);
    let px = |x: f64| left + ((x - x_lo) / (x_hi - x_lo) * (right - left) as f64).round() as i64;
    let py = |y: f64| bottom - ((y - y_lo) / (y_hi - y_lo) * (bottom - top) as f64).round() as i64;

    let mut c = Canvas::new(W, H, WHITE);
    // Grid, ticks and tick labels.
    for (&v, label) in y_ticks.iter().zip(&y_labels) {
        let y = py(v);
        c.line((left, y), (right, y), GRID, 1, None);
        c.line((left - 6, y), (left, y), BLACK, 1, None);
        let w = Canvas::text_width(label, S) as i64;
        c.text(left - 10 - w, y - th / 2, label, BLACK, S);
    }
    for &v in &x_ticks {
        let x = px(v);
        c.line((x, top), (x, bottom), GRID, 1, None);
        c.line((x, bottom), (x, bottom + 6), BLACK, 1, None);
        let label = tick_label(v, x_step);
        let w = Canvas::text_width(&label, S) as i64;
        c.text(x - w / 2, bottom + 12, &label, BLACK, S);
    }
    if let Some(r) = reference.filter(|r| (y_lo..=y_hi).contains(r)) {
        c.line((left, py(r)), (right, py(r)), GREY, 1, Some(6));
    }
    // Axes.
    c.line((left, top), (left, bottom), BLACK, 1, None);
    c.line((left, bottom), (right, bottom), BLACK, 1, None);
    // Title and axis labels (the y label written along the axis, above it).
    let tw = Canvas::text_width(title, S) as i64;
    c.text((left + right) / 2 - tw / 2, th, title, BLACK, S);
    let xw = Canvas::text_width(x_label, S) as i64;
    c.text(
        (left + right) / 2 - xw / 2,
        H as i64 - th - 8,
        x_label,
        BLACK,
        S,
    );
    c.text(8, top - th - 6, y_label, BLACK, S);

    // The series, then the legend.
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let pts: Vec<(i64, i64)> = s
            .points
            .iter()
            .filter(finite)
            .map(|&(x, y)| (px(x), py(y)))
            .collect();
        if let [only] = pts[..] {
            c.fill_rect(only.0 - 2, only.1 - 2, only.0 + 2, only.1 + 2, colour);
        }
        for w in pts.windows(2) {
            c.line(w[0], w[1], colour, 2, None);
        }
        let y = top + k as i64 * (th + 10);
        c.line(
            (right + 14, y + th / 2),
            (right + 34, y + th / 2),
            colour,
            3,
            None,
        );
        c.text(right + 42, y, &s.name, BLACK, S);
    }
    c
}

/// One series of a [`bar_plot`]: a value (or none) per group.
#[derive(Clone, Debug)]
pub struct BarSeries {
    /// Legend entry.
    pub name: String,
    /// One value per group; `None` or a non-finite value draws no bar (and an `X` on the axis).
    pub values: Vec<Option<f64>>,
}

/// A grouped bar chart (as the paper's Fig. 1 and Fig. 10): one cluster per group label,
/// one bar per series in it, coloured from [`PALETTE`], a legend on the right, an optional
/// dashed horizontal line at `reference`. The y axis starts at 0 unless a value is negative.
pub fn bar_plot(
    title: &str,
    y_label: &str,
    groups: &[String],
    series: &[BarSeries],
    reference: Option<f64>,
) -> Canvas {
    const W: usize = 960;
    const H: usize = 540;
    const S: usize = 2;
    let th = Canvas::text_height(S) as i64;
    let value = |k: usize, g: usize| {
        series[k]
            .values
            .get(g)
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
    };
    let all: Vec<f64> = (0..series.len())
        .flat_map(|k| (0..groups.len()).filter_map(move |g| value(k, g)))
        .chain(reference)
        .collect();
    let lo = all.iter().copied().fold(0.0f64, f64::min);
    let hi = all.iter().copied().fold(0.0f64, f64::max);
    let (y_lo, y_hi) = if hi - lo <= f64::EPSILON {
        (lo, lo + 1.0)
    } else {
        (lo, hi + (hi - lo) * 0.08)
    };
    let (y_ticks, y_step) = nice_ticks(y_lo, y_hi, 6);
    let y_labels: Vec<String> = y_ticks.iter().map(|&v| tick_label(v, y_step)).collect();
    let label_w = y_labels
        .iter()
        .map(|l| Canvas::text_width(l, S))
        .max()
        .unwrap_or(0) as i64;
    let legend_w = series
        .iter()
        .map(|s| Canvas::text_width(&s.name, S))
        .max()
        .unwrap_or(0) as i64
        + 44;
    let (left, right) = (label_w + 2 * th + 24, W as i64 - legend_w - 24);
    let (top, bottom) = (3 * th, H as i64 - 3 * th - 12);
    let py = |y: f64| bottom - ((y - y_lo) / (y_hi - y_lo) * (bottom - top) as f64).round() as i64;

    let mut c = Canvas::new(W, H, WHITE);
    for (&v, label) in y_ticks.iter().zip(&y_labels) {
        let y = py(v);
        c.line((left, y), (right, y), GRID, 1, None);
        c.line((left - 6, y), (left, y), BLACK, 1, None);
        let w = Canvas::text_width(label, S) as i64;
        c.text(left - 10 - w, y - th / 2, label, BLACK, S);
    }
    let n_groups = groups.len().max(1) as i64;
    let group_w = (right - left) / n_groups;
    let bar_w = ((group_w * 4 / 5) / series.len().max(1) as i64).max(1);
    for (g, label) in groups.iter().enumerate() {
        let x0 = left + g as i64 * group_w + group_w / 10;
        for k in 0..series.len() {
            let colour = PALETTE[k % PALETTE.len()];
            let bx = x0 + k as i64 * bar_w;
            match value(k, g) {
                Some(v) => {
                    let (a, b) = (py(v), py(0.0f64.max(y_lo)));
                    c.fill_rect(bx, a.min(b), bx + bar_w - 2, a.max(b), colour);
                }
                None => c.text(bx, bottom - th - 2, "X", colour, 1),
            }
        }
        let w = Canvas::text_width(label, S) as i64;
        c.text(
            left + g as i64 * group_w + group_w / 2 - w / 2,
            bottom + 12,
            label,
            BLACK,
            S,
        );
    }
    if let Some(r) = reference.filter(|r| (y_lo..=y_hi).contains(r)) {
        c.line((left, py(r)), (right, py(r)), GREY, 1, Some(6));
    }
    c.line((left, top), (left, bottom), BLACK, 1, None);
    c.line((left, bottom), (right, bottom), BLACK, 1, None);
    let tw = Canvas::text_width(title, S) as i64;
    c.text((left + right) / 2 - tw / 2, th, title, BLACK, S);
    c.text(8, top - th - 6, y_label, BLACK, S);
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let y = top + k as i64 * (th + 10);
        c.fill_rect(right + 14, y, right + 34, y + th, colour);
        c.text(right + 42, y, &s.name, BLACK, S);
    }
    c
}

/// Renders `plots/losses.png` and `plots/sigma.png` of the run in `run_dir` from its
/// `metrics.jsonl`; returns their paths.
///
/// # Errors
/// The errors of [`RunConfig::load`] and [`read_metrics`], [`Error::Data`] when there are no
/// metrics yet, [`Error::Io`] naming a file that could not be written.
pub fn plot_run(run_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let config = RunConfig::load(run_dir)?;
    let lines = read_metrics(run_dir)?;
    if lines.is_empty() {
        return Err(Error::Data(format!(
            "{}: no metrics yet (a line is written every sigma_every = {} steps)",
            crate::run::metrics_path(run_dir).display(),
            config.sigma_every
        )));
    }
    let dir = run_dir.join("plots");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))?;
    let step = |l: &crate::run::MetricsLine| l.step as f64;
    let losses = [
        Series {
            name: "D loss".into(),
            points: lines
                .iter()
                .map(|l| (step(l), f64::from(l.d_loss)))
                .collect(),
        },
        Series {
            name: "G loss".into(),
            points: lines
                .iter()
                .map(|l| (step(l), f64::from(l.g_loss)))
                .collect(),
        },
    ];
    let names = config.layer_names();
    let layers = lines.iter().map(|l| l.sigma.len()).max().unwrap_or(0);
    let sigmas: Vec<Series> = (0..layers)
        .map(|i| Series {
            name: names
                .get(i)
                .map_or_else(|| format!("layer {i}"), |n| n.to_string()),
            points: lines
                .iter()
                .filter_map(|l| Some((step(l), *l.sigma.get(i)?)))
                .collect(),
        })
        .collect();
    let what = format!(
        "{}, setting {}, {}",
        config.dataset.kind(),
        config.setting,
        config.loss
    );
    let plots = [
        (
            "losses.png",
            line_plot(
                &format!("losses ({what})"),
                "generator updates",
                "loss",
                &losses,
                None,
            ),
        ),
        (
            "sigma.png",
            line_plot(
                "spectral norm σ(W\u{304}) of every D layer",
                "generator updates",
                "σ(W\u{304})",
                &sigmas,
                Some(1.0),
            ),
        ),
    ];
    let mut paths = Vec::new();
    for (name, canvas) in plots {
        let path = dir.join(name);
        crate::checkpoint::write_atomic(&path, &canvas.to_png()?)?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_range() {
        let (t, s) = nice_ticks(0.0, 1000.0, 8);
        assert_eq!(s, 200.0);
        assert_eq!(t, vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        let (t, s) = nice_ticks(0.987, 1.013, 6);
        assert!((s - 0.005).abs() < 1e-12, "{s}");
        assert!(t.iter().all(|v| (0.987..=1.013).contains(v)) && t.len() >= 4);
        assert_eq!(tick_label(0.995, s), "0.995");
        assert_eq!(tick_label(400.0, 200.0), "400");
        assert_eq!(tick_label(2e7, 1e7), "2.0e7");
    }

    #[test]
    fn text_and_lines_land_where_asked() {
        let mut c = Canvas::new(40, 20, WHITE);
        c.text(1, 1, "1", BLACK, 1);
        // '1' has its stem in the middle column: x = 1 + 2, rows 1..8.
        assert_eq!(c.get(3, 4), BLACK);
        assert_eq!(c.get(1, 4), WHITE);
        c.line((0, 19), (39, 19), PALETTE[0], 1, None);
        assert!((0..40).all(|x| c.get(x, 19) == PALETTE[0]));
        assert_eq!(Canvas::text_width("W\u{304}", 2), 10);
        let png = c.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn bar_plot_draws_a_bar_per_value() {
        let groups: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        let s = |name: &str, v: Vec<Option<f64>>| BarSeries {
            name: name.into(),
            values: v,
        };
        let c = bar_plot(
            "t",
            "y",
            &groups,
            &[
                s("a", vec![Some(1.0), Some(2.0), None]),
                s("b", vec![Some(0.5), Some(f64::NAN), Some(3.0)]),
            ],
            Some(1.0),
        );
        for colour in &PALETTE[..2] {
            assert!(c.rgb.chunks(3).any(|p| p == colour), "{colour:?} missing");
        }
        bar_plot("t", "y", &[], &[], None);
    }

    #[test]
    fn plot_draws_every_series() {
        let s = |name: &str, k: f64| Series {
            name: name.into(),
            points: (0..50)
                .map(|i| (i as f64 * 10.0, k + (i as f64).sin()))
                .collect(),
        };
        let c = line_plot("t", "x", "y", &[s("a", 0.0), s("b", 5.0)], None);
        for colour in &PALETTE[..2] {
            assert!(c.rgb.chunks(3).any(|p| p == colour), "{colour:?} missing");
        }
        assert!(!c.rgb.chunks(3).any(|p| p == PALETTE[2]));
        // Degenerate inputs do not panic.
        line_plot("t", "x", "y", &[], Some(1.0));
        let one = Series {
            name: "one".into(),
            points: vec![(3.0, f64::NAN), (4.0, 1.0)],
        };
        line_plot("t", "x", "y", &[one], Some(1.0));
    }
}
