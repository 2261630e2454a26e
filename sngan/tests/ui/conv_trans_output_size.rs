//! A 4×4 stride-2 padding-1 transposed convolution maps 8×8 to 16×16, not 32×32.
use sngan::dfdx::prelude::*;
use sngan::layers::ConvTrans2d;

type Batch<const C: usize, const H: usize> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu>;

fn main() {
    let dev = Cpu::default();
    let dc1 = ConvTrans2d::<64, 32, 4, 2, 1, f32, Cpu>::build(&dev);
    let x: Batch<64, 8> = dev.zeros_like(&(2, Const, Const, Const));
    let _h: Batch<32, 32> = dc1.forward(x).unwrap();
}
