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
// panels of nr output rows, per kc-deep block of K, each k-major, so one
// step of the micro-kernel reads one contiguous panel row. Per call, blocks
// of up to 96 rows of x (192 with AVX-512) are packed into 4-row strips,
// each block once, by the workers that reach it together. The panel geometry
// belongs to the kernel set (see Kernel selection): the AVX2 micro-kernel
// computes a 4×24 tile in twelve 8-wide accumulators (nr 24, kc 256): four
// broadcasts per twelve FMAs, which measured 99% of the FMA peak in
// isolation against 97% for a 6×16 tile. The AVX-512 one computes an 8×48
// tile (two strips) in 24 16-wide accumulators (nr 48, kc 128). Either
// way a panel is 24 KiB and stays in L1 while the kernel sweeps the strips
// of the row block held in L2. Tiles accumulate in a per-worker buffer
// across K blocks, and the epilogue (bias, QuickGELU with a vectorised exp
// or exact GELU with a vectorised erfc, residual add) finishes each task's
// rows from there while they are still in cache. Without an activation, a
// full tile of the last K block (all its rows and columns inside y) adds
// the bias and the residual to its accumulators itself and stores them
// straight to y, with the same bits. Tail strips use a kernel of fewer
// rows, so 50-token images waste little work.
//
// Work is cut into (row block, group of panels) tasks that the pool's
// workers claim from a shared counter, so both a single image (split over
// output columns) and a batch keep every worker busy, and a worker that the
// OS delays simply takes fewer tasks.
//
// # Kernel selection
//
// At start-up the fastest set the CPU supports is chosen with
// golang.org/x/sys/cpu: "avx512" (AVX-512F GEMM, attention and epilogue
// kernels; row helpers from the AVX2 set), "avx2" (AVX2+FMA), or "go"
// (portable: other architectures, old CPUs and the purego build tag). Pack
// uses the chosen set's layout; a Matrix in another layout still works, through the
// portable kernel. The GOCLIP_KERNELS environment variable names a slower
// set to use instead (to compare them, or to step around a fault). Tests
// check every set this CPU has against float64 references.
//
// # Int8
//
// PackInt8 makes a Matrix whose Linear runs in 8-bit integers (see
// quant.go): weights quantized to ±63 per output row, inputs to u8 per row
// at call time, exact int32 products from the fastest kernel the CPU has:
// AVX-512 VNNI (512-bit vpdpbusd), AVX-VNNI (its 256-bit VEX form: Intel
// Alder Lake and later, AMD Zen 5), or AVX2 (vpmaddubsw, whose 16-bit pair
// sums cannot saturate with 7-bit weights, then vpmaddwd), else a portable
// kernel that gives the same integers, slowly. The AVX2 and AVX-VNNI kernels are generated
// (internal/asmgen, with avo; go generate). GOCLIP_INT8_KERNEL names
// another of them ("avx512vnni", "avxvnni", "avx2", "go").
package tensor
