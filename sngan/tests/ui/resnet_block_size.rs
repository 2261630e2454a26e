//! A ResNet down-block halves 16×16 to 8×8; asking it for 16×16 does not build.
use sngan::dfdx::prelude::*;
use sngan::nets::resnet::DBlock;

type Batch<const C: usize, const H: usize> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu>;

fn main() {
    let dev = Cpu::default();
    let b = DBlock::<8, 8, { 8 * 9 }, true, true, f32, Cpu>::build(&dev);
    let x: Batch<8, 16> = dev.zeros_like(&(2, Const, Const, Const));
    let _h: Batch<8, 16> = b.forward(x).unwrap();
}
