// Package tensor holds the numeric kernels of goclip: a fixed worker pool,
// a packed, multi-threaded matrix multiply for nn.Linear-style weights with
// fused epilogues, small strided matrix products for attention, and the
// row-wise operations a transformer needs (LayerNorm, softmax, dot
// products).
//
// Weights are packed once, at load time, into the layout the micro-kernels
// read; activations stay plain row-major float32 slices.
//
// # How Linear is computed
//
// Linear follows the BLIS/GotoBLAS blocking. Pack stores the weights as
// panels of 24 output rows, per 256-deep block of K, each k-major, so one
// step of the micro-kernel reads 96 contiguous bytes. Per call, blocks of
// up to 96 rows of x are packed into 4-row strips. The micro-kernel
// computes a 4×24 tile in twelve 8-wide accumulators (AVX2+FMA,
// kernels_amd64.s): four broadcasts per twelve FMAs, which measured 99% of
// the FMA peak in isolation against 97% for a 6×16 tile. Its 24 KiB weight
// panel stays in L1 while it sweeps the strips of the row block held in L2.
// Tiles accumulate in a per-worker buffer; the epilogue (bias, QuickGELU
// with a vectorised exp or exact GELU with a vectorised erfc, residual add)
// runs on each finished task while its tile is still in cache. Tail strips
// of 1–2 rows use a 2-row kernel, so 50-token images waste no work.
//
// Work is cut into (row block, group of panels) tasks that the pool's
// workers claim from a shared counter, so both a single image (split over
// output columns) and a batch keep every worker busy, and a worker that the
// OS delays simply takes fewer tasks.
//
// # Kernel selection
//
// The AVX2+FMA kernels are used when golang.org/x/sys/cpu reports both
// extensions; otherwise, on other architectures, and with the purego build
// tag, portable Go kernels are used. Tests check both sets against float64
// references.
package tensor
