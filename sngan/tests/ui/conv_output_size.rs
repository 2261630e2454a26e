//! A 4×4 stride-2 padding-1 convolution maps 32×32 to 16×16, not 32×32.
use sngan::dfdx::prelude::*;
use sngan::layers::SnConv2d;

type Batch<const C: usize, const H: usize> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu>;

fn main() {
    let dev = Cpu::default();
    let c0 = SnConv2d::<3, 64, 4, 2, 1, { 3 * 16 }, true, f32, Cpu>::build(&dev);
    let x: Batch<3, 32> = dev.zeros_like(&(2, Const, Const, Const));
    let _h: Batch<64, 32> = c0.forward(x).unwrap();
}
