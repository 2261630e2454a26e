//! Inception-v3 in the form FID is defined on: pytorch-fid's port of the TF 2015-12-05 graph.
//!
//! The architecture is pytorch-fid's `fid_inception_v3()`: torchvision's Inception3 stem,
//! InceptionB (Mixed_6a) and InceptionD (Mixed_7a), and the FID-specific blocks — FIDInceptionA
//! (Mixed_5b-d) and FIDInceptionC (Mixed_6b-e), whose pool branch averages 3×3 windows without
//! counting the padding; FIDInceptionE_1 (Mixed_7b), likewise; FIDInceptionE_2 (Mixed_7c),
//! which max-pools instead — then global average pooling to the 2048-d pool3 features and a
//! 2048 → 1008 fully connected layer (the logits of the Inception score). Inputs are prepared
//! as pytorch-fid's `InceptionV3` does: bilinear resize to 299×299 (align_corners = false, no
//! antialiasing) of images in [0, 1], then scaling to [−1, 1].
//!
//! # Convolution route
//! Inference only, on the CPU: activations are kept channels-last (NHWC), so a 1×1 convolution
//! (about half of the 94) is one GEMM of the activations as they are, and every other
//! convolution — 3×3, 5×5 and the asymmetric 1×7, 7×1, 1×3 and 3×1 — is im2col over its own
//! (kh, kw, stride, padding) followed by one GEMM. A 1×7 kernel thus costs 7 multiply-adds per
//! input channel, not the 49 of padding it to 7×7 for dfdx's square-kernel `conv2d`. The GEMMs
//! are dfdx's `matmul` on `Cpu` tensors (the `gemm` crate, parallel over rayon's threads).
//! Each BasicConv2d's BatchNorm (eps = 0.001, running statistics) is folded into the
//! convolution's weights and a bias at load time, in f64.
//!
//! # Weights
//! A safetensors file of float32 tensors named exactly as pytorch-fid's state dict
//! (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.running_mean`, ..., `fc.weight`), made
//! from pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` by
//! `sngan/scripts/convert_fid_weights.py` ([`MISSING_WEIGHTS_HELP`]).

use std::path::Path;

use dfdx::prelude::*;
use sha2::{Digest, Sha256};

use crate::Error;

/// The side the network's input is resized to.
pub const INCEPTION_SIZE: usize = 299;
/// The dimension of the pool3 features (FID).
pub const POOL3: usize = 2048;
/// The number of logits (IS): the TF graph's 1008 classes (all enter the softmax).
pub const LOGITS: usize = 1008;
/// BatchNorm's epsilon in every BasicConv2d of the TF graph.
pub const BN_EPS: f64 = 0.001;
/// The name of pytorch-fid's weights file.
pub const PTH_NAME: &str = "pt_inception-2015-12-05-6726825d.pth";
/// The default name of the converted weights file.
pub const WEIGHTS_NAME: &str = "pt_inception-2015-12-05-6726825d.safetensors";
/// How to make the weights file, for error messages and docs.
pub const MISSING_WEIGHTS_HELP: &str = "make it from pytorch-fid's weights: \
(1) download https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/\
pt_inception-2015-12-05-6726825d.pth; (2) run `python sngan/scripts/convert_fid_weights.py \
pt_inception-2015-12-05-6726825d.pth pt_inception-2015-12-05-6726825d.safetensors` \
(needs torch); (3) pass the .safetensors file with --inception-weights";

/// Images per im2col matrix are limited so that it stays under this many floats (64 MiB).
const COLS_LIMIT: usize = 1 << 24;

/// One convolution of the architecture: pytorch-fid's name (without `.conv.weight`), sizes,
/// stride and padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// The BasicConv2d's name in pytorch-fid's state dict, e.g. `Mixed_6b.branch7x7_2`.
    pub name: String,
    /// Input channels.
    pub ci: usize,
    /// Output channels.
    pub co: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride (the same along both axes).
    pub stride: usize,
    /// Zero padding along height and width.
    pub padding: (usize, usize),
}

