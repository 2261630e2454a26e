//! The paper's standard CNN (Table 3) as named types with compile-time shapes.
//!
//! | generator | discriminator (leaky ReLU) |
//! |---|---|
//! | z ∈ R^128 | image x ∈ R^{M×M×3} |
//! | dense → M_g × M_g × c0 | conv 3×3 s1 → d0, conv 4×4 s2 → d1 |
//! | deconv 4×4 s2 → c1, BN, ReLU | conv 3×3 s1 → d2, conv 4×4 s2 → d3 |
//! | deconv 4×4 s2 → c2, BN, ReLU | conv 3×3 s1 → d4, conv 4×4 s2 → d5 |
//! | deconv 4×4 s2 → c3, BN, ReLU | conv 3×3 s1 → d6 |
//! | conv 3×3 s1 → 3, tanh | dense → 1 |
//!
//! with M_g = M/8, padding 1 everywhere. The paper's widths are c = (512, 256, 128, 64) and
//! d = (64, 64, 128, 128, 256, 256, 512), slope 0.1, z ~ N(0, I). The reference code
//! (chainer-gan-lib `DCGANGenerator` + `SNDCGANDiscriminator`) differs: BN + ReLU after G's dense
//! layer, the stride-2 convolutions double the channels (d = (64, 128, 128, 256, 256, 512,
//! 512)), slope 0.2, z ~ U[−1, 1]. Both are provided ([`Variant`]), at full width and at ¼ width
//! for small experiments (the paper varies widths itself in Fig. 4); [`std_cnn_generator!`](crate::std_cnn_generator) and
//! [`std_cnn_discriminator!`](crate::std_cnn_discriminator) define other sizes.
//!
//! Every discriminator layer is spectrally normalized when the type's `SN` parameter is `true`
//! (the default); the generator uses batch normalization (dfdx's `BatchNorm2D`: ε = 1e-5,
//! momentum 0.1, PyTorch's defaults) and no SN. Weights N(0, 0.02²), biases 0 (see
//! [`crate::layers`]).

/// Which of the two published forms of Table 3 a type implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The paper's Table 3: no BN after G's dense layer, D channels 64-64-128-128-256-256-512,
    /// leaky slope 0.1, z ~ N(0, I).
    Paper,
    /// chainer-gan-lib's code: BN + ReLU after G's dense layer, D channels
    /// 64-128-128-256-256-512-512, leaky slope 0.2, z ~ U[−1, 1].
    Reference,
}

/// How z is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latent {
    /// z ~ N(0, I) (the paper).
    Normal,
    /// z ~ U[−1, 1] (chainer-gan-lib).
    Uniform,
}

