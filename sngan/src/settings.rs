//! Optimiser presets: Table 1's settings A–F, the ResNet runs' setting, and the training
//! hyperparameters that go with them.
//!
//! ```
//! use sngan::settings::{Setting, TrainSettings};
//!
//! // Table 1, setting D: α = 0.001, β1 = 0.5, β2 = 0.9, five D updates per G update.
//! let s: Setting = "d".parse().unwrap();
//! assert_eq!(s, Setting::D);
//! assert_eq!((s.adam().alpha, s.adam().beta1, s.adam().beta2, s.n_dis()), (1e-3, 0.5, 0.9, 5));
//!
//! let cfg = TrainSettings::from(s).adam_config();
//! assert_eq!((cfg.lr, cfg.betas), (1e-3, [0.5, 0.9]));
//! ```

use std::fmt;
use std::str::FromStr;

use dfdx::optim::AdamConfig;

use crate::loss::Loss;

/// Adam's hyperparameters in the paper's notation (Table 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    /// Learning rate α.
    pub alpha: f64,
    /// First-moment decay β1.
    pub beta1: f64,
    /// Second-moment decay β2.
    pub beta2: f64,
}

impl AdamParams {
    /// Adam's ε, which Table 1 does not vary: 1e-8, the default of Chainer's `Adam` (the
    /// reference code's optimiser) and of dfdx's [`AdamConfig`].
    pub const EPS: f64 = 1e-8;
}

impl From<AdamParams> for AdamConfig {
    /// dfdx's Adam with `lr = α`, `betas = [β1, β2]`, `eps =` [`AdamParams::EPS`] and no weight
    /// decay (the paper uses none).
    fn from(p: AdamParams) -> Self {
        AdamConfig {
            lr: p.alpha,
            betas: [p.beta1, p.beta2],
            eps: AdamParams::EPS,
            weight_decay: None,
        }
    }
}

/// How α changes over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LrDecay {
    /// α is fixed (settings A–F of Table 1).
    #[default]
    Constant,
    /// α falls linearly from its initial value to 0 over the run (the ResNet runs; the
    /// reference config runs 50K generator updates).
    Linear,
}

impl LrDecay {
    /// The learning rate for the update after `step` generator updates of a run of
    /// `total_steps`, starting from `alpha`.
    ///
    /// # Math
    ///
    /// Constant: α. Linear: α · (1 − step / total_steps), and 0 once `step ≥ total_steps`;
    /// the reference code (sngan_projection's `LinearShift` from iteration 0) counts steps in
    /// generator updates, each of which comes with n_dis discriminator updates at the same α.
    pub fn alpha(self, alpha: f64, step: usize, total_steps: usize) -> f64 {
        match self {
            LrDecay::Constant => alpha,
            LrDecay::Linear if step >= total_steps => 0.0,
            LrDecay::Linear => alpha * (1.0 - step as f64 / total_steps as f64),
        }
    }
}

/// An optimiser preset: the rows of Table 1, plus the ResNet runs' setting.
///
/// Parsed from and displayed as its letter (`"A"`–`"F"`, case-insensitive on input) or
/// `"resnet"`. The default is [`Setting::C`]; see [`TrainSettings::default`] for why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Setting {
    /// Table 1 A: α = 1e-4, β1 = 0.5, β2 = 0.9, n_dis = 5.
    A,
    /// Table 1 B: α = 1e-4, β1 = 0.5, β2 = 0.999, n_dis = 1 (the best STL-10 setting).
    B,
    /// Table 1 C: α = 2e-4, β1 = 0.5, β2 = 0.999, n_dis = 1 (the setting of Fig. 9).
    #[default]
    C,
    /// Table 1 D: α = 1e-3, β1 = 0.5, β2 = 0.9, n_dis = 5 (aggressive).
    D,
    /// Table 1 E: α = 1e-3, β1 = 0.5, β2 = 0.999, n_dis = 5 (aggressive).
    E,
    /// Table 1 F: α = 1e-3, β1 = 0.9, β2 = 0.999, n_dis = 5 (aggressive).
    F,
    /// The ResNet runs (Sec. 4, Tables 4–5): α = 2e-4, β1 = 0, β2 = 0.9, n_dis = 5, with α
    /// decayed linearly to 0 ([`LrDecay::Linear`]) and the hinge loss.
    ResNet,
}

impl Setting {
    /// The six rows of Table 1, in order.
    pub const TABLE_1: [Setting; 6] = [
        Setting::A,
        Setting::B,
        Setting::C,
        Setting::D,
        Setting::E,
        Setting::F,
    ];

    /// Every preset: Table 1 followed by [`Setting::ResNet`].
    pub const ALL: [Setting; 7] = [
        Setting::A,
        Setting::B,
        Setting::C,
        Setting::D,
        Setting::E,
        Setting::F,
        Setting::ResNet,
    ];