fn spec(
    name: String,
    ci: usize,
    co: usize,
    k: (usize, usize),
    s: usize,
    p: (usize, usize),
) -> ConvSpec {
    ConvSpec {
        name,
        ci,
        co,
        kernel: k,
        stride: s,
        padding: p,
    }
}

#[derive(Clone, Copy, Debug)]
enum Block {
    /// FIDInceptionA(cin, pool_features).
    A(usize, usize),
    /// InceptionB(cin).
    B(usize),
    /// FIDInceptionC(cin, channels_7x7).
    C(usize, usize),
    /// InceptionD(cin).
    D(usize),
    /// FIDInceptionE_1 (false) or FIDInceptionE_2 (true: max pooling).
    E(usize, bool),
}

const BLOCKS: [(&str, Block); 11] = [
    ("Mixed_5b", Block::A(192, 32)),
    ("Mixed_5c", Block::A(256, 64)),
    ("Mixed_5d", Block::A(288, 64)),
    ("Mixed_6a", Block::B(288)),
    ("Mixed_6b", Block::C(768, 128)),
    ("Mixed_6c", Block::C(768, 160)),
    ("Mixed_6d", Block::C(768, 160)),
    ("Mixed_6e", Block::C(768, 192)),
    ("Mixed_7a", Block::D(768)),
    ("Mixed_7b", Block::E(1280, false)),
    ("Mixed_7c", Block::E(2048, true)),
];

fn block_specs(prefix: &str, block: Block) -> Vec<ConvSpec> {
    let n = |s: &str| format!("{prefix}.{s}");
    let (one, three, r7, c7, r3, c3) = ((1, 1), (3, 3), (1, 7), (7, 1), (1, 3), (3, 1));
    match block {
        Block::A(cin, pf) => vec![
            spec(n("branch1x1"), cin, 64, one, 1, (0, 0)),
            spec(n("branch5x5_1"), cin, 48, one, 1, (0, 0)),
            spec(n("branch5x5_2"), 48, 64, (5, 5), 1, (2, 2)),
            spec(n("branch3x3dbl_1"), cin, 64, one, 1, (0, 0)),
            spec(n("branch3x3dbl_2"), 64, 96, three, 1, (1, 1)),
            spec(n("branch3x3dbl_3"), 96, 96, three, 1, (1, 1)),
            spec(n("branch_pool"), cin, pf, one, 1, (0, 0)),
        ],
        Block::B(cin) => vec![
            spec(n("branch3x3"), cin, 384, three, 2, (0, 0)),
            spec(n("branch3x3dbl_1"), cin, 64, one, 1, (0, 0)),
            spec(n("branch3x3dbl_2"), 64, 96, three, 1, (1, 1)),
            spec(n("branch3x3dbl_3"), 96, 96, three, 2, (0, 0)),
        ],
        Block::C(cin, c) => vec![
            spec(n("branch1x1"), cin, 192, one, 1, (0, 0)),
            spec(n("branch7x7_1"), cin, c, one, 1, (0, 0)),
            spec(n("branch7x7_2"), c, c, r7, 1, (0, 3)),
            spec(n("branch7x7_3"), c, 192, c7, 1, (3, 0)),
            spec(n("branch7x7dbl_1"), cin, c, one, 1, (0, 0)),
            spec(n("branch7x7dbl_2"), c, c, c7, 1, (3, 0)),
            spec(n("branch7x7dbl_3"), c, c, r7, 1, (0, 3)),
            spec(n("branch7x7dbl_4"), c, c, c7, 1, (3, 0)),
            spec(n("branch7x7dbl_5"), c, 192, r7, 1, (0, 3)),
            spec(n("branch_pool"), cin, 192, one, 1, (0, 0)),
        ],
        Block::D(cin) => vec![
            spec(n("branch3x3_1"), cin, 192, one, 1, (0, 0)),
            spec(n("branch3x3_2"), 192, 320, three, 2, (0, 0)),
            spec(n("branch7x7x3_1"), cin, 192, one, 1, (0, 0)),
            spec(n("branch7x7x3_2"), 192, 192, r7, 1, (0, 3)),
            spec(n("branch7x7x3_3"), 192, 192, c7, 1, (3, 0)),
            spec(n("branch7x7x3_4"), 192, 192, three, 2, (0, 0)),
        ],
        Block::E(cin, _) => vec![
            spec(n("branch1x1"), cin, 320, one, 1, (0, 0)),
            spec(n("branch3x3_1"), cin, 384, one, 1, (0, 0)),
            spec(n("branch3x3_2a"), 384, 384, r3, 1, (0, 1)),
            spec(n("branch3x3_2b"), 384, 384, c3, 1, (1, 0)),
            spec(n("branch3x3dbl_1"), cin, 448, one, 1, (0, 0)),
            spec(n("branch3x3dbl_2"), 448, 384, three, 1, (1, 1)),
            spec(n("branch3x3dbl_3a"), 384, 384, r3, 1, (0, 1)),
            spec(n("branch3x3dbl_3b"), 384, 384, c3, 1, (1, 0)),
            spec(n("branch_pool"), cin, 192, one, 1, (0, 0)),
        ],
    }
}

