//! The dataset readers against files written here in the exact formats of SNGAN.md §9:
//! values, channel / plane / column order, the [−1, 1] mapping, the resize filters, and every
//! error path (each message must name the file and the expected and found numbers).

use std::fs;
use std::path::{Path, PathBuf};

use sngan::data::ImageSource;
use sngan::datasets::{Cifar10, Cifar10Split, ImageFolder, Stl10, Stl10Split};
use sngan::Error;

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sngan-datasets-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, bytes).unwrap();
        p
    }
    /// A file of `len` zero bytes without writing them (sparse where the file system allows).
    fn zeros(&self, name: &str, len: u64) -> PathBuf {
        let p = self.0.join(name);
        fs::File::create(&p).unwrap().set_len(len).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The message of a `Data` error (panics on `Ok` or another variant).
fn data_err<T>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Data(m)) => m,
        Err(e) => panic!("expected Error::Data, got {e:?}"),
        Ok(_) => panic!("expected Error::Data, got Ok"),
    }
}

/// Asserts `msg` contains every one of `parts`.
fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} does not mention {p:?}");
    }
}

fn unit(x: u8) -> f32 {
    f32::from(x) / 127.5 - 1.0
}

fn read_all<const M: usize, S: ImageSource<M>>(s: &S, i: usize) -> Vec<f32> {
    let mut out = vec![f32::NAN; 3 * M * M];
    s.read(i, &mut out).unwrap();
    out
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

/// Byte of record `n`, channel `k` (0 R, 1 G, 2 B), row `r`, column `c`: differs between
/// records, channels, rows and columns, and reaches 0 and 255.
fn cifar_px(n: usize, k: usize, r: usize, c: usize) -> u8 {
    ((7 * c + 3 * r + 85 * k + 31 * n) % 256) as u8
}

/// `labels.len()` CIFAR records in the file format: label, then R, G, B planes row-major.
fn cifar_records(labels: &[u8], first: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for (j, &l) in labels.iter().enumerate() {
        b.push(l);
        for k in 0..3 {
            for r in 0..32 {
                for c in 0..32 {
                    b.push(cifar_px(first + j, k, r, c));
                }
            }
        }
    }
    b
}

#[test]
fn cifar_reads_planes_in_order_and_maps_to_unit_range() {
    let t = TempDir::new("cifar-values");
    let a = t.write("a.bin", &cifar_records(&[3, 0, 9], 0));
    let b = t.write("b.bin", &cifar_records(&[5], 3));
    let d = Cifar10::open_files(&[&a, &b]).unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(d.labels(), &[3, 0, 9, 5]);
    for n in 0..4 {
        let x = read_all::<32, _>(&d, n);
        for k in 0..3 {
            for r in 0..32 {
                for c in 0..32 {
                    // NCHW: channel k, row r, column c.
                    assert_eq!(
                        x[k * 1024 + r * 32 + c],
                        unit(cifar_px(n, k, r, c)),
                        "{n} {k} {r} {c}"
                    );
                }
            }
        }
    }
    // The mapping by hand: R(0, 0) of record 0 is byte 0, G(0, 0) is 85, B(0, 0) is 170.
    let x = read_all::<32, _>(&d, 0);
    assert_eq!(
        (x[0], x[1024], x[2048]),
        (-1.0, 85.0 / 127.5 - 1.0, 170.0 / 127.5 - 1.0)
    );
    assert_eq!(unit(255), 1.0);
    // Record 1, R(0, 5): 7·5 + 31 = 66 → 66 / 127.5 − 1.
    assert_eq!(read_all::<32, _>(&d, 1)[5], 66.0 / 127.5 - 1.0);
}

#[test]
fn cifar_bad_files_are_errors_naming_the_file_and_numbers() {
    let t = TempDir::new("cifar-errors");
    // Truncated: 3 records and 5 bytes.
    let mut bytes = cifar_records(&[1, 2, 3], 0);
    bytes.extend_from_slice(&[0; 5]);
    let p = t.write("truncated.bin", &bytes);
    let m = data_err(Cifar10::open_files(&[&p]));
    assert_mentions(
        &m,
        &["truncated.bin", "3,073", "9,224", "3 records and 5 bytes"],
    );

    let p = t.write("empty.bin", &[]);
    assert_mentions(
        &data_err(Cifar10::open_files(&[&p])),
        &["empty.bin", "non-zero", "found 0 bytes"],
    );
    assert_mentions(
        &data_err(Cifar10::open_files::<&Path>(&[])),
        &["at least one"],
    );

    // A label of 10 in record 2.
    let p = t.write("label.bin", &cifar_records(&[1, 9, 10], 0));
    let m = data_err(Cifar10::open_files(&[&p]));
    assert_mentions(&m, &["label.bin", "record 2", "label 10", "0–9", "6,146"]);

    let m = data_err(Cifar10::open_files(&[t.path().join("nope.bin")]));
    assert_mentions(&m, &["nope.bin", "not found"]);
    // A folder where a file should be.
    fs::create_dir(t.path().join("dir.bin")).unwrap();
    assert_mentions(
        &data_err(Cifar10::open_files(&[t.path().join("dir.bin")])),
        &["dir.bin", "expected a file"],
    );

    // Reads out of range or into the wrong buffer are errors, not panics.
    let d = Cifar10::open_files(&[t.write("ok.bin", &cifar_records(&[0], 0))]).unwrap();
    let mut out = vec![0.0; 3072];
    assert_mentions(&data_err(d.read(1, &mut out)), &["index 1", "1 images"]);
    assert_mentions(
        &data_err(d.read(0, &mut out[..100])),
        &["3072", "found 100"],
    );
}

#[test]
fn cifar_split_needs_the_distribution_files_of_10000_records() {
    let t = TempDir::new("cifar-split");
    let m = data_err(Cifar10::open(t.path(), Cifar10Split::Test));
    assert_mentions(
        &m,
        &[
            "test_batch.bin",
            "not found",
            &t.path().display().to_string(),
        ],
    );

    // A whole number of records, but not 10,000.
    t.write("test_batch.bin", &cifar_records(&[1, 2, 3], 0));
    let m = data_err(Cifar10::open(t.path(), Cifar10Split::Test));
    assert_mentions(
        &m,
        &[
            "test_batch.bin",
            "expected 30,730,000 bytes (10,000 records of 3,073), found 9,219",
        ],
    );

    // 10,000 all-zero records: label 0, black images.
    t.zeros("test_batch.bin", 30_730_000);
    let d = Cifar10::open(t.path(), Cifar10Split::Test).unwrap();
    assert_eq!(d.len(), 10_000);
    assert!(d.labels().iter().all(|&l| l == 0));
    assert!(read_all::<32, _>(&d, 9_999).iter().all(|&v| v == -1.0));

    // The training split names the first missing batch and the folder.
    for i in 1..=4 {
        t.write(&format!("data_batch_{i}.bin"), &[]);
    }
    let m = data_err(Cifar10::open(t.path(), Cifar10Split::Train));
    assert_mentions(
        &m,
        &[
            "data_batch_5.bin",
            "not found",
            "data_batch_1.bin … data_batch_5.bin",
        ],
    );
    t.write("data_batch_5.bin", &[]);
    let m = data_err(Cifar10::open(t.path(), Cifar10Split::Train));
    assert_mentions(
        &m,
        &["data_batch_1.bin", "expected 30,730,000 bytes", "found 0"],
    );
}

// ---------------------------------------------------------------------------------------------
// STL-10

/// Byte of image `n`, channel `k`, row `r`, column `c`: not symmetric in (r, c), so a
/// row-major reading shows.
fn stl_px(n: usize, k: usize, r: usize, c: usize) -> u8 {
    ((r + 2 * c + 50 * k + 7 * n) % 256) as u8
}

/// `n` images in the file format: channel after channel, each column-major.
fn stl_images(n: usize, px: impl Fn(usize, usize, usize, usize) -> u8) -> Vec<u8> {
    let mut b = vec![0u8; n * 27_648];
    for i in 0..n {
        for k in 0..3 {
            for r in 0..96 {
                for c in 0..96 {
                    b[i * 27_648 + k * 9_216 + c * 96 + r] = px(i, k, r, c);
                }
            }
        }
    }
    b
}

#[test]
fn stl_reads_column_major_channels() {
    let t = TempDir::new("stl-values");
    let x = t.write("x.bin", &stl_images(2, stl_px));
    let d = Stl10::<96>::open_files(&x, None).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.labels(), None);
    for n in 0..2 {
        let v = read_all::<96, _>(&d, n);
        for k in 0..3 {
            for r in 0..96 {
                for c in 0..96 {
                    assert_eq!(
                        v[k * 9_216 + r * 96 + c],
                        unit(stl_px(n, k, r, c)),
                        "{n} {k} {r} {c}"
                    );
                }
            }
        }
    }
    // By hand: image 0, channel 0, row 0, column 1 is file byte 96 (column-major), value 2;
    // row 1, column 0 is file byte 1, value 1.
    let v = read_all::<96, _>(&d, 0);
    assert_eq!((v[1], v[96]), (unit(2), unit(1)));
}

