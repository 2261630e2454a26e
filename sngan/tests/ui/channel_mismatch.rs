//! A 3 → 64 convolution feeding one that takes 32 input channels: a type error.
use sngan::dfdx::prelude::*;
use sngan::layers::SnConv2d;

type Batch<const C: usize, const H: usize> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu>;

fn main() {
    let dev = Cpu::default();
    let c0 = SnConv2d::<3, 64, 3, 1, 1, { 3 * 9 }, true, f32, Cpu>::build(&dev);
    let c1 = SnConv2d::<32, 64, 3, 1, 1, { 32 * 9 }, true, f32, Cpu>::build(&dev);
    let x: Batch<3, 32> = dev.zeros_like(&(2, Const, Const, Const));
    let h: Batch<64, 32> = c0.forward(x).unwrap();
    let _y: Batch<64, 32> = c1.forward(h).unwrap();
}