/// Every convolution of the network, in the order of the forward pass (94 in all).
pub fn conv_specs() -> Vec<ConvSpec> {
    let s = |n: &str| n.to_string();
    let mut v = vec![
        spec(s("Conv2d_1a_3x3"), 3, 32, (3, 3), 2, (0, 0)),
        spec(s("Conv2d_2a_3x3"), 32, 32, (3, 3), 1, (0, 0)),
        spec(s("Conv2d_2b_3x3"), 32, 64, (3, 3), 1, (1, 1)),
        spec(s("Conv2d_3b_1x1"), 64, 80, (1, 1), 1, (0, 0)),
        spec(s("Conv2d_4a_3x3"), 80, 192, (3, 3), 1, (0, 0)),
    ];
    for (prefix, block) in BLOCKS {
        v.extend(block_specs(prefix, block));
    }
    v
}

/// The name and shape of every tensor the weights file must hold: for each convolution
/// `NAME.conv.weight` (co, ci, kh, kw) and `NAME.bn.{weight, bias, running_mean, running_var}`
/// (co), then `fc.weight` (1008, 2048) and `fc.bias` (1008).
pub fn tensor_shapes() -> Vec<(String, Vec<usize>)> {
    let mut v = Vec::new();
    for c in conv_specs() {
        v.push((
            format!("{}.conv.weight", c.name),
            vec![c.co, c.ci, c.kernel.0, c.kernel.1],
        ));
        for t in ["weight", "bias", "running_mean", "running_var"] {
            v.push((format!("{}.bn.{t}", c.name), vec![c.co]));
        }
    }
    v.push(("fc.weight".into(), vec![LOGITS, POOL3]));
    v.push(("fc.bias".into(), vec![LOGITS]));
    v
}

/// Writes `tensors` (name, shape, float32 values) as a safetensors file with `metadata`: the
/// format `convert_fid_weights.py` writes (tests use it to write formula weights).
///
/// # Errors
/// [`Error::Config`] if a shape does not hold its values; [`Error::Io`] naming the file.
pub fn write_weights(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: &[(&str, &str)],
) -> Result<(), Error> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(tensors.len());
    for ((name, shape, _), b) in tensors.iter().zip(&bytes) {
        let view =
            ::safetensors::tensor::TensorView::new(::safetensors::Dtype::F32, shape.clone(), b)
                .map_err(|e| Error::Config(format!("{}: tensor {name}: {e:?}", path.display())))?;
        views.push((name.clone(), view));
    }
    let meta = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let data = ::safetensors::tensor::serialize(views, &Some(meta))
        .map_err(|e| Error::Io(format!("{}: {e:?}", path.display())))?;
    crate::checkpoint::write_atomic(path, &data)
}