#[test]
fn stl_resizes_to_48_by_the_exact_2x2_mean() {
    let t = TempDir::new("stl-48");
    let x = t.write("x.bin", &stl_images(2, stl_px));
    let d = Stl10::<48>::open_files(&x, None).unwrap();
    for n in 0..2 {
        let v = read_all::<48, _>(&d, n);
        for k in 0..3 {
            for i in 0..48 {
                for j in 0..48 {
                    let s: u32 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .iter()
                        .map(|&(a, b)| u32::from(stl_px(n, k, 2 * i + a, 2 * j + b)))
                        .sum();
                    assert_eq!(v[k * 2_304 + i * 48 + j], s as f32 / 4.0 / 127.5 - 1.0);
                }
            }
        }
    }
    // By hand: image 0, channel 0, output (0, 0) averages rows 0–1, columns 0–1:
    // (0 + 2 + 1 + 3) / 4 = 1.5. Output (3, 5) averages rows 6–7, columns 10–11:
    // (26 + 28 + 27 + 29) / 4 = 27.5.
    let v = read_all::<48, _>(&d, 0);
    assert_eq!(v[0], 1.5 / 127.5 - 1.0);
    assert_eq!(v[3 * 48 + 5], 27.5 / 127.5 - 1.0);
}

#[test]
fn stl_area_resize_keeps_constants_and_the_mean_for_any_m() {
    let t = TempDir::new("stl-any-m");
    let x = t.write(
        "x.bin",
        &stl_images(
            2,
            |n, k, r, c| if n == 0 { 200 } else { stl_px(n, k, r, c) },
        ),
    );
    fn check<const M: usize>(x: &Path) {
        let d = Stl10::<M>::open_files(x, None).unwrap();
        // A constant image stays exactly constant.
        assert!(
            read_all::<M, _>(&d, 0).iter().all(|&v| v == unit(200)),
            "M = {M}"
        );
        // Area averaging conserves each channel's mean.
        let v = read_all::<M, _>(&d, 1);
        for k in 0..3 {
            let want = (0..96 * 96)
                .map(|p| f64::from(unit(stl_px(1, k, p / 96, p % 96))))
                .sum::<f64>()
                / 9_216.0;
            let got = v[k * M * M..(k + 1) * M * M]
                .iter()
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / (M * M) as f64;
            assert!(
                (got - want).abs() < 1e-5,
                "M = {M}, channel {k}: {got} vs {want}"
            );
        }
        assert!(v.iter().all(|v| (-1.0..=1.0).contains(v)));
    }
    check::<1>(&x);
    check::<5>(&x);
    check::<32>(&x);
    check::<48>(&x);
    check::<95>(&x);
    check::<96>(&x);
}

