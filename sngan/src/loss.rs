//! The adversarial objectives of Sec. 4, written on discriminator logits.
//!
//! Every function here takes the discriminator's raw output l = D(x), *before* any sigmoid, as a
//! [`Logits`] tensor of shape `(usize, Const<1>)`: batch × one logit, which is exactly what the
//! final `dense → 1` layer of Tables 3–5 produces, so no reshape sits between the network and
//! the loss. Each loss is a scalar [`Tensor<Rank0, f32, D, T>`] that keeps the tape, so
//! `loss.backward()` reaches the networks' parameters.
//!
//! | [`Loss`] | discriminator loss (minimised) | generator loss (minimised) |
//! |---|---|---|
//! | [`Standard`](Loss::Standard) (eq. 15) | mean softplus(−l_real) + mean softplus(l_fake) | mean softplus(−l_fake) |
//! | [`Hinge`](Loss::Hinge) (eq. 16–17) | mean relu(1 − l_real) + mean relu(1 + l_fake) | −mean l_fake |
//! | [`Wasserstein`](Loss::Wasserstein) | mean l_fake − mean l_real | −mean l_fake |
//!
//! Real and fake batches are averaged separately, so they may have different sizes.
//!
//! ```
//! use dfdx::prelude::*;
//! use sngan::loss::Loss;
//!
//! let dev: Cpu = Default::default();
//! let real = dev.tensor_from_vec(vec![0.0f32, 0.0], (2, Const::<1>));
//! let fake = dev.tensor_from_vec(vec![0.0f32], (1, Const::<1>));
//! // At l = 0 the discriminator is undecided: each term of eq. 15 is log 2.
//! let d = Loss::Standard.discriminator(real.leaky_trace(), fake.leaky_trace());
//! assert!((d.array() - 2.0 * std::f32::consts::LN_2).abs() < 1e-6);
//! ```

use dfdx::shapes::{Const, Rank0, Shape};
use dfdx::tensor::{Tape, Tensor, WithEmptyTape};
use dfdx::tensor_ops::{Device, MeanTo};

/// Discriminator logits for a batch: one pre-sigmoid score D(x) per sample, batch first.
///
/// This is the output shape of the final `dense → 1` layer of Tables 3–5.
pub type Logits<D, T> = Tensor<(usize, Const<1>), f32, D, T>;

/// Which adversarial objective to train with (Sec. 4).
///
/// The default is [`Loss::Standard`], the objective of the paper's standard-CNN runs
/// (Table 2, "SN-GAN (standard CNN)"); the ResNet runs use [`Loss::Hinge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// The original GAN objective with the non-saturating generator loss.
    ///
    /// # Math
    ///
    /// Eq. 15 with D(x) = sigmoid(l(x)), so log D = −softplus(−l) and
    /// log(1 − D) = −softplus(l):
    ///
    /// - discriminator: mean softplus(−l_real) + mean softplus(l_fake);
    /// - generator (maximise E log D(G(z))): mean softplus(−l_fake).
    #[default]
    Standard,
    /// The hinge objective.
    ///
    /// # Math
    ///
    /// Eq. 16–17, negated into losses to minimise:
    ///
    /// - discriminator: mean relu(1 − l_real) + mean relu(1 + l_fake);
    /// - generator: −mean l_fake.
    Hinge,
    /// The Wasserstein critic objective, *without* the gradient penalty.
    ///
    /// # Math
    ///
    /// The first two terms of the WGAN-GP row of Sec. 4's objectives, negated:
    ///
    /// - critic: mean l_fake − mean l_real;
    /// - generator: −mean l_fake.
    ///
    /// The penalty λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²] (λ = 10) needs gradients with respect to the input
    /// and is not part of this type; until it is added, this is the unconstrained critic, which
    /// is only meaningful with a Lipschitz-constrained D (spectral normalization).
    Wasserstein,
}