/// A convolution with its BatchNorm folded in, ready for im2col + GEMM.
#[derive(Clone, Debug)]
struct Conv {
    spec: ConvSpec,
    /// (kh·kw·ci) × co, rows ordered (ky, kx, c) to match channels-last im2col.
    w: Tensor<(usize, usize), f32, Cpu>,
    b: Vec<f32>,
}

/// Activations, channels-last: `v[((img·h + y)·w + x)·c + ch]`.
#[derive(Clone, Debug)]
struct Act {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    v: Vec<f32>,
}

/// pool3 features and logits of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// n × 2048, row-major: the FID features.
    pub pool3: Vec<f32>,
    /// n × 1008, row-major: the fc layer's output, pool3·Wᵀ + b (pytorch-fid's `fc`, the TF
    /// graph's `softmax/logits`).
    pub logits: Vec<f32>,
    /// n × 1008, row-major: pool3·Wᵀ without the bias — what the Inception score is computed
    /// from in the original TF code (OpenAI's `inception_score.py` multiplies pool_3 by the
    /// weights of `softmax/logits/MatMul` only; torch-fidelity's `logits_unbiased`).
    pub logits_unbiased: Vec<f32>,
}

/// pytorch-fid's FID Inception-v3 with BatchNorm folded, on dfdx's CPU device.
#[derive(Clone, Debug)]
pub struct InceptionV3 {
    dev: Cpu,
    convs: Vec<Conv>,
    /// 2048 × 1008.
    fc_w: Tensor<(usize, usize), f32, Cpu>,
    fc_b: Vec<f32>,
    sha256: String,
}

