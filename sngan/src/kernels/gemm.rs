//! The one place in the crate that calls `gemm::gemm`, an `unsafe fn` taking raw pointers and
//! strides: a safe wrapper over borrowed, strided matrix views whose extents are checked before
//! the call.
//!
//! `unsafe_code` is denied workspace-wide and allowed here and in `kernels/direct.rs` (its
//! microkernel) only (see `kernels/mod.rs`).
//! Why not a safe route: dfdx's own `matmul` on `Cpu` tensors (the same `gemm` inside) needs a
//! tensor, that is an allocation and a copy, per operand per call, cannot view a strided
//! sub-block or accumulate into an existing buffer, and spawns its own parallel GEMM inside
//! the kernels' per-thread blocks; no other GEMM crate in the dependency tree has a safe API.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Mul};

/// The element types the convolution kernels run on: `f32` (training) and `f64` (the
/// finite-difference tests). Sealed: `gemm::gemm` dispatches on the type and panics on others.
pub(crate) trait Elem:
    Copy
    + Send
    + Sync
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + AddAssign
    + Mul<Output = Self>
    + 'static
    + sealed::Sealed
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The slice as f32s when `Self` is f32 (the kernels with an f32-only fast route).
    fn as_f32s(s: &[Self]) -> Option<&[f32]>;
    /// The slice as f32s when `Self` is f32.
    fn as_f32s_mut(s: &mut [Self]) -> Option<&mut [f32]>;
    /// The value as an f32 when `Self` is f32.
    fn as_f32(self) -> Option<f32>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn as_f32s(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32s_mut(s: &mut [Self]) -> Option<&mut [f32]> {
        Some(s)
    }
    fn as_f32(self) -> Option<f32> {
        Some(self)
    }
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn as_f32s(_: &[Self]) -> Option<&[f32]> {
        None
    }
    fn as_f32s_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    fn as_f32(self) -> Option<f32> {
        None
    }
}

/// Largest offset of a `rows × cols` view with strides `(rs, cs)`, or `None` if it is empty.
fn last_offset(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return None;
    }
    Some(
        (rows - 1)
            .checked_mul(rs)
            .and_then(|a| (cols - 1).checked_mul(cs).and_then(|b| a.checked_add(b)))
            .expect("matrix view offsets overflow usize"),
    )
}

/// A read-only `rows × cols` matrix: element `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// # Panics
    /// If an element of the view lies outside `data`.
    pub(crate) fn new(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        if let Some(last) = last_offset(rows, cols, rs, cs) {
            assert!(
                last < data.len(),
                "MatRef {rows}×{cols} strides ({rs}, {cs}) needs {} elements, slice has {}",
                last + 1,
                data.len()
            );
        }
        Self {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// The row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose (a view: no data moves).
    pub(crate) fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// A writable `rows × cols` matrix, row-major with leading dimension `ld ≥ cols`, so that no
/// two elements share a memory location.
#[derive(Debug)]
pub(crate) struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    ld: usize,
}

impl<'a, T> MatMut<'a, T> {
    /// # Panics
    /// If `ld < cols` or an element of the view lies outside `data`.
    pub(crate) fn new(data: &'a mut [T], rows: usize, cols: usize, ld: usize) -> Self {
        assert!(ld >= cols, "MatMut leading dimension {ld} < {cols} columns");
        if let Some(last) = last_offset(rows, cols, ld, 1) {
            assert!(
                last < data.len(),
                "MatMut {rows}×{cols} ld {ld} needs {} elements, slice has {}",
                last + 1,
                data.len()
            );
        }
        Self {
            data,
            rows,
            cols,
            ld,
        }
    }

    /// The row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols)
    }
}