impl Loss {
    /// The discriminator's loss, to be minimised over D's parameters.
    ///
    /// `real_logits` = D(x) on data, `fake_logits` = D(G(z)) on samples; each is averaged over
    /// its own batch. See the variants for the formulas (eq. 15, eq. 16).
    ///
    /// An empty batch gives NaN (a mean over zero elements).
    pub fn discriminator<D: Device<f32>, T: Tape<f32, D>>(
        self,
        real_logits: Logits<D, T>,
        fake_logits: Logits<D, T>,
    ) -> Tensor<Rank0, f32, D, T> {
        match self {
            Loss::Standard => {
                softplus(-real_logits).mean::<Rank0, _>() + softplus(fake_logits).mean::<Rank0, _>()
            }
            Loss::Hinge => {
                (-real_logits + 1.0).relu().mean::<Rank0, _>()
                    + (fake_logits + 1.0).relu().mean::<Rank0, _>()
            }
            Loss::Wasserstein => fake_logits.mean::<Rank0, _>() - real_logits.mean::<Rank0, _>(),
        }
    }

    /// The generator's loss, to be minimised over G's parameters.
    ///
    /// `fake_logits` = D(G(z)). Standard: the non-saturating mean softplus(−l_fake) (Sec. 4,
    /// after eq. 15); hinge (eq. 17) and Wasserstein: −mean l_fake.
    ///
    /// An empty batch gives NaN (a mean over zero elements).
    pub fn generator<D: Device<f32>, T: Tape<f32, D>>(
        self,
        fake_logits: Logits<D, T>,
    ) -> Tensor<Rank0, f32, D, T> {
        match self {
            Loss::Standard => softplus(-fake_logits).mean::<Rank0, _>(),
            Loss::Hinge | Loss::Wasserstein => -fake_logits.mean::<Rank0, _>(),
        }
    }
}