    /// Adam's (α, β1, β2) for this preset (Table 1).
    pub fn adam(&self) -> AdamParams {
        let (alpha, beta1, beta2) = match self {
            Setting::A => (1e-4, 0.5, 0.9),
            Setting::B => (1e-4, 0.5, 0.999),
            Setting::C => (2e-4, 0.5, 0.999),
            Setting::D => (1e-3, 0.5, 0.9),
            Setting::E => (1e-3, 0.5, 0.999),
            Setting::F => (1e-3, 0.9, 0.999),
            Setting::ResNet => (2e-4, 0.0, 0.9),
        };
        AdamParams {
            alpha,
            beta1,
            beta2,
        }
    }

    /// Discriminator updates per generator update (Table 1's n_dis).
    pub fn n_dis(&self) -> usize {
        match self {
            Setting::B | Setting::C => 1,
            Setting::A | Setting::D | Setting::E | Setting::F | Setting::ResNet => 5,
        }
    }

    /// How α evolves: constant for Table 1, linear to 0 for the ResNet runs.
    pub fn lr_decay(&self) -> LrDecay {
        match self {
            Setting::ResNet => LrDecay::Linear,
            _ => LrDecay::Constant,
        }
    }

    /// The objective the paper pairs with this preset: [`Loss::Standard`] for Table 1 (the
    /// standard-CNN runs), [`Loss::Hinge`] for the ResNet runs.
    pub fn loss(&self) -> Loss {
        match self {
            Setting::ResNet => Loss::Hinge,
            _ => Loss::Standard,
        }
    }
}

impl fmt::Display for Setting {
    /// The letter of Table 1 (`A`–`F`) or `resnet`; [`FromStr`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::A => "A",
            Setting::B => "B",
            Setting::C => "C",
            Setting::D => "D",
            Setting::E => "E",
            Setting::F => "F",
            Setting::ResNet => "resnet",
        })
    }
}

/// A string that names no [`Setting`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown optimizer setting {input:?}: expected one of A, B, C, D, E, F (Table 1) or resnet, \
     case-insensitive"
)]
pub struct ParseSettingError {
    input: String,
}

impl ParseSettingError {
    /// The rejected input, as given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl FromStr for Setting {
    type Err = ParseSettingError;

    /// Parses `A`–`F` or `resnet`, ignoring ASCII case.
    ///
    /// # Errors
    ///
    /// [`ParseSettingError`], naming the input and the accepted values, for anything else
    /// (including surrounding whitespace).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Setting::ALL
            .into_iter()
            .find(|setting| setting.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSettingError {
                input: s.to_owned(),
            })
    }
}

/// The hyperparameters of a training run that the paper fixes per experiment.
///
/// [`Default`] is the standard-CNN run: Table 1 setting C with [`Loss::Standard`], batch 64,
/// z ∈ R¹²⁸.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSettings {
    /// Adam's (α, β1, β2), the same for G and D (Table 1).
    pub adam: AdamParams,
    /// How α evolves over the run.
    pub lr_decay: LrDecay,
    /// Discriminator updates per generator update (Table 1's n_dis).
    pub n_dis: usize,
    /// Samples per discriminator update, real and fake each (64 in the paper's runs).
    pub batch_size: usize,
    /// Samples per generator update: 64 for the standard CNN, 128 for the ResNet reference
    /// config.
    pub g_batch_size: usize,
    /// The adversarial objective (Sec. 4).
    pub loss: Loss,
    /// Dimension of the latent z ~ N(0, I) (128 in all experiments).
    pub z_dim: usize,
}

impl TrainSettings {
    /// Batch size of every run in the paper.
    pub const BATCH_SIZE: usize = 64;
    /// Latent dimension of every run in the paper.
    pub const Z_DIM: usize = 128;

    /// dfdx's Adam configuration for the initial α: `lr = α`, `betas = [β1, β2]`,
    /// `eps =` [`AdamParams::EPS`], no weight decay.
    pub fn adam_config(&self) -> AdamConfig {
        self.adam.into()
    }

    /// α for the update after `step` of `total_steps` generator updates
    /// (see [`LrDecay::alpha`]).
    pub fn alpha_at(&self, step: usize, total_steps: usize) -> f64 {
        self.lr_decay.alpha(self.adam.alpha, step, total_steps)
    }
}

impl From<Setting> for TrainSettings {
    /// The preset's Adam parameters, n_dis, decay and loss ([`Setting::loss`]), with the
    /// paper's batch size 64 and z_dim 128.
    ///
    /// The ResNet reference config draws 128 samples per generator update (twice D's 64).
    fn from(setting: Setting) -> Self {
        TrainSettings {
            adam: setting.adam(),
            lr_decay: setting.lr_decay(),
            n_dis: setting.n_dis(),
            batch_size: Self::BATCH_SIZE,
            g_batch_size: if setting == Setting::ResNet {
                2 * Self::BATCH_SIZE
            } else {
                Self::BATCH_SIZE
            },
            loss: setting.loss(),
            z_dim: Self::Z_DIM,
        }
    }
}

