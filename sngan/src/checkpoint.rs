//! Checkpoints: one safetensors file holding G and D (weights, BN statistics, SN's ũ and v),
//! both Adam states, and in its metadata the step, the data position and the run's options.
//!
//! Tensor names: `g.<path>`, `d.<path>`, `opt_g.m.<path>`, `opt_g.v.<path>`, `opt_d.m.<path>`,
//! `opt_d.v.<path>`, and `ema.<path>` for the moving average of G when the run keeps one, where `<path>` is the tensor's path in the network (`c1.conv.weight`).
//! Files are written atomically (a temporary file in the same directory, fsync, rename, fsync
//! of the directory), so a crash leaves either the old file or the new one, never a torn one.
//! Loading checks the format, both network types, every tensor name and shape, and reports a
//! mismatch or a truncated file as an error naming the file.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ::safetensors::tensor::{Dtype as SDtype, SafeTensors, TensorView};
use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut, ViewTensorName,
    ViewTensorRef,
};
use dfdx::prelude::*;

use crate::data::Position;
use crate::nets::{Discriminator, Generator};
use crate::optim::Moments;
use crate::train::Trainer;
use crate::{ConvDevice, Error};

/// The `format` metadata value of this layout.
pub const FORMAT: &str = "sngan-checkpoint-1";

/// Tensors read from or written to a checkpoint, by name: shape and values.
pub type Named = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

struct Collect<'a>(&'a mut Named, &'a str);

impl<D: Device<f32>> TensorVisitor<f32, D> for Collect<'_> {
    type Viewer = (ViewTensorRef, ViewTensorName);
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, D>,
        (t, name): (&Tensor<S, f32, D>, String),
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        let shape = t.shape().concrete().into_iter().collect();
        self.0
            .insert(format!("{}{name}", self.1), (shape, t.as_vec()));
        Ok(None)
    }
}

struct Restore<'a> {
    tensors: &'a mut Named,
    prefix: &'a str,
    missing: Vec<String>,
    mismatched: Vec<String>,
}

impl<D: Device<f32>> TensorVisitor<f32, D> for Restore<'_> {
    type Viewer = (ViewTensorMut, ViewTensorName);
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        _: TensorOptions<S, f32, D>,
        (t, name): (&mut Tensor<S, f32, D>, String),
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        let key = format!("{}{name}", self.prefix);
        let want: Vec<usize> = t.shape().concrete().into_iter().collect();
        match self.tensors.remove(&key) {
            None => self.missing.push(key),
            Some((shape, values)) if shape == want => t.copy_from(&values),
            Some((shape, _)) => self
                .mismatched
                .push(format!("{key}: expected shape {want:?}, found {shape:?}")),
        }
        Ok(None)
    }
}

fn collect<M: TensorCollection<f32, D>, D: Device<f32>>(
    m: &M,
    prefix: &str,
    out: &mut Named,
) -> Result<(), D::Err> {
    M::iter_tensors(&mut RecursiveWalker {
        m: (m, String::new()),
        f: &mut Collect(out, prefix),
    })?;
    Ok(())
}

/// Every tensor of `m` (weights, BN statistics, SN's ũ and v) by its path in the network, with
/// its shape and values: what a checkpoint stores under a prefix.
///
/// # Errors
/// The device's error.
pub fn named_tensors<M: TensorCollection<f32, D>, D: Device<f32>>(
    m: &M,
) -> Result<BTreeMap<String, (Vec<usize>, Vec<f32>)>, D::Err> {
    let mut out = Named::new();
    collect(m, "", &mut out)?;
    Ok(out)
}