impl InceptionV3 {
    /// Loads the weights file at `path` (see the module docs).
    ///
    /// # Errors
    /// [`Error::Io`] if the file does not exist, naming it and saying how to make it
    /// ([`MISSING_WEIGHTS_HELP`]); [`Error::Data`] naming the file and the tensor if it is not
    /// a safetensors file, a tensor is missing, not float32, misshapen or not finite.
    pub fn load(path: &Path) -> Result<Self, Error> {
        if !path.is_file() {
            return Err(Error::Io(format!(
                "Inception weights {} not found: {MISSING_WEIGHTS_HELP}",
                path.display()
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Loads weights from the bytes of a safetensors file; `name` is used in error messages.
    ///
    /// # Errors
    /// As [`load`](Self::load), except for the missing file.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, Error> {
        let bad = |what: String| Error::Data(format!("{name}: {what}"));
        let st = ::safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
            bad(format!(
                "expected a safetensors file of Inception weights ({e:?}); {MISSING_WEIGHTS_HELP}"
            ))
        })?;
        let get = |key: &str, shape: &[usize]| -> Result<Vec<f32>, Error> {
            let t = st.tensor(key).map_err(|_| {
                bad(format!(
                    "no tensor {key} (expected pytorch-fid's state-dict names, as \
                     convert_fid_weights.py writes them)"
                ))
            })?;
            if t.dtype() != ::safetensors::Dtype::F32 {
                return Err(bad(format!(
                    "tensor {key} is {:?}, expected F32",
                    t.dtype()
                )));
            }
            if t.shape() != shape {
                return Err(bad(format!(
                    "tensor {key} has shape {:?}, expected {shape:?}",
                    t.shape()
                )));
            }
            let v: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if v.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("tensor {key} holds NaN or Inf")));
            }
            Ok(v)
        };
        let dev = Cpu::default();
        let mut convs = Vec::new();
        for spec in conv_specs() {
            let (kh, kw) = spec.kernel;
            let (ci, co) = (spec.ci, spec.co);
            let p = &spec.name;
            let w = get(&format!("{p}.conv.weight"), &[co, ci, kh, kw])?;
            let gamma = get(&format!("{p}.bn.weight"), &[co])?;
            let beta = get(&format!("{p}.bn.bias"), &[co])?;
            let mean = get(&format!("{p}.bn.running_mean"), &[co])?;
            let var = get(&format!("{p}.bn.running_var"), &[co])?;
            if let Some(v) = var.iter().find(|&&v| (v as f64) + BN_EPS <= 0.0) {
                return Err(bad(format!("tensor {p}.bn.running_var holds {v} < -eps")));
            }
            // BN(conv(x)) = s·conv(x) + (β − μ·s), s = γ / √(var + eps).
            let scale: Vec<f64> = (0..co)
                .map(|o| gamma[o] as f64 / (var[o] as f64 + BN_EPS).sqrt())
                .collect();
            let k = kh * kw * ci;
            let mut wm = vec![0.0f32; k * co];
            for o in 0..co {
                for c in 0..ci {
                    for y in 0..kh {
                        for x in 0..kw {
                            let src = ((o * ci + c) * kh + y) * kw + x;
                            let row = (y * kw + x) * ci + c;
                            wm[row * co + o] = (w[src] as f64 * scale[o]) as f32;
                        }
                    }
                }
            }
            let b = (0..co)
                .map(|o| (beta[o] as f64 - mean[o] as f64 * scale[o]) as f32)
                .collect();
            let w = dev.tensor_from_vec(wm, (k, co));
            convs.push(Conv { spec, w, b });
        }
        let fc = get("fc.weight", &[LOGITS, POOL3])?;
        let mut fc_t = vec![0.0f32; POOL3 * LOGITS];
        for o in 0..LOGITS {
            for i in 0..POOL3 {
                fc_t[i * LOGITS + o] = fc[o * POOL3 + i];
            }
        }
        let fc_w = dev.tensor_from_vec(fc_t, (POOL3, LOGITS));
        let fc_b = get("fc.bias", &[LOGITS])?;
        let sha256 = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(InceptionV3 {
            dev,
            convs,
            fc_w,
            fc_b,
            sha256,
        })
    }

    /// The SHA-256 (hex) of the weights file's bytes, recorded beside every number.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// pool3 features and logits of `n` images, NCHW float32 with `h` × `w` pixels and values
    /// in [−1, 1] (sngan's generator range; an image read from 8 bits is p/127.5 − 1).
    ///
    /// The images are mapped to [0, 1], resized and rescaled as pytorch-fid does (module docs).
    ///
    /// # Errors
    /// [`Error::Config`] if `images.len()` is not n·3·h·w or a side is 0; [`Error::Device`]
    /// if the CPU device fails (allocation).
    pub fn forward(&self, images: &[f32], n: usize, h: usize, w: usize) -> Result<Features, Error> {
        if n == 0 || h == 0 || w == 0 || images.len() != n * 3 * h * w {
            return Err(Error::Config(format!(
                "Inception input: expected {n} images of 3x{h}x{w} (n, h, w > 0) = {} values, found {}",
                n * 3 * h * w,
                images.len()
            )));
        }
        let x = resize_to_input(images, n, h, w);
        let mut it = self.convs.iter();
        let mut next = || {
            it.next()
                .ok_or_else(|| Error::Device("conv list exhausted".into()))
        };
        let mut x = self.conv(next()?, &x)?;
        x = self.conv(next()?, &x)?;
        x = self.conv(next()?, &x)?;
        x = max_pool(&x, 2, 0);
        x = self.conv(next()?, &x)?;
        x = self.conv(next()?, &x)?;
        x = max_pool(&x, 2, 0);
        for (_, block) in BLOCKS {
            x = match block {
                Block::A(..) => {
                    let b1 = self.conv(next()?, &x)?;
                    let b5 = self.conv(next()?, &x)?;
                    let b5 = self.conv(next()?, &b5)?;
                    let bd = self.conv(next()?, &x)?;
                    let bd = self.conv(next()?, &bd)?;
                    let bd = self.conv(next()?, &bd)?;
                    let bp = self.conv(next()?, &avg_pool_3x3(&x))?;
                    concat(&[b1, b5, bd, bp])
                }
                Block::B(_) => {
                    let b3 = self.conv(next()?, &x)?;
                    let bd = self.conv(next()?, &x)?;
                    let bd = self.conv(next()?, &bd)?;
                    let bd = self.conv(next()?, &bd)?;
                    concat(&[b3, bd, max_pool(&x, 2, 0)])
                }
                Block::C(..) => {
                    let b1 = self.conv(next()?, &x)?;
                    let mut b7 = self.conv(next()?, &x)?;
                    for _ in 0..2 {
                        b7 = self.conv(next()?, &b7)?;
                    }
                    let mut bd = self.conv(next()?, &x)?;
                    for _ in 0..4 {
                        bd = self.conv(next()?, &bd)?;
                    }
                    let bp = self.conv(next()?, &avg_pool_3x3(&x))?;
                    concat(&[b1, b7, bd, bp])
                }
                Block::D(_) => {
                    let b3 = self.conv(next()?, &x)?;
                    let b3 = self.conv(next()?, &b3)?;
                    let mut b7 = self.conv(next()?, &x)?;
                    for _ in 0..3 {
                        b7 = self.conv(next()?, &b7)?;
                    }
                    concat(&[b3, b7, max_pool(&x, 2, 0)])
                }
                Block::E(_, max) => {
                    let b1 = self.conv(next()?, &x)?;
                    let b3 = self.conv(next()?, &x)?;
                    let b3a = self.conv(next()?, &b3)?;
                    let b3b = self.conv(next()?, &b3)?;
                    let bd = self.conv(next()?, &x)?;
                    let bd = self.conv(next()?, &bd)?;
                    let bda = self.conv(next()?, &bd)?;
                    let bdb = self.conv(next()?, &bd)?;
                    let pooled = if max {
                        max_pool(&x, 1, 1)
                    } else {
                        avg_pool_3x3(&x)
                    };
                    let bp = self.conv(next()?, &pooled)?;
                    concat(&[b1, b3a, b3b, bda, bdb, bp])
                }
            };
        }
        // Global average pooling: pool3.
        let hw = (x.h * x.w) as f32;
        let mut pool3 = vec![0.0f32; n * x.c];
        for img in 0..n {
            let out = &mut pool3[img * x.c..(img + 1) * x.c];
            for p in x.v[img * x.h * x.w * x.c..(img + 1) * x.h * x.w * x.c].chunks_exact(x.c) {
                for (o, v) in out.iter_mut().zip(p) {
                    *o += v;
                }
            }
            for o in out.iter_mut() {
                *o /= hw;
            }
        }
        let a = self.dev.tensor_from_vec(pool3.clone(), (n, POOL3));
        let logits_unbiased = a
            .try_matmul(self.fc_w.clone())
            .map_err(crate::Error::from)?
            .as_vec();
        let mut logits = logits_unbiased.clone();
        for row in logits.chunks_exact_mut(LOGITS) {
            for (l, b) in row.iter_mut().zip(&self.fc_b) {
                *l += b;
            }
        }
        Ok(Features {
            pool3,
            logits,
            logits_unbiased,
        })
    }

    /// conv → (folded BN) → ReLU, by im2col + GEMM (a 1×1 stride-1 convolution skips im2col).
    fn conv(&self, conv: &Conv, x: &Act) -> Result<Act, Error> {
        let s = &conv.spec;
        let (kh, kw) = s.kernel;
        let (ph, pw) = s.padding;
        if x.c != s.ci {
            return Err(Error::Device(format!(
                "{}: {} input channels, expected {}",
                s.name, x.c, s.ci
            )));
        }
        let oh = (x.h + 2 * ph - kh) / s.stride + 1;
        let ow = (x.w + 2 * pw - kw) / s.stride + 1;
        let k = kh * kw * s.ci;
        let per_image = oh * ow * k;
        let mut out = Vec::with_capacity(x.n * oh * ow * s.co);
        let chunk = (COLS_LIMIT / per_image).clamp(1, x.n);
        let pointwise = kh == 1 && kw == 1 && s.stride == 1 && ph == 0 && pw == 0;
        let mut first = 0;
        while first < x.n {
            let imgs = chunk.min(x.n - first);
            let rows = imgs * oh * ow;
            let cols = if pointwise {
                x.v[first * per_image..(first + imgs) * per_image].to_vec()
            } else {
                im2col(x, s, first, imgs, oh, ow)
            };
            let a = self.dev.tensor_from_vec(cols, (rows, k));
            let y = a.try_matmul(conv.w.clone()).map_err(crate::Error::from)?;
            let mut y = y.as_vec();
            for row in y.chunks_exact_mut(s.co) {
                for (v, b) in row.iter_mut().zip(&conv.b) {
                    *v = (*v + b).max(0.0);
                }
            }
            out.extend_from_slice(&y);
            first += imgs;
        }
        Ok(Act {
            n: x.n,
            h: oh,
            w: ow,
            c: s.co,
            v: out,
        })
    }
}

