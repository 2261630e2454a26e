//! A small network whose sizes chain: conv 3 → 8 at 16×16, conv 8 → 16 down to 8×8, deconv
//! 16 → 8 back to 16×16, dense to one logit.
use sngan::dfdx::prelude::*;
use sngan::layers::{ConvTrans2d, SnConv2d, SnLinear};

type Batch<const C: usize, const H: usize> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu>;

fn main() {
    let dev = Cpu::default();
    let mut c0 = SnConv2d::<3, 8, 3, 1, 1, { 3 * 9 }, true, f32, Cpu>::build(&dev);
    let mut c1 = SnConv2d::<8, 16, 4, 2, 1, { 8 * 16 }, true, f32, Cpu>::build(&dev);
    let dc2 = ConvTrans2d::<16, 8, 4, 2, 1, f32, Cpu>::build(&dev);
    let mut l3 = SnLinear::<{ 8 * 16 * 16 }, 1, true, f32, Cpu>::build(&dev);
    // v starts at zero: one power-iteration round makes σ̃ = ũᵀWv nonzero.
    c0.power_iteration(1).unwrap();
    c1.power_iteration(1).unwrap();
    l3.power_iteration(1).unwrap();
    let x: Batch<3, 16> = dev.sample_normal_like(&(2, Const, Const, Const));
    let h: Batch<8, 16> = c0.forward(x).unwrap();
    let h: Batch<16, 8> = c1.forward(h).unwrap();
    let h: Batch<8, 16> = dc2.forward(h).unwrap();
    let flat = h.reshape_like(&(2, Const::<{ 8 * 16 * 16 }>));
    let y = l3.forward(flat).unwrap();
    assert_eq!(y.shape().concrete(), [2, 1]);
    assert!(y.as_vec().iter().all(|v| v.is_finite()));
}