fn moments_into<D: Device<f32>>(
    moments: &BTreeMap<String, Moments<D>>,
    prefix: &str,
    out: &mut Named,
) {
    for (name, (m, v)) in moments {
        out.insert(format!("{prefix}m.{name}"), (vec![m.shape().0], m.as_vec()));
        out.insert(format!("{prefix}v.{name}"), (vec![v.shape().0], v.as_vec()));
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync, rename,
/// fsync of the directory.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io =
        |what: &str, p: &Path, e: std::io::Error| Error::Io(format!("{what} {}: {e}", p.display()));
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
        f.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
        f.sync_all().map_err(|e| io("fsync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| io("rename to", path, e))?;
        if let Ok(d) = fs::File::open(dir) {
            // Makes the rename itself durable; not supported everywhere, so best effort.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The checkpoint files `ckpt-STEP.safetensors` in `dir`, oldest first.
pub fn list(dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("ckpt-")?.strip_suffix(".safetensors")?;
            Some((step.parse().ok()?, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// The newest checkpoint in `dir`, if any.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    list(dir).pop().map(|(_, p)| p)
}

/// Deletes all but the newest `keep` checkpoints in `dir`.
///
/// # Errors
/// [`Error::Io`] naming a file that could not be removed.
pub fn prune(dir: &Path, keep: usize) -> Result<(), Error> {
    let all = list(dir);
    let old = all.len().saturating_sub(keep.max(1));
    for (_, p) in &all[..old] {
        fs::remove_file(p).map_err(|e| Error::Io(format!("remove {}: {e}", p.display())))?;
    }
    Ok(())
}

/// Where a checkpoint of step `step` lives in `dir`.
pub fn path_for(dir: &Path, step: usize) -> PathBuf {
    dir.join(format!("ckpt-{step:08}.safetensors"))
}

impl<const M: usize, G, Dis, D> Trainer<M, G, Dis, D>
where
    D: ConvDevice,
    G: Generator<M, D>,
    Dis: Discriminator<M, D>,
{
    /// Writes the complete training state (networks, Adam states, step, data `position`,
    /// options) to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file, or the device's error.
    pub fn save_checkpoint(&self, path: &Path, position: Position) -> Result<(), Error> {
        let mut tensors = Named::new();
        collect(&self.g, "g.", &mut tensors).map_err(D::into_error)?;
        collect(&self.d, "d.", &mut tensors).map_err(D::into_error)?;
        if let Some(ema) = &self.ema {
            collect(&ema.g, "ema.", &mut tensors).map_err(D::into_error)?;
        }
        moments_into(self.opt_g.moments(), "opt_g.", &mut tensors);
        moments_into(self.opt_d.moments(), "opt_d.", &mut tensors);
        let bytes: BTreeMap<&String, Vec<u8>> = tensors
            .iter()
            .map(|(k, (_, v))| (k, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
            .collect();
        let views = tensors.iter().map(|(k, (shape, _))| {
            let view = TensorView::new(SDtype::F32, shape.clone(), &bytes[k])
                .expect("shape and byte length agree by construction");
            (k.clone(), view)
        });
        let mut meta: HashMap<String, String> = [
            ("format", FORMAT.to_string()),
            ("generator", std::any::type_name::<G>().to_string()),
            ("discriminator", std::any::type_name::<Dis>().to_string()),
            ("step", self.step.to_string()),
            ("adam_t_g", self.opt_g.t().to_string()),
            ("adam_t_d", self.opt_d.t().to_string()),
            ("data_epoch", position.epoch.to_string()),
            ("data_index", position.index.to_string()),
            ("options", format!("{:?}", self.options)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        // Only the baselines name their method: an `sn` checkpoint is as it always was.
        if !self.method().is_sn() {
            meta.insert("method".into(), self.method().to_string());
        }
        let data = ::safetensors::tensor::serialize(views, &Some(meta))
            .map_err(|e| Error::Io(format!("{}: serializing: {e:?}", path.display())))?;
        write_atomic(path, &data)
    }

    /// Restores the state saved by [`save_checkpoint`](Self::save_checkpoint) into this trainer
    /// (built with the same network types) and returns the data position to resume from.
    /// Nothing is changed unless the whole file is valid.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] naming the file and what is wrong with it: unreadable, truncated,
    /// another format, other network types, a missing, extra or misshapen tensor.
    pub fn load_checkpoint(&mut self, path: &Path) -> Result<Position, Error> {
        let bad = |what: String| Error::Checkpoint(format!("{}: {what}", path.display()));
        let bytes = fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file or truncated ({e:?})")))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a safetensors file or truncated ({e:?})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| {
            meta.get(k)
                .cloned()
                .ok_or_else(|| bad(format!("metadata has no {k:?}")))
        };
        let num = |k: &str| -> Result<u64, Error> {
            let v = get(k)?;
            v.parse()
                .map_err(|_| bad(format!("metadata {k:?} is not a number: {v:?}")))
        };
        if get("format")? != FORMAT {
            return Err(bad(format!(
                "format {:?}, expected {FORMAT:?}",
                get("format")?
            )));
        }
        for (key, want) in [
            ("generator", std::any::type_name::<G>()),
            ("discriminator", std::any::type_name::<Dis>()),
        ] {
            let found = get(key)?;
            if found != want {
                return Err(bad(format!(
                    "{key} is {found}, but this run uses {want} (wrong architecture?)"
                )));
            }
        }
        let method = meta.get("method").map_or("sn", String::as_str);
        if method != self.method().name() {
            return Err(bad(format!(
                "was written by a --method {method} run, but this run uses --method {}",
                self.method()
            )));
        }
        let mut tensors = f32_tensors(&st, "", &bad)?;
        if let Some((name, _)) = tensors
            .iter()
            .find(|(_, (_, v))| v.iter().any(|x| !x.is_finite()))
        {
            return Err(bad(format!("tensor {name} holds NaN or Inf")));
        }

        // Validate everything on copies first, so a bad file changes nothing.
        // dfdx tensors are copy-on-write (`Arc::make_mut` on mutation), so these clones become deep
        // copies as they are written.
        let (mut g, mut d) = (self.g.clone(), self.d.clone());
        for (prefix, result) in [
            ("g.", restore(&mut g, "g.", &mut tensors)),
            ("d.", restore(&mut d, "d.", &mut tensors)),
        ] {
            result.map_err(|e| bad(format!("{prefix}: {e}")))?;
        }
        let has_ema = tensors.keys().any(|k| k.starts_with("ema."));
        let ema = match (&self.ema, has_ema) {
            (Some(ema), true) => {
                let mut ema = ema.clone();
                restore(&mut ema.g, "ema.", &mut tensors).map_err(|e| bad(format!("ema.: {e}")))?;
                Some(ema)
            }
            (None, false) => None,
            (Some(_), false) => {
                return Err(bad(
                    "holds no moving average of G (no ema.* tensors), but the run's \
                     configuration sets ema_decay"
                        .to_string(),
                ))
            }
            (None, true) => {
                return Err(bad(
                    "holds a moving average of G (ema.* tensors), but the run's configuration \
                     sets no ema_decay"
                        .to_string(),
                ))
            }
        };
        let opt_g = take_moments::<D>(&self.dev, &mut tensors, "opt_g.").map_err(&bad)?;
        let opt_d = take_moments::<D>(&self.dev, &mut tensors, "opt_d.").map_err(&bad)?;
        if let Some(extra) = tensors.keys().next() {
            return Err(bad(format!(
                "unexpected tensor {extra} (wrong architecture?)"
            )));
        }
        let position = Position {
            epoch: num("data_epoch")?,
            index: num("data_index")? as usize,
        };
        self.g = g;
        self.d = d;
        self.ema = ema;
        self.opt_g.restore(num("adam_t_g")?, opt_g);
        self.opt_d.restore(num("adam_t_d")?, opt_d);
        self.step = num("step")? as usize;
        Ok(position)
    }
}

/// The f32 tensors of the checkpoint `path` whose names start with `prefix` (`"d."`), by
/// name without the prefix, with shape and values.
///
/// # Errors
/// [`Error::Checkpoint`] naming the file: unreadable, not safetensors, a tensor not F32.
pub fn read_tensors(path: &Path, prefix: &str) -> Result<Named, Error> {
    let bad = |what: String| Error::Checkpoint(format!("{}: {what}", path.display()));
    let bytes = fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a safetensors file or truncated ({e:?})")))?;
    f32_tensors(&st, prefix, &bad)
}

/// Every tensor of `st` whose name starts with `prefix`, keyed by the rest of its name, as
/// (shape, little-endian f32 values); a tensor of another dtype is an error made by `bad`.
fn f32_tensors(
    st: &SafeTensors<'_>,
    prefix: &str,
    bad: &impl Fn(String) -> Error,
) -> Result<Named, Error> {
    let mut out = Named::new();
    for (name, view) in st.tensors() {
        let Some(key) = name.strip_prefix(prefix) else {
            continue;
        };
        if view.dtype() != SDtype::F32 {
            return Err(bad(format!(
                "tensor {name} is {:?}, expected F32",
                view.dtype()
            )));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        out.insert(key.to_string(), (view.shape().to_vec(), values));
    }
    Ok(out)
}

fn restore<M: TensorCollection<f32, D>, D: Device<f32>>(
    m: &mut M,
    prefix: &str,
    tensors: &mut Named,
) -> Result<(), String> {
    let mut r = Restore {
        tensors,
        prefix,
        missing: Vec::new(),
        mismatched: Vec::new(),
    };
    M::iter_tensors(&mut RecursiveWalker {
        m: (m, String::new()),
        f: &mut r,
    })
    .map_err(|e| format!("device error {e:?}"))?;
    if let Some(name) = r.missing.first() {
        return Err(format!("missing tensor {name} (wrong architecture?)"));
    }
    if let Some(msg) = r.mismatched.first() {
        return Err(msg.clone());
    }
    Ok(())
}

fn take_moments<D: Device<f32>>(
    dev: &D,
    tensors: &mut Named,
    prefix: &str,
) -> Result<BTreeMap<String, Moments<D>>, String> {
    let m_prefix = format!("{prefix}m.");
    let names: Vec<String> = tensors
        .keys()
        .filter_map(|k| k.strip_prefix(&m_prefix).map(str::to_string))
        .collect();
    let mut out = BTreeMap::new();
    for name in names {
        let (_, m) = tensors
            .remove(&format!("{prefix}m.{name}"))
            .expect("listed above");
        let (_, v) = tensors
            .remove(&format!("{prefix}v.{name}"))
            .ok_or_else(|| format!("{prefix}m.{name} has no matching {prefix}v.{name}"))?;
        if m.len() != v.len() {
            return Err(format!(
                "{prefix}m/v.{name}: lengths {} and {} differ",
                m.len(),
                v.len()
            ));
        }
        let n = m.len();
        let to = |x: Vec<f32>| {
            dev.try_tensor_from_vec(x, (n,))
                .map_err(|e| format!("device error {e:?}"))
        };
        out.insert(name, (to(m)?, to(v)?));
    }
    Ok(out)
}