#[test]
fn stl_labels_are_checked_and_shifted_to_class_indices() {
    let t = TempDir::new("stl-labels");
    let x = t.write("x.bin", &stl_images(2, stl_px));
    let y = t.write("y.bin", &[1, 10]);
    let d = Stl10::<48>::open_files(&x, Some(&y)).unwrap();
    assert_eq!(d.labels(), Some(&[0u8, 9][..]));

    let y = t.write("y.bin", &[3, 11]);
    assert_mentions(
        &data_err(Stl10::<48>::open_files(&x, Some(&y))),
        &["y.bin", "label 1", "is 11", "1–10"],
    );
    let y = t.write("y.bin", &[0, 3]);
    assert_mentions(
        &data_err(Stl10::<48>::open_files(&x, Some(&y))),
        &["y.bin", "label 0", "is 0", "1–10"],
    );
    let y = t.write("y.bin", &[1, 2, 3]);
    let m = data_err(Stl10::<48>::open_files(&x, Some(&y)));
    assert_mentions(
        &m,
        &[
            "y.bin",
            "expected 2 bytes (one label per image of",
            "x.bin",
            "found 3",
        ],
    );
    let m = data_err(Stl10::<48>::open_files(
        &x,
        Some(&t.path().join("none_y.bin")),
    ));
    assert_mentions(&m, &["none_y.bin", "not found"]);
}

