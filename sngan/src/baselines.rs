//! The discriminator-side baselines of Table 2, selectable by name (`sngan train --method`).
//!
//! Every method runs on Table 3's standard CNN; only the discriminator and its loss change.
//! `sn` is the product path ([`crate::nets::std_cnn`]'s spectrally normalized types, unchanged);
//! every other method runs on one discriminator type per image size and width whose method is
//! a run-time field (see [`crate::nets::method`]), so adding a method costs no new
//! monomorphization of the training loop.
//!
//! | [`Method`] | name | what D applies | loss |
//! |---|---|---|---|
//! | [`Vanilla`](Method::Vanilla) | `vanilla` | W, no normalization | standard |
//! | [`Sn`](Method::Sn) | `sn` | W̄ = W / σ̃(W) (eq. 8) | standard |
//! | [`SnGamma`](Method::SnGamma) | `sn-gamma` | γ·W̄, γ trained, initialised to σ(W₀) (App. E) | standard |
//! | [`Clip`](Method::Clip) | `clip` | W, every D parameter clamped to [−0.01, 0.01] after each D update | Wasserstein |
//! | [`Wn`](Method::Wn) | `wn` | W / ‖w_row‖ per output row, no γ | standard |
//! | [`Ln`](Method::Ln) | `ln` | W, layer norm after every conv but the first, no γ | standard |
//! | [`Bn`](Method::Bn) | `bn` | W, batch norm after every conv but the first, no γ | standard |
//! | [`Ortho`](Method::Ortho) | `ortho` | W, orthonormal init, + β Σ‖WWᵀ − I‖²_F in the D loss | standard |
//! | [`GanGp`](Method::GanGp) | `gan-gp` | W, + λ E[(‖∇D(x̂)‖ − 1)²] in the D loss | standard |
//! | [`WganGp`](Method::WganGp) | `wgan-gp` | W, + the same penalty | Wasserstein |
//!
//! The details and the choices made are documented on [`crate::nets::method`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::LossName;
use crate::Error;

/// A discriminator-side method of Table 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// No normalization, standard loss.
    Vanilla,
    /// Spectral normalization (the paper's method; the product path).
    #[default]
    Sn,
    /// SN with a trainable scalar γ per layer (Appendix E).
    SnGamma,
    /// Weight clipping, c = 0.01, with the Wasserstein loss (WGAN).
    Clip,
    /// Weight normalization without γ.
    Wn,
    /// Layer normalization without γ.
    Ln,
    /// Batch normalization without γ.
    Bn,
    /// Orthonormal regularization, D initialised orthonormal.
    Ortho,
    /// Standard loss plus the gradient penalty (λ = 10).
    GanGp,
    /// Wasserstein loss plus the gradient penalty (λ = 10).
    WganGp,
}

impl Method {
    /// Every method, in the order of [`Method::NAMES`].
    pub const ALL: [Method; 10] = [
        Method::Vanilla,
        Method::Sn,
        Method::SnGamma,
        Method::Clip,
        Method::Wn,
        Method::Ln,
        Method::Bn,
        Method::Ortho,
        Method::GanGp,
        Method::WganGp,
    ];