/// Rows (img, oy, ox), columns (ky, kx, c) of images `first..first + imgs`; zero padding.
fn im2col(x: &Act, s: &ConvSpec, first: usize, imgs: usize, oh: usize, ow: usize) -> Vec<f32> {
    let (kh, kw) = s.kernel;
    let (ph, pw) = s.padding;
    let c = x.c;
    let k = kh * kw * c;
    let mut cols = vec![0.0f32; imgs * oh * ow * k];
    for i in 0..imgs {
        let img = first + i;
        for oy in 0..oh {
            for ox in 0..ow {
                let row = ((i * oh + oy) * ow + ox) * k;
                for ky in 0..kh {
                    let iy = (oy * s.stride + ky) as isize - ph as isize;
                    if iy < 0 || iy >= x.h as isize {
                        continue;
                    }
                    for kx in 0..kw {
                        let ix = (ox * s.stride + kx) as isize - pw as isize;
                        if ix < 0 || ix >= x.w as isize {
                            continue;
                        }
                        let src = ((img * x.h + iy as usize) * x.w + ix as usize) * c;
                        let dst = row + (ky * kw + kx) * c;
                        cols[dst..dst + c].copy_from_slice(&x.v[src..src + c]);
                    }
                }
            }
        }
    }
    cols
}