#[test]
fn stl_bad_files_are_errors_naming_the_file_and_numbers() {
    let t = TempDir::new("stl-errors");
    let mut bytes = stl_images(2, stl_px);
    bytes.push(0);
    let x = t.write("x.bin", &bytes);
    let m = data_err(Stl10::<48>::open_files(&x, None));
    assert_mentions(
        &m,
        &[
            "x.bin",
            "27,648",
            "found 55,297 bytes",
            "2 images and 1 bytes",
        ],
    );
    let x = t.write("x.bin", &bytes[..1000]);
    assert_mentions(
        &data_err(Stl10::<48>::open_files(&x, None)),
        &["x.bin", "found 1,000 bytes"],
    );
    let x = t.write("x.bin", &[]);
    assert_mentions(
        &data_err(Stl10::<48>::open_files(&x, None)),
        &["x.bin", "non-zero", "found 0 bytes"],
    );
    assert_mentions(
        &data_err(Stl10::<48>::open_files(t.path().join("gone.bin"), None)),
        &["gone.bin", "not found"],
    );

    // Truncated after opening: the lazy read reports it, naming the file and the image.
    let x = t.write("x.bin", &stl_images(2, stl_px));
    let d = Stl10::<48>::open_files(&x, None).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&x)
        .unwrap()
        .set_len(30_000)
        .unwrap();
    let mut out = vec![0.0; 3 * 48 * 48];
    match d.read(1, &mut out) {
        Err(Error::Io(m)) => assert_mentions(
            &m,
            &[
                "x.bin",
                "image 1",
                "at byte 27,648",
                "55,296 bytes when opened",
            ],
        ),
        r => panic!("expected Error::Io, got {r:?}"),
    }
    assert_mentions(
        &data_err(d.read(2, &mut out)),
        &["x.bin", "index 2", "2 images"],
    );
    assert_mentions(&data_err(d.read(0, &mut out[1..])), &["6912", "found 6911"]);
}

#[test]
fn stl_split_needs_the_distribution_files_and_counts() {
    let t = TempDir::new("stl-split");
    let dir = t.path().display().to_string();
    assert_mentions(
        &data_err(Stl10::<48>::open(t.path(), Stl10Split::Unlabeled)),
        &["unlabeled_X.bin", "not found", &dir],
    );
    t.write("unlabeled_X.bin", &stl_images(2, stl_px));
    let m = data_err(Stl10::<48>::open(t.path(), Stl10Split::Unlabeled));
    assert_mentions(
        &m,
        &[
            "unlabeled_X.bin",
            "expected 2,764,800,000 bytes (100,000 images of 27,648), found 55,296",
        ],
    );

    // Train: 5,000 zero images (sparse) and 5,000 labels.
    t.zeros("train_X.bin", 5_000 * 27_648);
    let m = data_err(Stl10::<48>::open(t.path(), Stl10Split::Train));
    assert_mentions(
        &m,
        &[
            "train_y.bin",
            "not found",
            "train_X.bin and train_y.bin",
            &dir,
        ],
    );
    let labels: Vec<u8> = (0..5_000).map(|i| (i % 10 + 1) as u8).collect();
    t.write("train_y.bin", &labels);
    let d = Stl10::<48>::open(t.path(), Stl10Split::Train).unwrap();
    assert_eq!(d.len(), 5_000);
    assert_eq!(d.labels().unwrap()[4_999], 9);
    assert!(read_all::<48, _>(&d, 4_999).iter().all(|&v| v == -1.0));
    t.write("train_y.bin", &labels[..4_999]);
    let m = data_err(Stl10::<48>::open(t.path(), Stl10Split::Train));
    assert_mentions(&m, &["train_y.bin", "expected 5,000 bytes", "found 4,999"]);
}