    /// Every accepted name, in the order of [`Method::ALL`].
    pub const NAMES: &'static [&'static str] = &[
        "vanilla", "sn", "sn-gamma", "clip", "wn", "ln", "bn", "ortho", "gan-gp", "wgan-gp",
    ];

    /// The method's name on the command line and in `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Vanilla => "vanilla",
            Method::Sn => "sn",
            Method::SnGamma => "sn-gamma",
            Method::Clip => "clip",
            Method::Wn => "wn",
            Method::Ln => "ln",
            Method::Bn => "bn",
            Method::Ortho => "ortho",
            Method::GanGp => "gan-gp",
            Method::WganGp => "wgan-gp",
        }
    }

    /// The method's name in the paper (Table 2's rows, Appendix E).
    pub fn paper_name(self) -> &'static str {
        match self {
            Method::Vanilla => "unconstrained (no normalization)",
            Method::Sn => "SN-GANs",
            Method::SnGamma => "SN with trainable γ (Appendix E)",
            Method::Clip => "weight clipping",
            Method::Wn => "weight normalization",
            Method::Ln => "layer normalization",
            Method::Bn => "batch normalization",
            Method::Ortho => "orthonormal regularization",
            Method::GanGp => "GAN-GP",
            Method::WganGp => "WGAN-GP",
        }
    }

    /// The loss the paper pairs the method with: Wasserstein for weight clipping (WGAN) and
    /// WGAN-GP, the standard loss (eq. 15) for the others.
    pub fn default_loss(self) -> LossName {
        match self {
            Method::Clip | Method::WganGp => LossName::Wasserstein,
            _ => LossName::Standard,
        }
    }

    /// Whether this is [`Method::Sn`] (for `skip_serializing_if`: an `sn` run's
    /// `config.json` stays as it was before methods existed).
    pub fn is_sn(&self) -> bool {
        *self == Method::Sn
    }

    /// Whether D's layers carry spectral normalization (σ̃ from power iteration).
    pub fn spectrally_normalized(self) -> bool {
        matches!(self, Method::Sn | Method::SnGamma)
    }

    /// Whether the D loss carries the gradient penalty.
    pub fn gradient_penalty(self) -> bool {
        matches!(self, Method::GanGp | Method::WganGp)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;
    /// Parses one of [`NAMES`](Self::NAMES), ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Error> {
        Method::ALL
            .into_iter()
            .find(|m| s.eq_ignore_ascii_case(m.name()))
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown method {s:?}: expected one of {}",
                    Method::NAMES.join(", ")
                ))
            })
    }
}

/// Weight clipping's bound c (WGAN, and Table 2's "weight clipping" row).
pub const CLIP: f32 = 0.01;

/// λ of the gradient penalty (WGAN-GP, and Sec. 4's objectives).
pub const GP_LAMBDA: f32 = 10.0;

/// β of the orthonormal regularization β Σ_l ‖W_l W_lᵀ − I‖²_F (see [`crate::nets::method`]
/// for the choice).
pub const ORTHO_BETA: f32 = 1e-4;

/// ε of the normalizations: batch norm (chainer's `BatchNormalization` default 2e-5), layer
/// norm (chainer's `LayerNormalization` default 1e-6) and the row norms of weight
/// normalization (`‖w‖ = sqrt(Σw² + ε)`, keeping a zero row finite).
pub const BN_EPS: f32 = 2e-5;
/// See [`BN_EPS`].
pub const LN_EPS: f32 = 1e-6;
/// See [`BN_EPS`].
pub const WN_EPS: f32 = 1e-12;

/// The matrix one discriminator layer applies, `rows × cols` = d_out × (d_in·k·k), row-major,
/// in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveMatrix {
    /// The layer's name (`c0`, …, `l7`).
    pub name: String,
    /// d_out.
    pub rows: usize,
    /// d_in·k·k.
    pub cols: usize,
    /// The entries, row-major.
    pub values: Vec<f64>,
}

impl EffectiveMatrix {
    /// σ, the largest singular value, exact (sn-core's power iteration to a relative
    /// tolerance of 1e-6 on the singular vectors, so σ to about 1e-12).
    ///
    /// # Errors
    /// sn-core's error (NaN or Inf entries).
    pub fn sigma(&self) -> Result<f64, Error> {
        let u0 = (0..self.rows).map(|i| 1.0 + 0.1 * (i % 7) as f64).collect();
        crate::layers::sigma_exact_f64(&self.values, self.rows, self.cols, u0)
    }

    /// Every singular value, descending (min(rows, cols) of them), by nalgebra's SVD.
    pub fn singular_values(&self) -> Vec<f64> {
        let m = nalgebra::DMatrix::from_row_slice(self.rows, self.cols, &self.values);
        let mut s: Vec<f64> = m.singular_values().iter().copied().collect();
        s.sort_by(|a, b| b.total_cmp(a));
        s
    }
}

