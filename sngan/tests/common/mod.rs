//! Helpers shared by the integration tests (each test file that uses them declares `mod common;`).

use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

/// (name, gradient) of every trainable tensor of `m`, in visiting order.
pub fn param_grads<M: TensorCollection<f32, Cpu>>(
    m: &M,
    grads: &Gradients<f32, Cpu>,
) -> Vec<(String, Vec<f32>)> {
    use dfdx::nn::tensor_collection::{RecursiveWalker, TensorOptions, TensorVisitor};
    use dfdx::nn::tensor_collection::{ViewTensorName, ViewTensorRef};
    struct V<'a>(&'a Gradients<f32, Cpu>, Vec<(String, Vec<f32>)>);
    impl TensorVisitor<f32, Cpu> for V<'_> {
        type Viewer = (ViewTensorRef, ViewTensorName);
        type Err = CpuError;
        type E2 = f32;
        type D2 = Cpu;
        fn visit<S: Shape>(
            &mut self,
            opts: TensorOptions<S, f32, Cpu>,
            (t, name): (&Tensor<S, f32, Cpu>, String),
        ) -> Result<Option<Tensor<S, f32, Cpu>>, CpuError> {
            if opts.do_gradient_update {
                self.1.push((name, self.0.get(t).as_vec()));
            }
            Ok(None)
        }
    }
    let mut v = V(grads, Vec::new());
    M::iter_tensors(&mut RecursiveWalker {
        m: (m, String::new()),
        f: &mut v,
    })
    .unwrap();
    v.1
}