// ---------------------------------------------------------------------------------------------
// Image folder

fn save_png(path: &Path, img: &image::RgbImage) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, image::ImageFormat::Png).unwrap();
}

fn save_jpeg(path: &Path, img: &image::RgbImage) {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 100)
        .encode_image(img)
        .unwrap();
    fs::write(path, bytes).unwrap();
}

/// Channel values of a `3 × m × m` image at (row, column).
fn rgb_at(v: &[f32], m: usize, r: usize, c: usize) -> [f32; 3] {
    [v[r * m + c], v[m * m + r * m + c], v[2 * m * m + r * m + c]]
}

#[test]
fn folder_center_crops_in_sorted_order() {
    let t = TempDir::new("folder-values");
    // b.png, 6 wide × 4 tall: the center 4 × 4 square (columns 1–4) holds a pattern, the
    // outer columns are pure red and must be cropped away.
    let landscape = image::RgbImage::from_fn(6, 4, |x, y| {
        if x == 0 || x == 5 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([(x - 1) as u8 * 60, y as u8 * 60, 100])
        }
    });
    save_png(&t.path().join("b.png"), &landscape);
    // a.JPG, 16 wide × 32 tall grey: rows 8–23 (the center square, on 8 × 8 block borders so
    // the JPEG does not smear across the crop) are 200, the rest 40.
    let portrait = image::RgbImage::from_fn(16, 32, |_, y| {
        let g = if (8..24).contains(&y) { 200 } else { 40 };
        image::Rgb([g, g, g])
    });
    save_jpeg(&t.path().join("a.JPG"), &portrait);
    // In a subfolder (the walk is recursive), grey-with-alpha 8-bit, 5 × 5.
    let la = image::GrayAlphaImage::from_fn(5, 5, |x, _| image::LumaA([x as u8 * 50, 7]));
    fs::create_dir_all(t.path().join("sub")).unwrap();
    la.save_with_format(t.path().join("sub/c.png"), image::ImageFormat::Png)
        .unwrap();
    // Skipped: hidden files (even unreadable ones), other extensions.
    t.write(".hidden.png", b"not a png");
    t.write("sub/._c.jpg", b"AppleDouble");
    t.write("notes.txt", b"hello");

    let d = ImageFolder::<4>::open(t.path()).unwrap();
    let names: Vec<String> = d
        .paths()
        .iter()
        .map(|p| p.strip_prefix(t.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "a.JPG",
            "b.png",
            &Path::new("sub").join("c.png").display().to_string()
        ]
    );
    assert_eq!(d.len(), 3);

    // a.JPG: the center is grey 200 everywhere (JPEG at quality 100: within 2 levels).
    let v = read_all::<4, _>(&d, 0);
    assert!(
        v.iter().all(|&x| (x - unit(200)).abs() <= 2.0 / 127.5),
        "{v:?}"
    );
    // b.png: the crop is exact (4 × 4 → 4 × 4 is not resized), no red column left.
    let v = read_all::<4, _>(&d, 1);
    for r in 0..4 {
        for c in 0..4 {
            assert_eq!(
                rgb_at(&v, 4, r, c),
                [unit(c as u8 * 60), unit(r as u8 * 60), unit(100)],
                "({r}, {c})"
            );
        }
    }
    // sub/c.png: grey repeated into R, G, B, alpha dropped (not composited).
    let d5 = ImageFolder::<5>::open(t.path().join("sub")).unwrap();
    let v = read_all::<5, _>(&d5, 0);
    for c in 0..5 {
        assert_eq!(rgb_at(&v, 5, 2, c), [unit(c as u8 * 50); 3]);
    }
}

