//! NumPy `.npy` arrays inside `.npz` archives: pytorch-fid's statistics files.
//!
//! pytorch-fid writes `np.savez(path, mu=mu, sigma=sigma)` (float64 `(2048,)` and
//! `(2048, 2048)`) and reads `f['mu'][:], f['sigma'][:]`, ignoring any other key. Published
//! reference statistics come both from `np.savez` (stored entries) and `np.savez_compressed`
//! (deflated entries); [`read()`] accepts both. [`write()`] stores entries uncompressed, as
//! `np.savez` does.
//!
//! Supported dtypes: little-endian `<f8`, `<f4` (read as f64) and `<U` strings (0-d, for the
//! provenance keys this crate adds). Anything else is an error naming the file and the entry.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use crate::Error;

/// The values of one `.npy` array.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// `<f8` or `<f4` (widened to f64), in C (row-major) order.
    F64(Vec<f64>),
    /// A `<U` string array's elements (a 0-d array holds one).
    Str(Vec<String>),
}

/// One `.npy` array: its shape and values in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape (`[]` for a 0-d array).
    pub shape: Vec<usize>,
    /// The values.
    pub data: NpyData,
}

impl NpyArray {
    /// A float64 array of `shape` holding `values` in C order.
    pub fn f64(shape: Vec<usize>, values: Vec<f64>) -> Self {
        NpyArray {
            shape,
            data: NpyData::F64(values),
        }
    }

    /// A 0-d string array.
    pub fn string(s: &str) -> Self {
        NpyArray {
            shape: Vec::new(),
            data: NpyData::Str(vec![s.to_string()]),
        }
    }
}

fn bad(path: &Path, what: String) -> Error {
    Error::Data(format!("{}: {what}", path.display()))
}

/// Reads every array of the `.npz` file at `path`, in archive order, keyed by name without
/// the `.npy` suffix.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened; [`Error::Data`] naming the file and the entry if
/// it is not a zip archive, an entry is not a valid `.npy` array or has an unsupported dtype.
pub fn read(path: &Path) -> Result<Vec<(String, NpyArray)>, Error> {
    let file = File::open(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        bad(
            path,
            format!("expected a .npz file (a zip archive of .npy arrays): {e}"),
        )
    })?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| bad(path, format!("entry {i}: {e}")))?;
        let name = entry.name().to_string();
        // The declared size only hints the capacity: a corrupt header must not allocate GiBs.
        let mut bytes = Vec::with_capacity(entry.size().min(1 << 24) as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(path, format!("entry {name}: {e}")))?;
        let array = parse_npy(&bytes).map_err(|e| bad(path, format!("entry {name}: {e}")))?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        out.push((key, array));
    }
    Ok(out)
}

/// Writes `entries` as an uncompressed `.npz` file (what `np.savez` writes), atomically.
///
/// # Errors
/// [`Error::Config`] if an array's shape does not hold its values; [`Error::Io`] naming the file.
pub fn write(path: &Path, entries: &[(&str, NpyArray)]) -> Result<(), Error> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let io = |e: String| Error::Io(format!("{}: {e}", path.display()));
    for (name, array) in entries {
        let bytes = npy_bytes(array)
            .map_err(|e| Error::Config(format!("{}: entry {name}: {e}", path.display())))?;
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| io(e.to_string()))?;
        zip.write_all(&bytes).map_err(|e| io(e.to_string()))?;
    }
    let bytes = zip.finish().map_err(|e| io(e.to_string()))?.into_inner();
    crate::checkpoint::write_atomic(path, &bytes)
}

/// Parses one `.npy` file (format versions 1.0, 2.0 and 3.0).
fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (no \\x93NUMPY magic)".into());
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("header runs past the end of the entry")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "header is not UTF-8")?;
    let descr = dict_value(header, "descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = match dict_value(header, "fortran_order")? {
        "True" => true,
        "False" => false,
        v => return Err(format!("fortran_order: expected True or False, found {v}")),
    };
    let shape = parse_shape(dict_value(header, "shape")?)?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let body = &bytes[end..];
    let data = match descr {
        "<f8" | "<f4" => {
            let width = if descr == "<f8" { 8 } else { 4 };
            let need = count.checked_mul(width).ok_or("shape overflows")?;
            if body.len() != need {
                return Err(format!(
                    "shape {shape:?} of {descr} needs {need} data bytes, found {}",
                    body.len()
                ));
            }
            let mut v: Vec<f64> = if width == 8 {
                body.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect()
            } else {
                body.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])) as f64)
                    .collect()
            };
            if fortran && shape.len() > 1 {
                v = fortran_to_c(&v, &shape);
            }
            NpyData::F64(v)
        }
        d if d.starts_with("<U") => {
            let chars: usize = d[2..]
                .parse()
                .map_err(|_| format!("dtype {d}: bad string length"))?;
            let need = count
                .checked_mul(chars)
                .and_then(|n| n.checked_mul(4))
                .ok_or("shape overflows")?;
            if body.len() != need {
                return Err(format!(
                    "shape {shape:?} of {d} needs {need} data bytes, found {}",
                    body.len()
                ));
            }
            let mut strings = Vec::with_capacity(count);
            for item in body.chunks_exact((chars * 4).max(1)).take(count) {
                let s: String = item
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .take_while(|&u| u != 0)
                    .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
                    .collect();
                strings.push(s);
            }
            if chars == 0 {
                strings = vec![String::new(); count];
            }
            NpyData::Str(strings)
        }
        d => {
            return Err(format!(
                "unsupported dtype {d} (expected little-endian float64 <f8, float32 <f4 or a <U string)"
            ))
        }
    };
    Ok(NpyArray { shape, data })
}