/// The effective matrices of a discriminator's layers `layers` under `method`, from its
/// tensors by path (as [`crate::checkpoint::named_tensors`] gives them and a checkpoint
/// stores them under `d.`): W̄ = W/σ̃ with σ̃ = ũᵀWv for `sn`, γ_l·W/σ̃ for `sn-gamma`,
/// W/‖w_row‖ per row for `wn`, W for the others. A layer `L`'s weight is `L.conv.weight` or
/// `L.weight`, its SN state `L.sn.u`, `L.sn.v`, and `sn-gamma`'s scales the vector `gamma`
/// in layer order.
///
/// # Errors
/// [`Error::Checkpoint`] naming a missing or misshapen tensor.
pub fn effective_matrices(
    method: Method,
    layers: &[&str],
    tensors: &std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>,
) -> Result<Vec<EffectiveMatrix>, Error> {
    let get = |k: &str| {
        tensors
            .get(k)
            .ok_or_else(|| Error::Checkpoint(format!("no discriminator tensor {k}")))
    };
    let mut out = Vec::with_capacity(layers.len());
    for (l, name) in layers.iter().enumerate() {
        let (shape, w) =
            get(&format!("{name}.conv.weight")).or_else(|_| get(&format!("{name}.weight")))?;
        let rows = shape.first().copied().unwrap_or(0);
        if rows == 0 {
            return Err(Error::Checkpoint(format!("{name}: empty weight {shape:?}")));
        }
        let cols = w.len() / rows;
        let mut values: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
        match method {
            Method::Sn | Method::SnGamma => {
                let (_, u) = get(&format!("{name}.sn.u"))?;
                let (_, v) = get(&format!("{name}.sn.v"))?;
                if u.len() != rows || v.len() != cols {
                    return Err(Error::Checkpoint(format!(
                        "{name}: ũ, v of lengths {}, {} for a {rows} × {cols} weight",
                        u.len(),
                        v.len()
                    )));
                }
                let sigma_tilde: f64 = (0..rows)
                    .map(|i| {
                        let row = &values[i * cols..(i + 1) * cols];
                        f64::from(u[i])
                            * row
                                .iter()
                                .zip(v)
                                .map(|(a, &b)| a * f64::from(b))
                                .sum::<f64>()
                    })
                    .sum();
                let mut scale = 1.0 / sigma_tilde;
                if method == Method::SnGamma {
                    let (_, gamma) = get("gamma")?;
                    let g = gamma.get(l).ok_or_else(|| {
                        Error::Checkpoint(format!(
                            "gamma has {} entries, layer {l} needs one",
                            gamma.len()
                        ))
                    })?;
                    scale *= f64::from(*g);
                }
                values.iter_mut().for_each(|x| *x *= scale);
            }
            Method::Wn => {
                for row in values.chunks_exact_mut(cols) {
                    let n = (row.iter().map(|x| x * x).sum::<f64>() + f64::from(WN_EPS)).sqrt();
                    row.iter_mut().for_each(|x| *x /= n);
                }
            }
            _ => {}
        }
        out.push(EffectiveMatrix {
            name: name.to_string(),
            rows,
            cols,
            values,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        assert_eq!(Method::ALL.len(), Method::NAMES.len());
        for (m, n) in Method::ALL.into_iter().zip(Method::NAMES) {
            assert_eq!(m.name(), *n);
            assert_eq!(m.to_string(), *n);
            assert_eq!(n.parse::<Method>().unwrap(), m);
            assert_eq!(n.to_uppercase().parse::<Method>().unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{n}\""));
            assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), m);
        }
        assert!("spectral".parse::<Method>().is_err());
        assert_eq!(Method::default(), Method::Sn);
        assert_eq!(Method::Clip.default_loss(), LossName::Wasserstein);
        assert_eq!(Method::WganGp.default_loss(), LossName::Wasserstein);
        assert_eq!(Method::GanGp.default_loss(), LossName::Standard);
    }
}