/// 3×3 max pooling with `stride` and `pad` (padding never wins: it is −∞).
fn max_pool(x: &Act, stride: usize, pad: usize) -> Act {
    let oh = (x.h + 2 * pad - 3) / stride + 1;
    let ow = (x.w + 2 * pad - 3) / stride + 1;
    let c = x.c;
    let mut v = vec![f32::NEG_INFINITY; x.n * oh * ow * c];
    for img in 0..x.n {
        for oy in 0..oh {
            for ox in 0..ow {
                let dst = ((img * oh + oy) * ow + ox) * c;
                for ky in 0..3 {
                    let iy = (oy * stride + ky) as isize - pad as isize;
                    if iy < 0 || iy >= x.h as isize {
                        continue;
                    }
                    for kx in 0..3 {
                        let ix = (ox * stride + kx) as isize - pad as isize;
                        if ix < 0 || ix >= x.w as isize {
                            continue;
                        }
                        let src = ((img * x.h + iy as usize) * x.w + ix as usize) * c;
                        for ch in 0..c {
                            v[dst + ch] = v[dst + ch].max(x.v[src + ch]);
                        }
                    }
                }
            }
        }
    }
    Act {
        n: x.n,
        h: oh,
        w: ow,
        c,
        v,
    }
}

/// 3×3 average pooling, stride 1, padding 1, dividing by the number of pixels inside the image
/// (count_include_pad = false, the FID blocks' pooling).
fn avg_pool_3x3(x: &Act) -> Act {
    let c = x.c;
    let mut v = vec![0.0f32; x.v.len()];
    for img in 0..x.n {
        for oy in 0..x.h {
            for ox in 0..x.w {
                let dst = ((img * x.h + oy) * x.w + ox) * c;
                let (y0, y1) = (oy.saturating_sub(1), (oy + 1).min(x.h - 1));
                let (x0, x1) = (ox.saturating_sub(1), (ox + 1).min(x.w - 1));
                for iy in y0..=y1 {
                    for ix in x0..=x1 {
                        let src = ((img * x.h + iy) * x.w + ix) * c;
                        for ch in 0..c {
                            v[dst + ch] += x.v[src + ch];
                        }
                    }
                }
                let count = ((y1 - y0 + 1) * (x1 - x0 + 1)) as f32;
                for ch in 0..c {
                    v[dst + ch] /= count;
                }
            }
        }
    }
    Act { v, ..*x }
}