/// Defines a Table 3 discriminator type for images `m × m` with conv channels `ch` (seven
/// numbers) and leaky-ReLU slope `slope`. `m` must be divisible by 8.
#[macro_export]
macro_rules! std_cnn_discriminator {
    (
        $(#[$meta:meta])*
        $name:ident, m = $m:literal, ch = [$d0:literal, $d1:literal, $d2:literal, $d3:literal,
        $d4:literal, $d5:literal, $d6:literal], slope = $slope:literal, variant = $variant:ident
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<
            const SN: bool = true,
            E: $crate::dfdx::shapes::Dtype = f32,
            D: $crate::dfdx::tensor::Storage<E> = $crate::Dev,
        > {
            /// conv 3×3 stride 1, 3 → d0, at M × M.
            pub c0: $crate::layers::SnConv2d<3, $d0, 3, 1, 1, { 3 * 9 }, SN, E, D>,
            /// conv 4×4 stride 2, d0 → d1, M → M/2.
            pub c1: $crate::layers::SnConv2d<$d0, $d1, 4, 2, 1, { $d0 * 16 }, SN, E, D>,
            /// conv 3×3 stride 1, d1 → d2.
            pub c2: $crate::layers::SnConv2d<$d1, $d2, 3, 1, 1, { $d1 * 9 }, SN, E, D>,
            /// conv 4×4 stride 2, d2 → d3, M/2 → M/4.
            pub c3: $crate::layers::SnConv2d<$d2, $d3, 4, 2, 1, { $d2 * 16 }, SN, E, D>,
            /// conv 3×3 stride 1, d3 → d4.
            pub c4: $crate::layers::SnConv2d<$d3, $d4, 3, 1, 1, { $d3 * 9 }, SN, E, D>,
            /// conv 4×4 stride 2, d4 → d5, M/4 → M/8.
            pub c5: $crate::layers::SnConv2d<$d4, $d5, 4, 2, 1, { $d4 * 16 }, SN, E, D>,
            /// conv 3×3 stride 1, d5 → d6.
            pub c6: $crate::layers::SnConv2d<$d5, $d6, 3, 1, 1, { $d5 * 9 }, SN, E, D>,
            /// dense d6·(M/8)² → 1.
            pub l7: $crate::layers::SnLinear<{ $d6 * ($m / 8) * ($m / 8) }, 1, SN, E, D>,
        }

        impl<const SN: bool, D: $crate::ConvDevice> $name<SN, f32, D> {
            /// Image side M.
            pub const M: usize = $m;
            /// Leaky-ReLU slope.
            pub const SLOPE: f32 = $slope;
            /// Which form of Table 3.
            pub const VARIANT: $crate::nets::std_cnn::Variant =
                $crate::nets::std_cnn::Variant::$variant;
            /// Layer names, in order (for σ reports).
            pub const LAYERS: [&'static str; 8] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "l7"];

            /// Builds the network on `dev` (weights N(0, 0.02²), biases 0, ũ random unit) and
            /// runs `warmup` power-iteration rounds so that σ̃ is sensible before training
            /// (PyTorch runs 15 at registration).
            ///
            /// # Errors
            /// The device's error.
            pub fn new(dev: &D, warmup: usize) -> Result<Self, D::Err> {
                let mut d = <Self as $crate::dfdx::nn::BuildModule<D, f32>>::try_build(dev)?;
                d.power_iteration(warmup)?;
                Ok(d)
            }

            /// D(x): logits before any sigmoid, one per image.
            ///
            /// # Errors
            /// The device's error.
            pub fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                self.forward_impl(x, true)
            }

            /// D(x) with (`input_grad`) or without x's gradient: the first convolution reads
            /// x alone, so it may skip its input gradient
            /// ([`without_input_gradient`]($crate::device::without_input_gradient)).
            fn forward_impl<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
                input_grad: bool,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                use $crate::dfdx::prelude::*;
                type T4<const C: usize, const H: usize, D, T> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, T>;
                let s = Self::SLOPE;
                // Each convolution with its leaky ReLU (one op on the CPU).
                let h: T4<$d0, $m, D, T> = if input_grad {
                    self.c0.forward_leaky_relu(x, s)?
                } else {
                    $crate::device::without_input_gradient(|| self.c0.forward_leaky_relu(x, s))?
                };
                let h: T4<$d1, { $m / 2 }, D, T> = self.c1.forward_leaky_relu(h, s)?;
                let h: T4<$d2, { $m / 2 }, D, T> = self.c2.forward_leaky_relu(h, s)?;
                let h: T4<$d3, { $m / 4 }, D, T> = self.c3.forward_leaky_relu(h, s)?;
                let h: T4<$d4, { $m / 4 }, D, T> = self.c4.forward_leaky_relu(h, s)?;
                let h: T4<$d5, { $m / 8 }, D, T> = self.c5.forward_leaky_relu(h, s)?;
                let h: T4<$d6, { $m / 8 }, D, T> = self.c6.forward_leaky_relu(h, s)?;
                let batch = h.shape().0;
                let flat = h.try_reshape_like(&(batch, Const::<{ $d6 * ($m / 8) * ($m / 8) }>))?;
                self.l7.forward(flat)
            }

            /// Runs `rounds` power-iteration rounds in every layer; returns σ̃ per layer.
            ///
            /// # Errors
            /// The device's error.
            pub fn power_iteration(&mut self, rounds: usize) -> Result<[f32; 8], D::Err> {
                Ok([
                    self.c0.power_iteration(rounds)?,
                    self.c1.power_iteration(rounds)?,
                    self.c2.power_iteration(rounds)?,
                    self.c3.power_iteration(rounds)?,
                    self.c4.power_iteration(rounds)?,
                    self.c5.power_iteration(rounds)?,
                    self.c6.power_iteration(rounds)?,
                    self.l7.power_iteration(rounds)?,
                ])
            }

            /// σ(W̄) = σ(W)/σ̃ of every layer, σ(W) exact (sn-core): the Fig. 9 measurement.
            ///
            /// # Errors
            /// The device's error or sn-core's.
            pub fn sigmas_of_normalized(&self) -> Result<[f64; 8], $crate::Error> {
                Ok([
                    self.c0.sn.sigma_of_normalized(&self.c0.conv.weight)?,
                    self.c1.sn.sigma_of_normalized(&self.c1.conv.weight)?,
                    self.c2.sn.sigma_of_normalized(&self.c2.conv.weight)?,
                    self.c3.sn.sigma_of_normalized(&self.c3.conv.weight)?,
                    self.c4.sn.sigma_of_normalized(&self.c4.conv.weight)?,
                    self.c5.sn.sigma_of_normalized(&self.c5.conv.weight)?,
                    self.c6.sn.sigma_of_normalized(&self.c6.conv.weight)?,
                    self.l7.sn.sigma_of_normalized(&self.l7.weight)?,
                ])
            }
        }

        impl<const SN: bool, D: $crate::ConvDevice> $crate::nets::Discriminator<$m, D>
            for $name<SN, f32, D>
        {
            const LAYERS: &'static [&'static str] = &Self::LAYERS;
            const SPECTRAL_NORM: bool = SN;

            fn build(dev: &D, warmup: usize) -> Result<Self, D::Err> {
                Self::new(dev, warmup)
            }
            fn forward<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                $name::<SN, f32, D>::forward(self, x)
            }
            // c0 reads the images alone: its input gradient is left out.
            fn forward_constant_input<T: $crate::dfdx::tensor::Tape<f32, D>>(
                &self,
                x: $crate::nets::Image<$m, D, T>,
            ) -> Result<$crate::nets::Logits<D, T>, D::Err> {
                self.forward_impl(x, false)
            }
            fn power_iteration(&mut self, rounds: usize) -> Result<Vec<f32>, D::Err> {
                $name::<SN, f32, D>::power_iteration(self, rounds).map(Vec::from)
            }
            fn sigmas_of_normalized(&self) -> Result<Vec<f64>, $crate::Error> {
                $name::<SN, f32, D>::sigmas_of_normalized(self).map(Vec::from)
            }
            // Convolutions, leaky ReLU / ReLU and dense layers only: no batch statistics.
            fn per_image(&self) -> bool {
                true
            }
        }

        impl<const SN: bool, D: $crate::dfdx::tensor_ops::Device<f32>>
            $crate::dfdx::nn::tensor_collection::TensorCollection<f32, D> for $name<SN, f32, D>
        {
            type To<E2: $crate::dfdx::shapes::Dtype, D2: $crate::dfdx::tensor_ops::Device<E2>> =
                $name<SN, E2, D2>;

            fn iter_tensors<V: $crate::dfdx::nn::tensor_collection::ModuleVisitor<Self, f32, D>>(
                visitor: &mut V,
            ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                visitor.visit_fields(
                    (
                        (
                            Self::module("c0", |s| &s.c0, |s| &mut s.c0),
                            Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                            Self::module("c2", |s| &s.c2, |s| &mut s.c2),
                            Self::module("c3", |s| &s.c3, |s| &mut s.c3),
                        ),
                        (
                            Self::module("c4", |s| &s.c4, |s| &mut s.c4),
                            Self::module("c5", |s| &s.c5, |s| &mut s.c5),
                            Self::module("c6", |s| &s.c6, |s| &mut s.c6),
                            Self::module("l7", |s| &s.l7, |s| &mut s.l7),
                        ),
                    ),
                    |((c0, c1, c2, c3), (c4, c5, c6, l7))| $name {
                        c0, c1, c2, c3, c4, c5, c6, l7,
                    },
                )
            }
        }
    };
}