/// Elementwise softplus(x) = ln(1 + eˣ), computed without overflow and with a gradient that is
/// finite everywhere.
///
/// # Math
///
/// softplus(x) = max(x, 0) + ln(1 + e^{−|x|}). Since e^{−|x|} ≤ 1 nothing overflows, and
/// softplus′(x) = sigmoid(x) is reproduced by the chain rule through these ops.
///
/// dfdx 0.13 has no `log1p`, so ln(1 + e^{−|x|}) rounds to 0 once e^{−|x|} is below f32's
/// half-ulp of 1 (|x| ≳ 16.6): an absolute error under 6·10⁻⁸ in the value, harmless next to
/// the max(x, 0) term. The gradient keeps full precision there, because the derivative of exp
/// is evaluated as e^{−|x|} itself, not recovered from the rounded sum.
///
/// −|x| is formed as x − 2·max(x, 0) rather than with `abs`: dfdx gives both `abs` and `relu`
/// the derivative 0 at x = 0, and with `abs` the chain rule would yield softplus′(0) = 0
/// instead of ½. With one relu in both terms the subgradient convention cancels:
/// r + ½(1 − 2r) = ½ for any r.
pub fn softplus<S: Shape, D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<S, f32, D, T>,
) -> Tensor<S, f32, D, T> {
    // max(x, 0) on its own tape; `x` keeps the caller's. Gradients meet again by tensor id.
    let pos = x.with_empty_tape().relu();
    let neg_abs = x - pos.with_empty_tape() * 2.0;
    (neg_abs.exp() + 1.0).ln() + pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::prelude::*;

    /// Asserts |got − want| ≤ atol + rtol·|want| elementwise, reporting the worst element.
    fn assert_close(got: &[f32], want: &[f64], atol: f64, rtol: f64) {
        assert_eq!(
            got.len(),
            want.len(),
            "length mismatch: {got:?} vs {want:?}"
        );
        let worst = got
            .iter()
            .zip(want)
            .enumerate()
            .map(|(i, (&g, &w))| (i, (g as f64 - w).abs() - (atol + rtol * w.abs())))
            .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        assert!(
            worst.1 <= 0.0 && got.iter().all(|g| g.is_finite()),
            "element {} differs: got {:?}, want {:?} (atol {atol}, rtol {rtol})",
            worst.0,
            got,
            want
        );
    }

    fn logits(dev: &Cpu, v: &[f32]) -> Logits<Cpu, NoneTape> {
        dev.tensor_from_vec(v.to_vec(), (v.len(), Const::<1>))
    }

    /// The D loss and its gradients with respect to the real and fake logits.
    fn d_loss_and_grads(loss: Loss, real: &[f32], fake: &[f32]) -> (f32, Vec<f32>, Vec<f32>) {
        let dev: Cpu = Default::default();
        let (r, f) = (logits(&dev, real), logits(&dev, fake));
        let l = loss.discriminator(r.leaky_trace(), f.leaky_trace());
        let value = l.array();
        let g = l.backward();
        (value, g.get(&r).as_vec(), g.get(&f).as_vec())
    }

    /// The G loss and its gradient with respect to the fake logits.
    fn g_loss_and_grad(loss: Loss, fake: &[f32]) -> (f32, Vec<f32>) {
        let dev: Cpu = Default::default();
        let f = logits(&dev, fake);
        let l = loss.generator(f.leaky_trace());
        let value = l.array();
        let g = l.backward();
        (value, g.get(&f).as_vec())
    }

    const REAL: [f32; 2] = [0.0, 2.0];
    const FAKE: [f32; 3] = [-2.0, 1.0, 3.0];

    // Hand values (σ = sigmoid, sp = softplus, computed with f64 log1p/exp):
    //   sp(0) = ln 2 = 0.693147181      sp(−2) = ln(1 + e⁻²) = 0.126928011
    //   sp(1) = 1.313261688             sp(3)  = 3.048587352
    //   sp(2) = 2.126928011             sp(−1) = 0.313261688     sp(−3) = 0.048587352
    //   σ(0) = 0.5   σ(−2) = 0.119202922   σ(1) = 0.731058579   σ(3) = 0.952574127
    //   σ(2) = 0.880797078   σ(−1) = 0.268941421   σ(−3) = 0.047425873

    #[test]
    fn default_is_standard() {
        assert_eq!(Loss::default(), Loss::Standard);
    }

    #[test]
    fn softplus_matches_hand_values_and_sigmoid_gradient() {
        let dev: Cpu = Default::default();
        let x = dev.tensor([-3.0f32, -1.0, 0.0, 1.0, 2.0, 20.0, -20.0]);
        let y = softplus(x.leaky_trace());
        // sp(20) = 20 + ln(1 + e⁻²⁰) = 20 + 2.06e-9; sp(−20) = e⁻²⁰ ≈ 2.06e-9 (rounds to 0).
        assert_close(
            &y.as_vec(),
            &[
                0.048587352,
                0.313261688,
                std::f64::consts::LN_2,
                1.313261688,
                2.126928011,
                20.0,
                0.0,
            ],
            1e-6,
            1e-6,
        );
        let g = y.sum::<Rank0, _>().backward();
        // softplus′ = σ; at −20 the gradient keeps full relative precision: σ(−20) = 2.0611537e-9.
        assert_close(
            &g.get(&x).as_vec(),
            &[
                0.047425873,
                0.268941421,
                0.5,
                0.731058579,
                0.880797078,
                1.0,
                2.0611537e-9,
            ],
            1e-7,
            1e-5,
        );
    }

    #[test]
    fn softplus_finite_at_f32_extremes() {
        let dev: Cpu = Default::default();
        let x = dev.tensor([f32::MAX, -f32::MAX, 1e30, -1e30, 1e4, -1e4]);
        let y = softplus(x.leaky_trace());
        assert_eq!(y.as_vec(), vec![f32::MAX, 0.0, 1e30, 0.0, 1e4, 0.0]);
        let g = y.sum::<Rank0, _>().backward();
        assert_eq!(g.get(&x).as_vec(), vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn standard_matches_eq_15() {
        let (d, gr, gf) = d_loss_and_grads(Loss::Standard, &REAL, &FAKE);
        // D = [sp(−0) + sp(−2)]/2 + [sp(−2) + sp(1) + sp(3)]/3
        //   = (0.693147181 + 0.126928011)/2 + (0.126928011 + 1.313261688 + 3.048587352)/3
        //   = 0.410037596 + 1.496259017 = 1.906296613
        assert_close(&[d], &[1.906296613], 1e-6, 1e-6);
        // ∂D/∂l_real = −σ(−l)/2 = [−0.25, −0.059601461]; ∂D/∂l_fake = σ(l)/3.
        assert_close(&gr, &[-0.25, -0.059601461], 1e-7, 1e-5);
        assert_close(&gf, &[0.039734307, 0.243686193, 0.317524709], 1e-7, 1e-5);

        let (g, gf) = g_loss_and_grad(Loss::Standard, &FAKE);
        // G = [sp(2) + sp(−1) + sp(−3)]/3 = (2.126928011 + 0.313261688 + 0.048587352)/3
        //   = 0.829592350; ∂G/∂l_fake = −σ(−l)/3.
        assert_close(&[g], &[0.829592350], 1e-6, 1e-6);
        assert_close(&gf, &[-0.293599026, -0.089647140, -0.015808624], 1e-7, 1e-5);
    }

    #[test]
    fn hinge_matches_eq_16_17() {
        let (d, gr, gf) = d_loss_and_grads(Loss::Hinge, &REAL, &FAKE);
        // D = [relu(1 − 0) + relu(1 − 2)]/2 + [relu(1 − 2) + relu(1 + 1) + relu(1 + 3)]/3
        //   = (1 + 0)/2 + (0 + 2 + 4)/3 = 0.5 + 2 = 2.5
        assert_close(&[d], &[2.5], 1e-6, 1e-6);
        // Only margin violators get a gradient: real l < 1, fake l > −1.
        assert_close(&gr, &[-0.5, 0.0], 1e-7, 0.0);
        assert_close(&gf, &[0.0, 1.0 / 3.0, 1.0 / 3.0], 1e-7, 0.0);

        let (g, gf) = g_loss_and_grad(Loss::Hinge, &FAKE);
        // G = −(−2 + 1 + 3)/3 = −2/3
        assert_close(&[g], &[-2.0 / 3.0], 1e-6, 1e-6);
        assert_close(&gf, &[-1.0 / 3.0; 3], 1e-7, 0.0);
    }

    #[test]
    fn wasserstein_critic() {
        let (d, gr, gf) = d_loss_and_grads(Loss::Wasserstein, &REAL, &FAKE);
        // D = (−2 + 1 + 3)/3 − (0 + 2)/2 = 2/3 − 1 = −1/3
        assert_close(&[d], &[-1.0 / 3.0], 1e-6, 1e-6);
        assert_close(&gr, &[-0.5; 2], 1e-7, 0.0);
        assert_close(&gf, &[1.0 / 3.0; 3], 1e-7, 0.0);

        let (g, gf) = g_loss_and_grad(Loss::Wasserstein, &FAKE);
        assert_close(&[g], &[-2.0 / 3.0], 1e-6, 1e-6);
        assert_close(&gf, &[-1.0 / 3.0; 3], 1e-7, 0.0);
    }

    #[test]
    fn undecided_discriminator_gives_log_2_terms() {
        // l = 0 everywhere: D = ln 2 + ln 2, G = ln 2, and ∂/∂l = ∓½ per mean (not 0: see
        // `softplus`'s note on the kink of |x|).
        let (d, gr, gf) = d_loss_and_grads(Loss::Standard, &[0.0; 4], &[0.0; 4]);
        assert_close(&[d], &[2.0 * std::f64::consts::LN_2], 1e-6, 1e-6);
        assert_close(&gr, &[-0.125; 4], 1e-7, 0.0);
        assert_close(&gf, &[0.125; 4], 1e-7, 0.0);
        let (g, gf) = g_loss_and_grad(Loss::Standard, &[0.0; 4]);
        assert_close(&[g], &[std::f64::consts::LN_2], 1e-6, 1e-6);
        assert_close(&gf, &[-0.125; 4], 1e-7, 0.0);
    }

    #[test]
    fn extreme_logits_give_finite_losses_and_gradients() {
        let extremes = [1e4f32, -1e4, 1e30, -1e30];
        for loss in [Loss::Standard, Loss::Hinge, Loss::Wasserstein] {
            let (d, gr, gf) = d_loss_and_grads(loss, &extremes, &extremes);
            let (g, gg) = g_loss_and_grad(loss, &extremes);
            for v in [d, g].iter().chain(&gr).chain(&gf).chain(&gg) {
                assert!(
                    v.is_finite(),
                    "{loss:?}: non-finite value {v} in {d} {gr:?} {gf:?} {g} {gg:?}"
                );
            }
        }
    }

    #[test]
    fn extreme_logits_hand_values() {
        // A confident, correct D: sp(−1e4) + sp(−1e4) = 0 in f32 (true value 2e^{−1e4}).
        let (d, gr, gf) = d_loss_and_grads(Loss::Standard, &[1e4], &[-1e4]);
        assert_eq!((d, gr[0], gf[0]), (0.0, 0.0, 0.0));
        // A confident, wrong D: sp(1e4) + sp(1e4) = 2e4, saturated gradients ∓1.
        let (d, gr, gf) = d_loss_and_grads(Loss::Standard, &[-1e4], &[1e4]);
        assert_eq!((d, gr[0], gf[0]), (2e4, -1.0, 1.0));
        let (d, gr, gf) = d_loss_and_grads(Loss::Standard, &[-1e30], &[1e30]);
        assert_eq!((d, gr[0], gf[0]), (2e30, -1.0, 1.0));
        // The non-saturating G loss keeps a unit gradient where D rejects the sample outright.
        let (g, gf) = g_loss_and_grad(Loss::Standard, &[-1e30]);
        assert_eq!((g, gf[0]), (1e30, -1.0));
        // Hinge: relu(1 + 1e4) + relu(1 + 1e4) = 20002.
        let (d, gr, gf) = d_loss_and_grads(Loss::Hinge, &[-1e4], &[1e4]);
        assert_eq!((d, gr[0], gf[0]), (20002.0, -1.0, 1.0));
    }

    #[test]
    fn gradient_signs_push_real_up_and_fake_down() {
        // Raising a real logit never raises any D loss, raising a fake logit never lowers it,
        // and raising a fake logit never raises any G loss; strictly so off the hinge margin.
        let real = [-3.0f32, -0.5, 0.0, 0.5];
        let fake = [-0.5f32, 0.0, 0.5, 3.0];
        for loss in [Loss::Standard, Loss::Hinge, Loss::Wasserstein] {
            let (_, gr, gf) = d_loss_and_grads(loss, &real, &fake);
            assert!(gr.iter().all(|&g| g < 0.0), "{loss:?}: ∂D/∂l_real = {gr:?}");
            assert!(gf.iter().all(|&g| g > 0.0), "{loss:?}: ∂D/∂l_fake = {gf:?}");
            let (_, gg) = g_loss_and_grad(loss, &fake);
            assert!(gg.iter().all(|&g| g < 0.0), "{loss:?}: ∂G/∂l_fake = {gg:?}");
        }
        // Beyond the margin the hinge D loss is flat, as eq. 16 says.
        let (_, gr, gf) = d_loss_and_grads(Loss::Hinge, &[1.5], &[-1.5]);
        assert_eq!((gr[0], gf[0]), (0.0, 0.0));
    }

    #[test]
    fn a_small_step_along_the_gradient_lowers_the_loss() {
        // Finite-difference check of the sign and size: one step of 1e-2 against ∂D/∂l.
        let eps = 1e-2f32;
        for loss in [Loss::Standard, Loss::Hinge, Loss::Wasserstein] {
            let (d0, gr, gf) = d_loss_and_grads(loss, &REAL, &FAKE);
            let real: Vec<f32> = REAL.iter().zip(&gr).map(|(l, g)| l - eps * g).collect();
            let fake: Vec<f32> = FAKE.iter().zip(&gf).map(|(l, g)| l - eps * g).collect();
            let (d1, _, _) = d_loss_and_grads(loss, &real, &fake);
            let predicted = eps * gr.iter().chain(&gf).map(|g| g * g).sum::<f32>();
            assert!(
                ((d0 - d1) - predicted).abs() <= 0.05 * predicted,
                "{loss:?}: decrease {} vs first-order prediction {predicted}",
                d0 - d1
            );
        }
    }
}