#[test]
fn folder_downscale_is_smooth_symmetric_and_oriented() {
    let t = TempDir::new("folder-resize");
    // 10 × 8: crop columns 1–8; left half of the crop black, right half white, and the red
    // channel a vertical ramp so rows and columns cannot be swapped unnoticed.
    let img = image::RgbImage::from_fn(10, 8, |x, y| {
        let g = if x >= 5 { 255 } else { 0 };
        image::Rgb([y as u8 * 30, g, g])
    });
    save_png(&t.path().join("edge.png"), &img);
    let d = ImageFolder::<4>::open(t.path()).unwrap();
    let v = read_all::<4, _>(&d, 0);
    let g = |r: usize, c: usize| v[16 + r * 4 + c];
    for r in 0..4 {
        // The Triangle filter at 2:1 reaches 2 source pixels from each output centre: the
        // outer columns see one side of the edge only, the inner two a mix, symmetric about
        // the middle (to the u8 rounding), so nothing overshoots.
        assert_eq!((g(r, 0), g(r, 3)), (-1.0, 1.0));
        assert!(-1.0 < g(r, 1) && g(r, 1) < g(r, 2) && g(r, 2) < 1.0);
        assert!(
            (g(r, 1) + g(r, 2)).abs() <= 1.0 / 127.5 + 1e-6,
            "{} {}",
            g(r, 1),
            g(r, 2)
        );
        // Every row of G is the same; R rises down the rows and is constant along them.
        assert_eq!(&v[16 + r * 4..16 + r * 4 + 4], &v[16..20]);
        assert!((0..4).all(|c| v[r * 4 + c] == v[r * 4]));
        if r > 0 {
            assert!(v[r * 4] > v[(r - 1) * 4]);
        }
    }
    // An upscale (8 → 12) of a constant image stays constant.
    let flat = image::RgbImage::from_pixel(8, 8, image::Rgb([10, 20, 30]));
    let t2 = TempDir::new("folder-flat");
    save_png(&t2.path().join("flat.png"), &flat);
    let d = ImageFolder::<12>::open(t2.path()).unwrap();
    let v = read_all::<12, _>(&d, 0);
    assert!(v[..144].iter().all(|&x| x == unit(10)) && v[144..288].iter().all(|&x| x == unit(20)));
}

#[test]
fn folder_errors_name_the_file_or_folder() {
    let t = TempDir::new("folder-errors");
    // Missing and empty folders.
    let m = data_err(ImageFolder::<8>::open(t.path().join("missing")));
    assert_mentions(&m, &["missing", "not found"]);
    let m = data_err(ImageFolder::<8>::open(t.path()));
    assert_mentions(
        &m,
        &[
            &t.path().display().to_string(),
            "expected .png, .jpg or .jpeg",
            "found none",
        ],
    );
    t.write("readme.txt", b"no images here");
    assert_mentions(&data_err(ImageFolder::<8>::open(t.path())), &["found none"]);

    // A file that is not an image, and a PNG cut short.
    t.write("bad.jpg", b"definitely not a JPEG");
    let m = data_err(ImageFolder::<8>::open(t.path()));
    assert_mentions(
        &m,
        &[
            "bad.jpg",
            "expected a PNG or JPEG image",
            "cannot be decoded",
        ],
    );
    fs::remove_file(t.path().join("bad.jpg")).unwrap();
    let mut png = Vec::new();
    image::RgbImage::from_pixel(20, 20, image::Rgb([1, 2, 3]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    t.write("cut.png", &png[..png.len() / 2]);
    let m = data_err(ImageFolder::<8>::open(t.path()));
    assert_mentions(&m, &["cut.png", "cannot be decoded"]);

    // Reads out of range.
    fs::remove_file(t.path().join("cut.png")).unwrap();
    t.write("ok.png", &png);
    let d = ImageFolder::<8>::open(t.path()).unwrap();
    let mut out = vec![0.0; 3 * 64];
    assert_mentions(&data_err(d.read(1, &mut out)), &["index 1", "1 images"]);
    assert_mentions(&data_err(d.read(0, &mut out[..3])), &["192", "found 3"]);
}
