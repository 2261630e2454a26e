//! A 3×3 convolution from 64 channels seen as a matrix has N = 64·3·3 = 576 columns, not 64.
use sngan::dfdx::prelude::*;
use sngan::layers::SnConv2d;

type Batch<const C: usize, const H: usize> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu>;

fn main() {
    let dev = Cpu::default();
    let c0 = SnConv2d::<64, 128, 3, 1, 1, 64, true, f32, Cpu>::build(&dev);
    let x: Batch<64, 8> = dev.zeros_like(&(2, Const, Const, Const));
    let _h: Batch<128, 8> = c0.forward(x).unwrap();
}