/// The raw text of `key`'s value in a `.npy` header dict (`{'descr': '<f8', ...}`).
fn dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str, String> {
    let pat = [format!("'{key}':"), format!("\"{key}\":")];
    let at = pat
        .iter()
        .find_map(|p| header.find(p.as_str()).map(|i| i + p.len()))
        .ok_or_else(|| format!("header has no '{key}': {}", header.trim()))?;
    let rest = header[at..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| format!("header value of '{key}' is not terminated"))?;
    Ok(rest[..end].trim())
}

fn parse_shape(s: &str) -> Result<Vec<usize>, String> {
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("shape: expected a tuple, found {s}"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.trim_end_matches('L')
                .parse()
                .map_err(|_| format!("shape: bad dimension {t}"))
        })
        .collect()
}

fn fortran_to_c(v: &[f64], shape: &[usize]) -> Vec<f64> {
    let n = shape.len();
    let mut out = vec![0.0; v.len()];
    let mut idx = vec![0usize; n];
    for (c_pos, slot) in out.iter_mut().enumerate() {
        // idx: the multi-index of c_pos in C order.
        let mut rem = c_pos;
        for k in (0..n).rev() {
            idx[k] = rem % shape[k];
            rem /= shape[k];
        }
        let mut f_pos = 0;
        for k in (0..n).rev() {
            f_pos = f_pos * shape[k] + idx[k];
        }
        *slot = v[f_pos];
    }
    out
}

fn npy_bytes(array: &NpyArray) -> Result<Vec<u8>, String> {
    let count: usize = array.shape.iter().product();
    let (descr, body) = match &array.data {
        NpyData::F64(v) => {
            if v.len() != count {
                return Err(format!(
                    "shape {:?} does not hold {} values",
                    array.shape,
                    v.len()
                ));
            }
            let mut b = Vec::with_capacity(8 * v.len());
            for x in v {
                b.extend_from_slice(&x.to_le_bytes());
            }
            ("<f8".to_string(), b)
        }
        NpyData::Str(v) => {
            if v.len() != count {
                return Err(format!(
                    "shape {:?} does not hold {} strings",
                    array.shape,
                    v.len()
                ));
            }
            let chars = v
                .iter()
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
                .max(1);
            let mut b = Vec::with_capacity(4 * chars * v.len());
            for s in v {
                let n = s.chars().count();
                for c in s.chars() {
                    b.extend_from_slice(&(c as u32).to_le_bytes());
                }
                b.extend(std::iter::repeat_n(0u8, 4 * (chars - n)));
            }
            (format!("<U{chars}"), b)
        }
    };
    let dims: Vec<String> = array.shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
    let pad = (64 - (10 + header.len() + 1) % 64) % 64;
    header.extend(std::iter::repeat_n(' ', pad));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + body.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_roundtrip_and_header_parse() {
        let a = NpyArray::f64(vec![2, 3], (0..6).map(f64::from).collect());
        assert_eq!(parse_npy(&npy_bytes(&a).unwrap()).unwrap(), a);
        let s = NpyArray::string("inception ✓");
        assert_eq!(parse_npy(&npy_bytes(&s).unwrap()).unwrap(), s);
        assert_eq!(parse_shape("()").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_shape("(2048,)").unwrap(), vec![2048]);
    }

    #[test]
    fn fortran_order_is_transposed() {
        // [[0, 1, 2], [3, 4, 5]] in Fortran order is 0 3 1 4 2 5.
        let v = fortran_to_c(&[0., 3., 1., 4., 2., 5.], &[2, 3]);
        assert_eq!(v, vec![0., 1., 2., 3., 4., 5.]);
    }

    #[test]
    fn truncated_and_foreign_entries_are_errors() {
        let a = NpyArray::f64(vec![4], vec![1.0; 4]);
        let b = npy_bytes(&a).unwrap();
        let e = parse_npy(&b[..b.len() - 1]).unwrap_err();
        assert!(e.contains("needs 32 data bytes, found 31"), "{e}");
        let mut i8 = b.clone();
        let at = i8.windows(3).position(|w| w == b"<f8").unwrap();
        i8[at..at + 3].copy_from_slice(b"|i1");
        assert!(parse_npy(&i8)
            .unwrap_err()
            .contains("unsupported dtype |i1"));
        assert!(parse_npy(b"PK\x03\x04....").unwrap_err().contains("magic"));
    }
}