/// Defines a Table 3 generator type for images `m × m` with channels `ch` = (dense, deconv1,
/// deconv2, deconv3). `variant = Paper`: no BN after the dense layer; `variant = Reference`: BN
/// + ReLU after it (chainer-gan-lib), and z ~ U[−1, 1].
#[macro_export]
macro_rules! std_cnn_generator {
    (
        $(#[$meta:meta])*
        $name:ident, m = $m:literal, ch = [$c0:literal, $c1:literal, $c2:literal, $c3:literal],
        variant = Paper
    ) => {
        $crate::std_cnn_generator!(@define $(#[$meta])* $name, $m, $c0, $c1, $c2, $c3, Paper,
            Normal, {}, {}, (), |h| h);
    };
    (
        $(#[$meta:meta])*
        $name:ident, m = $m:literal, ch = [$c0:literal, $c1:literal, $c2:literal, $c3:literal],
        variant = Reference
    ) => {
        $crate::std_cnn_generator!(@define $(#[$meta])* $name, $m, $c0, $c1, $c2, $c3, Reference,
            Uniform,
            {
                /// BN after the dense layer (reference code only).
                pub bn0: $crate::dfdx::nn::modules::BatchNorm1D<{ $c0 * ($m / 8) * ($m / 8) }, E, D>,
            },
            { bn0, },
            (Self::module("bn0", |s| &s.bn0, |s| &mut s.bn0),),
            |h| h
        );
    };
    (@define $(#[$meta:meta])* $name:ident, $m:literal, $c0:literal, $c1:literal, $c2:literal,
        $c3:literal, $variant:ident, $latent:ident, { $($bn0_field:tt)* }, { $($bn0_init:tt)* },
        ( $($bn0_visit:tt)* ), |$hh:ident| $unused:expr
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<E: $crate::dfdx::shapes::Dtype = f32, D: $crate::dfdx::tensor::Storage<E> = $crate::Dev> {
            /// dense z (128) → c0·(M/8)².
            pub l0: $crate::layers::Linear<128, { $c0 * ($m / 8) * ($m / 8) }, E, D>,
            $($bn0_field)*
            /// deconv 4×4 stride 2, c0 → c1, M/8 → M/4.
            pub dc1: $crate::layers::ConvTrans2d<$c0, $c1, 4, 2, 1, E, D>,
            /// BN after dc1.
            pub bn1: $crate::dfdx::nn::modules::BatchNorm2D<$c1, E, D>,
            /// deconv 4×4 stride 2, c1 → c2, M/4 → M/2.
            pub dc2: $crate::layers::ConvTrans2d<$c1, $c2, 4, 2, 1, E, D>,
            /// BN after dc2.
            pub bn2: $crate::dfdx::nn::modules::BatchNorm2D<$c2, E, D>,
            /// deconv 4×4 stride 2, c2 → c3, M/2 → M.
            pub dc3: $crate::layers::ConvTrans2d<$c2, $c3, 4, 2, 1, E, D>,
            /// BN after dc3.
            pub bn3: $crate::dfdx::nn::modules::BatchNorm2D<$c3, E, D>,
            /// conv 3×3 stride 1, c3 → 3, then tanh.
            pub c4: $crate::layers::Conv2d<$c3, 3, 3, 1, 1, E, D>,
        }

        impl<D: $crate::ConvDevice> $name<f32, D> {
            /// Image side M.
            pub const M: usize = $m;
            /// Which form of Table 3.
            pub const VARIANT: $crate::nets::std_cnn::Variant =
                $crate::nets::std_cnn::Variant::$variant;
            /// How z is drawn.
            pub const LATENT: $crate::nets::std_cnn::Latent =
                $crate::nets::std_cnn::Latent::$latent;

            /// Builds the network on `dev` (weights N(0, 0.02²), biases 0, BN γ = 1, β = 0).
            ///
            /// # Errors
            /// The device's error.
            pub fn new(dev: &D) -> Result<Self, D::Err> {
                <Self as $crate::dfdx::nn::BuildModule<D, f32>>::try_build(dev)
            }

            /// G(z) in training mode: batch statistics in BN (and running statistics updated).
            ///
            /// # Errors
            /// The device's error.
            pub fn forward_train(
                &mut self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::OwnedTape<f32, D>>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::OwnedTape<f32, D>>, D::Err> {
                use $crate::dfdx::prelude::*;
                let h = self.l0.forward(z)?;
                $crate::std_cnn_generator!(@dense_bn_train self, h, $variant);
                type T4<const C: usize, const H: usize, D> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, OwnedTape<f32, D>>;
                let h = Self::reshape_dense(h)?;
                let h: T4<$c1, { $m / 4 }, D> = self.dc1.forward(h)?;
                let h = D::batch_norm2d_relu(&mut self.bn1, h)?;
                let h: T4<$c2, { $m / 2 }, D> = self.dc2.forward(h)?;
                let h = D::batch_norm2d_relu(&mut self.bn2, h)?;
                let h: T4<$c3, $m, D> = self.dc3.forward(h)?;
                let h = D::batch_norm2d_relu(&mut self.bn3, h)?;
                let h: T4<3, $m, D> = self.c4.forward(h)?;
                h.try_tanh()
            }

            /// G(z) in evaluation mode: BN uses its running statistics; nothing is updated.
            ///
            /// # Errors
            /// The device's error.
            pub fn forward_eval(
                &self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::NoneTape>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>, D::Err> {
                use $crate::dfdx::prelude::*;
                let h = self.l0.forward(z)?;
                $crate::std_cnn_generator!(@dense_bn_eval self, h, $variant);
                type T4<const C: usize, const H: usize, D> =
                    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, D, NoneTape>;
                let h = Self::reshape_dense(h)?;
                let h: T4<$c1, { $m / 4 }, D> = self.dc1.forward(h)?;
                let h = D::leaky_relu(self.bn1.try_forward(h)?, 0.0)?;
                let h: T4<$c2, { $m / 2 }, D> = self.dc2.forward(h)?;
                let h = D::leaky_relu(self.bn2.try_forward(h)?, 0.0)?;
                let h: T4<$c3, $m, D> = self.dc3.forward(h)?;
                let h = D::leaky_relu(self.bn3.try_forward(h)?, 0.0)?;
                let h: T4<3, $m, D> = self.c4.forward(h)?;
                h.try_tanh()
            }

            fn reshape_dense<T: $crate::dfdx::tensor::Tape<f32, D>>(
                h: $crate::dfdx::tensor::Tensor<
                    (usize, $crate::dfdx::shapes::Const<{ $c0 * ($m / 8) * ($m / 8) }>), f32, D, T>,
            ) -> Result<
                $crate::dfdx::tensor::Tensor<
                    (usize, $crate::dfdx::shapes::Const<$c0>, $crate::dfdx::shapes::Const<{ $m / 8 }>,
                     $crate::dfdx::shapes::Const<{ $m / 8 }>), f32, D, T>,
                D::Err,
            > {
                use $crate::dfdx::prelude::*;
                let batch = h.shape().0;
                h.try_reshape_like(&(batch, Const, Const, Const))
            }
        }

        impl<D: $crate::ConvDevice> $crate::nets::Generator<$m, D> for $name<f32, D> {
            const LATENT: $crate::nets::std_cnn::Latent = Self::LATENT;

            fn build(dev: &D) -> Result<Self, D::Err> {
                Self::new(dev)
            }
            fn forward_train(
                &mut self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::OwnedTape<f32, D>>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::OwnedTape<f32, D>>, D::Err> {
                $name::<f32, D>::forward_train(self, z)
            }
            fn forward_eval(
                &self,
                z: $crate::nets::Latents<D, $crate::dfdx::tensor::NoneTape>,
            ) -> Result<$crate::nets::Image<$m, D, $crate::dfdx::tensor::NoneTape>, D::Err> {
                $name::<f32, D>::forward_eval(self, z)
            }
        }

        impl<D: $crate::dfdx::tensor_ops::Device<f32>>
            $crate::dfdx::nn::tensor_collection::TensorCollection<f32, D> for $name<f32, D>
        {
            type To<E2: $crate::dfdx::shapes::Dtype, D2: $crate::dfdx::tensor_ops::Device<E2>> =
                $name<E2, D2>;

            fn iter_tensors<V: $crate::dfdx::nn::tensor_collection::ModuleVisitor<Self, f32, D>>(
                visitor: &mut V,
            ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                visitor.visit_fields(
                    (
                        (
                            Self::module("l0", |s| &s.l0, |s| &mut s.l0),
                            Self::module("dc1", |s| &s.dc1, |s| &mut s.dc1),
                            Self::module("bn1", |s| &s.bn1, |s| &mut s.bn1),
                            Self::module("dc2", |s| &s.dc2, |s| &mut s.dc2),
                        ),
                        (
                            Self::module("bn2", |s| &s.bn2, |s| &mut s.bn2),
                            Self::module("dc3", |s| &s.dc3, |s| &mut s.dc3),
                            Self::module("bn3", |s| &s.bn3, |s| &mut s.bn3),
                            Self::module("c4", |s| &s.c4, |s| &mut s.c4),
                        ),
                        ( $($bn0_visit)* ),
                    ),
                    |((l0, dc1, bn1, dc2), (bn2, dc3, bn3, c4), ($($bn0_init)*))| $name {
                        l0, $($bn0_init)* dc1, bn1, dc2, bn2, dc3, bn3, c4,
                    },
                )
            }
        }
    };
    (@dense_bn_train $self:ident, $h:ident, Paper) => {};
    (@dense_bn_train $self:ident, $h:ident, Reference) => {
        let $h = $self.bn0.try_forward_mut($h)?.try_relu()?;
    };
    (@dense_bn_eval $self:ident, $h:ident, Paper) => {};
    (@dense_bn_eval $self:ident, $h:ident, Reference) => {
        let $h = $self.bn0.try_forward($h)?.try_relu()?;
    };
}

std_cnn_discriminator!(
    /// Table 3 discriminator for CIFAR-10 (M = 32), the paper's form.
    StdCnnDiscriminator32, m = 32, ch = [64, 64, 128, 128, 256, 256, 512], slope = 0.1,
    variant = Paper
);
std_cnn_discriminator!(
    /// Table 3 discriminator for STL-10 (M = 48), the paper's form.
    StdCnnDiscriminator48, m = 48, ch = [64, 64, 128, 128, 256, 256, 512], slope = 0.1,
    variant = Paper
);
std_cnn_discriminator!(
    /// Table 3 discriminator for CIFAR-10 (M = 32) as chainer-gan-lib's `SNDCGANDiscriminator`.
    StdCnnDiscriminator32Ref, m = 32, ch = [64, 128, 128, 256, 256, 512, 512], slope = 0.2,
    variant = Reference
);
std_cnn_discriminator!(
    /// Table 3 discriminator for STL-10 (M = 48) as chainer-gan-lib's `SNDCGANDiscriminator`.
    StdCnnDiscriminator48Ref, m = 48, ch = [64, 128, 128, 256, 256, 512, 512], slope = 0.2,
    variant = Reference
);
std_cnn_discriminator!(
    /// Table 3 discriminator at ¼ width for CIFAR-sized images (M = 32): small experiments.
    StdCnnDiscriminator32Quarter, m = 32, ch = [16, 16, 32, 32, 64, 64, 128], slope = 0.1,
    variant = Paper
);
std_cnn_discriminator!(
    /// Table 3 discriminator at ¼ width for 16 × 16 images (the embedded digits demo).
    StdCnnDiscriminator16Quarter, m = 16, ch = [16, 16, 32, 32, 64, 64, 128], slope = 0.1,
    variant = Paper
);

std_cnn_generator!(
    /// Table 3 generator for CIFAR-10 (M = 32), the paper's form.
    StdCnnGenerator32, m = 32, ch = [512, 256, 128, 64], variant = Paper
);
std_cnn_generator!(
    /// Table 3 generator for STL-10 (M = 48), the paper's form.
    StdCnnGenerator48, m = 48, ch = [512, 256, 128, 64], variant = Paper
);
std_cnn_generator!(
    /// Table 3 generator for CIFAR-10 (M = 32) as chainer-gan-lib's `DCGANGenerator`.
    StdCnnGenerator32Ref, m = 32, ch = [512, 256, 128, 64], variant = Reference
);
std_cnn_generator!(
    /// Table 3 generator for STL-10 (M = 48) as chainer-gan-lib's `DCGANGenerator`.
    StdCnnGenerator48Ref, m = 48, ch = [512, 256, 128, 64], variant = Reference
);
std_cnn_generator!(
    /// Table 3 generator at ¼ width for CIFAR-sized images (M = 32).
    StdCnnGenerator32Quarter, m = 32, ch = [128, 64, 32, 16], variant = Paper
);
std_cnn_generator!(
    /// Table 3 generator at ¼ width for 16 × 16 images (the embedded digits demo).
    StdCnnGenerator16Quarter, m = 16, ch = [128, 64, 32, 16], variant = Paper
);