fn concat(parts: &[Act]) -> Act {
    let (n, h, w) = (parts[0].n, parts[0].h, parts[0].w);
    let c: usize = parts.iter().map(|p| p.c).sum();
    let mut v = Vec::with_capacity(n * h * w * c);
    for px in 0..n * h * w {
        for p in parts {
            v.extend_from_slice(&p.v[px * p.c..(px + 1) * p.c]);
        }
    }
    Act { n, h, w, c, v }
}

/// Source index pair and weights of PyTorch's bilinear interpolation (align_corners = false):
/// src = (dst + ½)·in/out − ½, clamped below at 0, computed in f32 as PyTorch does for f32.
fn bilinear_taps(input: usize, output: usize) -> Vec<(usize, usize, f32, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|d| {
            let src = (scale * (d as f32 + 0.5) - 0.5).max(0.0);
            let i0 = (src as usize).min(input - 1);
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            let l1 = src - i0 as f32;
            (i0, i1, 1.0 - l1, l1)
        })
        .collect()
}

/// NCHW in [−1, 1] → [0, 1] → bilinear 299×299 → 2x − 1, channels-last.
fn resize_to_input(images: &[f32], n: usize, h: usize, w: usize) -> Act {
    let s = INCEPTION_SIZE;
    let ty = bilinear_taps(h, s);
    let tx = bilinear_taps(w, s);
    let mut v = vec![0.0f32; n * s * s * 3];
    for img in 0..n {
        for c in 0..3 {
            let plane = &images[(img * 3 + c) * h * w..(img * 3 + c + 1) * h * w];
            let at = |y: usize, x: usize| (plane[y * w + x] + 1.0) * 0.5;
            for (oy, &(y0, y1, hy0, hy1)) in ty.iter().enumerate() {
                for (ox, &(x0, x1, wx0, wx1)) in tx.iter().enumerate() {
                    let val = hy0 * (wx0 * at(y0, x0) + wx1 * at(y0, x1))
                        + hy1 * (wx0 * at(y1, x0) + wx1 * at(y1, x1));
                    v[((img * s + oy) * s + ox) * 3 + c] = 2.0 * val - 1.0;
                }
            }
        }
    }
    Act {
        n,
        h: s,
        w: s,
        c: 3,
        v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_sizes() {
        let specs = conv_specs();
        assert_eq!(specs.len(), 94);
        // 21,751,136 convolution weights (as PyTorch counts pytorch-fid's FID Inception), plus fc.
        let conv: usize = specs
            .iter()
            .map(|s| s.co * s.ci * s.kernel.0 * s.kernel.1)
            .sum();
        assert_eq!(conv, 21_751_136);
        assert_eq!(tensor_shapes().len(), 94 * 5 + 2);
    }

    #[test]
    fn resize_identity_at_299_and_constant_images() {
        let taps = bilinear_taps(299, 299);
        assert!(taps
            .iter()
            .enumerate()
            .all(|(i, &(a, _, w0, w1))| a == i && w0 == 1.0 && w1 == 0.0));
        let x = resize_to_input(&vec![0.25; 3 * 32 * 20], 1, 32, 20);
        assert!(x.v.iter().all(|&v| (v - 0.25).abs() < 1e-6));
    }

    #[test]
    fn avg_pool_excludes_padding() {
        // A 2x2 single-channel image: every 3x3 window covers all 4 pixels.
        let x = Act {
            n: 1,
            h: 2,
            w: 2,
            c: 1,
            v: vec![1.0, 2.0, 3.0, 4.0],
        };
        assert_eq!(avg_pool_3x3(&x).v, vec![2.5; 4]);
        assert_eq!(max_pool(&x, 1, 1).v, vec![4.0; 4]);
    }
}