/// `dst ← lhs · rhs` (`accumulate = false`) or `dst ← dst + lhs · rhs` (`accumulate = true`),
/// single-threaded: callers parallelize over independent blocks, which keeps every reduction
/// in a fixed order (the results do not depend on thread timing).
///
/// # Panics
/// If the dimensions do not chain (`dst` m×n, `lhs` m×k, `rhs` k×n).
pub(crate) fn gemm<T: Elem>(
    dst: MatMut<'_, T>,
    accumulate: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    let (m, n, k) = (dst.rows, dst.cols, lhs.cols);
    assert_eq!(lhs.rows, m, "gemm: lhs has {} rows, dst {m}", lhs.rows);
    assert_eq!(rhs.cols, n, "gemm: rhs has {} columns, dst {n}", rhs.cols);
    assert_eq!(
        rhs.rows, k,
        "gemm: rhs has {} rows, lhs {k} columns",
        rhs.rows
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                dst.data[i * dst.ld..i * dst.ld + n].fill(T::ZERO);
            }
        }
        return;
    }
    let stride = |s: usize| isize::try_from(s).expect("stride fits isize");
    // gemm packs its (internal, column-major) left operand into panels when the product has
    // more than `8·NR` = 48 columns, even when that operand is already column-major with unit
    // row stride, as the forward's and ∂col's patch matrices and ∂Y are here. The threshold is
    // raised to the most gemm takes (256·NR = 1,536 columns, more than those products have)
    // so that they read it in place. Measured with binaries with and without this line,
    // alternated (`table3_step --only d_plain|g`, four sets of 3–5 rounds each, session 9):
    // the D step 3% faster and the G step 3.5% faster on average, within the machine's noise
    // in single sets. The setting is process-wide, but only these kernels use gemm 0.19
    // (dfdx links gemm 0.15), and it changes where operands are read from, not the order of
    // any sum.
    static NO_LHS_PACKING: std::sync::Once = std::sync::Once::new();
    NO_LHS_PACKING.call_once(|| gemm::set_lhs_packing_threshold_single_thread(usize::MAX));
    // SAFETY: `MatMut::new` and `MatRef::new` checked that every element (i, j) of each view,
    // at offset i·rs + j·cs, lies inside its slice, and the asserts above that the three views
    // have the dimensions m×n, m×k, k×n passed to `gemm`, so every pointer `gemm` forms is in
    // bounds. `dst` is row-major with ld ≥ n, so its elements are pairwise distinct; it is
    // borrowed mutably, so it aliases neither `lhs` nor `rhs` (shared borrows). `T` is f32 or
    // f64 (`Elem` is sealed), types `gemm` supports. `Parallelism::None`: no threads outlive
    // the call.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            1,
            stride(dst.ld),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.cs),
            stride(lhs.rs),
            rhs.data.as_ptr(),
            stride(rhs.cs),
            stride(rhs.rs),
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    c[i * n + j] += a[i * k + l] * b[l * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn gemm_matches_naive_product_with_transposes_and_accumulation() {
        let (m, n, k) = (7, 5, 9);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.71).cos()).collect();
        let want = naive(m, n, k, &a, &b);
        // lhs as the transpose of a stored k×m matrix, dst with padding columns.
        let at: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let mut c = vec![1.0; m * (n + 3)];
        gemm(
            MatMut::new(&mut c, m, n, n + 3),
            true,
            MatRef::row_major(&at, k, m).t(),
            MatRef::row_major(&b, k, n),
        );
        for i in 0..m {
            for j in 0..n {
                // Exact products of the same terms, summed in gemm's order: 1e-12 is many
                // ulps of these O(1) values yet far below any indexing error.
                assert!((c[i * (n + 3) + j] - 1.0 - want[i * n + j]).abs() < 1e-12);
            }
            assert_eq!(c[i * (n + 3) + n..(i + 1) * (n + 3)], [1.0; 3]);
        }
    }

    #[test]
    #[should_panic(expected = "needs")]
    fn views_reject_out_of_bounds_extents() {
        let d = [0.0f32; 11];
        let _ = MatRef::new(&d, 3, 4, 4, 1);
    }
}