impl Default for TrainSettings {
    /// The standard-CNN SN-GAN: setting C (Table 1) with the standard loss (eq. 15).
    ///
    /// The paper names C as the setting of Fig. 9 and B as the best for STL-10, but does not
    /// tie Table 2's standard-CNN row to one letter; C is the CIFAR-10 choice here. (The
    /// reference code's `train.py` defaults, α = 2e-4, β1 = 0, β2 = 0.9, n_dis = 5, are none of
    /// Table 1's rows.)
    fn default() -> Self {
        Setting::default().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_table_1() {
        // Table 1:  setting | α    | β1  | β2    | n_dis
        let table: [(Setting, f64, f64, f64, usize); 6] = [
            (Setting::A, 1e-4, 0.5, 0.9, 5),
            (Setting::B, 1e-4, 0.5, 0.999, 1),
            (Setting::C, 2e-4, 0.5, 0.999, 1),
            (Setting::D, 1e-3, 0.5, 0.9, 5),
            (Setting::E, 1e-3, 0.5, 0.999, 5),
            (Setting::F, 1e-3, 0.9, 0.999, 5),
        ];
        for (setting, alpha, beta1, beta2, n_dis) in table {
            let expected = AdamParams {
                alpha,
                beta1,
                beta2,
            };
            assert_eq!(setting.adam(), expected, "{setting}");
            assert_eq!(setting.n_dis(), n_dis, "{setting}");
            assert_eq!(setting.lr_decay(), LrDecay::Constant, "{setting}");
            assert_eq!(setting.loss(), Loss::Standard, "{setting}");
        }
        assert_eq!(
            table.map(|row| row.0),
            Setting::TABLE_1,
            "TABLE_1 lists A–F in order"
        );
    }

    #[test]
    fn resnet_preset() {
        let s = Setting::ResNet;
        assert_eq!(
            s.adam(),
            AdamParams {
                alpha: 2e-4,
                beta1: 0.0,
                beta2: 0.9
            }
        );
        assert_eq!(s.n_dis(), 5);
        assert_eq!(s.lr_decay(), LrDecay::Linear);
        assert_eq!(s.loss(), Loss::Hinge);
        let t = TrainSettings::from(s);
        assert_eq!((t.batch_size, t.z_dim, t.loss), (64, 128, Loss::Hinge));
        assert_eq!(t.g_batch_size, 128);
    }

    #[test]
    fn default_is_setting_c_standard_loss() {
        let t = TrainSettings::default();
        assert_eq!(
            t,
            TrainSettings {
                adam: AdamParams {
                    alpha: 2e-4,
                    beta1: 0.5,
                    beta2: 0.999
                },
                lr_decay: LrDecay::Constant,
                n_dis: 1,
                batch_size: 64,
                g_batch_size: 64,
                loss: Loss::Standard,
                z_dim: 128,
            }
        );
        assert_eq!(Setting::default(), Setting::C);
    }

    #[test]
    fn adam_config_conversion() {
        for setting in Setting::ALL {
            let p = setting.adam();
            let cfg = TrainSettings::from(setting).adam_config();
            assert_eq!(cfg.lr, p.alpha, "{setting}");
            assert_eq!(cfg.betas, [p.beta1, p.beta2], "{setting}");
            assert_eq!(cfg.eps, 1e-8, "{setting}");
            assert!(cfg.weight_decay.is_none(), "{setting}");
        }
    }

    #[test]
    fn linear_decay_reaches_zero() {
        let t = TrainSettings::from(Setting::ResNet);
        assert_eq!(t.alpha_at(0, 50_000), 2e-4);
        assert!((t.alpha_at(25_000, 50_000) - 1e-4).abs() < 1e-18);
        assert_eq!(t.alpha_at(50_000, 50_000), 0.0);
        assert_eq!(t.alpha_at(60_000, 50_000), 0.0);
        let c = TrainSettings::default();
        assert_eq!(c.alpha_at(49_999, 50_000), 2e-4);
    }

    #[test]
    fn parse_display_round_trip() {
        for setting in Setting::ALL {
            let shown = setting.to_string();
            assert_eq!(shown.parse::<Setting>(), Ok(setting));
            assert_eq!(shown.to_lowercase().parse::<Setting>(), Ok(setting));
            assert_eq!(shown.to_uppercase().parse::<Setting>(), Ok(setting));
        }
        assert_eq!(
            Setting::TABLE_1.map(|s| s.to_string()),
            ["A", "B", "C", "D", "E", "F"]
        );
        assert_eq!("ResNet".parse::<Setting>(), Ok(Setting::ResNet));
    }

    #[test]
    fn bad_input_is_named_in_the_error() {
        for bad in ["G", "", " a", "AB", "res-net", "c\n"] {
            let err = bad.parse::<Setting>().unwrap_err();
            assert_eq!(err.input(), bad);
            let msg = err.to_string();
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
            assert!(
                msg.contains("A, B, C, D, E, F") && msg.contains("resnet"),
                "{msg}"
            );
        }
    }
}
