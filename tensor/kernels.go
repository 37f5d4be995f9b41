package tensor

import (
	"fmt"
	"os"
	"strings"
)

// mr is the height of a packed strip of activations, shared by every kernel
// set; a kernel may cover several consecutive strips per call.
const mr = 4

// Packed weight layouts. A Matrix is packed for one layout; the kernel sets
// that read it declare the same one, and the portable kernel reads any.
var (
	// layout24 is read by the AVX2 and portable kernels: panels of 24
	// columns (three 8-wide vectors), 256 deep, so a panel is 24 KiB and
	// stays in a 32 KiB L1; row blocks of 96 (a 96 KiB slice of x in L2;
	// 48 and 144 measured slower on Zen 1, whose L2 is 512 KiB).
	layout24 = layout{nr: 24, kc: 256, mc: 96}
	// layout48 is read by the AVX-512 kernels: panels of 48 columns (three
	// 16-wide vectors), 128 deep, so a panel is again 24 KiB. Row blocks
	// of 192 (96 KiB of x), as every AVX-512 CPU has an L2 of 1 MiB or
	// more: at batch 8 (400 rows) the weights stream from memory 3 times
	// instead of 5. Chosen from cache sizes; not yet timed on such a CPU.
	layout48 = layout{nr: 48, kc: 128, mc: 192}
)

// layout is the geometry of a packed Matrix: panels of nr output columns,
// stored per block of kc inputs (see Matrix).
type layout struct {
	nr int // columns per panel: the width of the micro-tile
	kc int // depth of one K block
	mc int // rows per block of x, at most (Linear's blocking, not stored)
}

// Tile geometry of the strided kernels that MatMulNT/NN use: A is not
// packed there, so more rows per pass over the B panel pay off. smr rows
// in every set; the panel width is the set's (kernels.snr): snrGo columns
// in the portable and AVX2 kernels, snrMax in the AVX-512 one.
const (
	smr    = 6
	snrGo  = 16
	snrMax = 32
)

// Strided kernels (kernels.strided), named so that the package-level
// tileStrided can call each directly (see there).
const (
	stridedGo = iota
	stridedAVX2
	stridedAVX512
)

// kernels is one implementation of the inner loops: the GEMM micro-kernel
// and the vector helpers the epilogue and row operations use.
type kernels struct {
	name string

	lay  layout // the packed weight layout tile reads
	rows int    // rows one tile call covers at most: a multiple of mr

	// tile computes the product of rows rows of packed A (consecutive
	// strips of k×mr values, k-major) and a packed B panel (k×nr values,
	// k-major, len(b) = k·nr) and stores it to c (row stride ldc), or adds
	// it to c when add is set. rows is 1..kernels.rows; the rows past it up
	// to the end of their strip may be computed too (c holds them), and the
	// kernel may skip them (a tail strip of 2 rows then costs half of a
	// full one). k is at least 1.
	tile func(k int, a, b, c []float32, ldc, rows int, add bool)

	// tile2Pair, where set, is tile for the first 1 or 2 rows of a strip
	// over two consecutive panels of one K block at once: b holds both
	// (2·k·nr values, the second panel right after the first) and the
	// outputs are 2·nr columns of c. It gives the bits tile gives panel
	// by panel, with twice the accumulators (see gemmJob.task).
	tile2Pair func(k int, a, b, c []float32, ldc int, add bool)

	// packStrip transposes mr rows of kk values, row i starting at
	// src[i·ld], into kk groups of mr values (dst): packing x for tile.
	packStrip func(dst, src []float32, ld, kk int)

	// tilePF, where set, is tile that also prefetches into L2 one cache
	// line a step from pf on: the weights the task needs next, so that
	// streaming them overlaps this tile's arithmetic (see gemmJob.task).
	tilePF func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32)
	// tilePFSparse and tileEpSparse, where set, are tilePF and tileEp
	// prefetching one line every four steps: a quarter as much per call,
	// so Linear has more of a panel's calls prefetch the next panel
	// (those that a panel has to spare: gemmJob.task). A line a step asks
	// for lines from memory faster than a core's miss buffers retire them,
	// and the tile's own loads then wait behind the prefetches. On the Zen
	// 5 guest with the AVX2 set forced, the ViT-B/32 Linear shapes with
	// their weights streaming from memory, interleaved call by call: 5–9%
	// faster at 1 image (50 rows, 13 calls a panel) and 2–13% at 8, on 1
	// and 2 workers; the whole tower, interleaved image by image, 9% at
	// batch 1 and 1–2% at batch 8. The AVX-512 set has none: its 8-row
	// tiles make 7 calls a panel at 1 image, too few to spread a
	// quarter-rate prefetch over (Linear 10–18% slower), and at batch 8,
	// though Linear alone ran 2–14% faster, the tower took 1.6–1.9% longer.
	tilePFSparse func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32)
	tileEpSparse func(k int, a, b, c []float32, ldc int, add bool, pf *float32, y []float32, ldy int, bias []float32, acc bool)

	// tileEp, where set, is tilePF for a tile of the last K block whose
	// kernels.rows rows and nr columns all lie inside Linear's output y,
	// which it then finishes as epilogue does with the Identity
	// activation, with the same bits, into y (row stride ldy; bias holds
	// the tile's nr columns or is nil) instead of storing the sums to c
	// (read when add is set, never written).
	tileEp func(k int, a, b, c []float32, ldc int, add bool, pf *float32, y []float32, ldy int, bias []float32, acc bool)

	// layI8 is the packed int8 layout tileI8 reads (PackInt8 packs for it).
	layI8 layout
	// tileI8 is tile for int8 operands (layI8): rows rows (1..rowsI8) of
	// packed u8 activations (consecutive strips of k4×mr×4 bytes) times a
	// panel of s8 weights (k4×nr×4 bytes), exact int32 sums into c.
	tileI8 func(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool)
	// tileI8PF, where set, is tileI8 prefetching from pf, as tilePF.
	tileI8PF func(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool, pf *int8)
	// tileI8Ep, where set, is tileEp for int8 operands: it dequantizes the
	// sums as epilogueI8 does, zx and sx holding the values of the tile's
	// rowsI8 rows, cs and sw those of its nr columns.
	tileI8Ep func(k4 int, a []uint8, b []int8, c []int32, ldc int, add bool, pf *int8, y []float32, ldy int, bias []float32, acc bool, cs []int32, sw []float32, zx []int32, sx []float32)
	rowsI8   int
	i8name   string // names tileI8: "avx512vnni", "avxvnni", "avx2" or "go"

	// minMax and quantRow are the row helpers of int8 Linear (see
	// quant.go): every set computes them identically.
	minMax   func(x []float32) (lo, hi float32)
	quantRow func(dst []uint8, src []float32, inv float32, z int32, stride int)

	// strided names the kernel that tileStrided runs for this set: an
	// smr×snr tile from an unpacked A (row i of the strip starts at
	// a[i·lda]; all smr rows must exist) and a packed B panel (k×snr,
	// k-major). It is a name, not a func, because the package-level
	// tileStrided must call it directly: an indirect call would make
	// matMul's stack buffers escape.
	strided int
	snr     int

	// epilogue writes dst[j] = act(src[j] + bias[j]) (bias may be nil),
	// adding to dst instead when acc is set.
	epilogue func(dst, src, bias []float32, act Activation, acc bool)
	// epilogueI8 is epilogue whose src is an int8 GEMM's int32 row c,
	// dequantized on the way: src[j] = float32(c[j] − zx·cs[j]) · (sx·sw[j])
	// (see quant.go). For the same src it gives epilogue's bits.
	epilogueI8 func(dst []float32, c, cs []int32, sw []float32, zx int32, sx float32, bias []float32, act Activation, acc bool)

	// dot, axpy, sum, sumSqDev, normAffine, expSub and scale are the
	// vectorised row helpers (see ops.go).
	dot        func(a, b []float32) float32
	axpy       func(alpha float32, x, y []float32)
	sum        func(x []float32) float32
	sumSqDev   func(x []float32, mean float32) float32
	normAffine func(dst, src, w, b []float32, mean, inv float32)
	expSub     func(x []float32, m float32) float32
	scale      func(x []float32, s float32)
	max        func(x []float32) float32

	// dotsF16 sets out[i] to the dot product of q with row i of v, rows of
	// len(q) float16 values (IEEE binary16 bits): a search's scan.
	dotsF16 func(q []float32, v []uint16, out []float32)

	// peak runs n iterations of independent fused multiply-adds of the
	// set's vector width, peakFLOP FLOP each (see FMAPeak); nil in sets
	// without one.
	peak     func(n int)
	peakFLOP int
}

// goKernels is the portable implementation, used on every architecture
// without assembly and when the purego build tag is set.
var goKernels = &kernels{
	name:       "go",
	lay:        layout24,
	rows:       mr,
	tile:       tileGo,
	packStrip:  packStripGo,
	layI8:      layoutI8,
	tileI8:     tileI8Go,
	rowsI8:     mr,
	i8name:     "go",
	minMax:     minMaxGo,
	quantRow:   quantRowGo,
	epilogueI8: epilogueI8Go,
	dotsF16:    dotsF16Go,
	strided:    stridedGo,
	snr:        snrGo,
	epilogue:   epilogueGo,
	dot:        dotGo,
	axpy:       axpyGo,
	sum:        sumGo,
	sumSqDev:   sumSqDevGo,
	normAffine: normAffineGo,
	expSub:     expSubGo,
	scale:      scaleGo,
	max:        maxGo,
}

// defaultKernels returns the fastest kernel set this CPU supports. The set
// is chosen once, at package initialisation, and never changes.
func defaultKernels() *kernels { return bestKernels }

var bestKernels, kernelsErr = selectKernels(os.Getenv("GOCLIP_KERNELS"), os.Getenv("GOCLIP_INT8_KERNEL"))

// selectKernels returns the kernel set named want, or the fastest this CPU
// has when want is empty, with the int8 tile named wantI8, or the set's
// own when that is empty. A name this CPU cannot run (a typo, a set of
// another CPU) is an error; the fastest set is returned with it.
func selectKernels(want, wantI8 string) (*kernels, error) {
	sets := availableKernels()
	set := sets[0]
	if want != "" {
		var names []string
		set = nil
		for _, k := range sets {
			names = append(names, k.name)
			if k.name == want {
				set = k
			}
		}
		if set == nil {
			return sets[0], fmt.Errorf("GOCLIP_KERNELS=%q: not a kernel set this CPU runs (it has %s)", want, strings.Join(names, ", "))
		}
	}
	if wantI8 == "" {
		return set, nil
	}
	var names []string
	for _, k := range int8Variants(set) {
		names = append(names, k.i8name)
		if k.i8name == wantI8 {
			return k, nil
		}
	}
	return sets[0], fmt.Errorf("GOCLIP_INT8_KERNEL=%q: not an int8 kernel this CPU runs (it has %s)", wantI8, strings.Join(names, ", "))
}

// KernelsError reports a GOCLIP_KERNELS value that names no kernel set this
// CPU runs, or a GOCLIP_INT8_KERNEL that names no int8 kernel it runs. The fastest set is in use meanwhile; loading a model (package
// clip) refuses to go on, so a misspelt choice is never ignored silently.
func KernelsError() error { return kernelsErr }

// KernelName names the kernel set this process uses: "avx512", "avx2" or
// "go" (portable). The GOCLIP_KERNELS environment variable, read once at
// start-up, can choose a slower set than the best one this CPU supports,
// to compare them or to work around a fault.
func KernelName() string { return bestKernels.name }

// Int8KernelName names the kernel int8 matrices (PackInt8) use:
// "avx512vnni" (AVX-512 VNNI), "avxvnni" (AVX-VNNI: Alder Lake, Zen 5),
// "avx2" (VPMADDWD on 16-bit values, exact, any AVX2 CPU), or "go"
// (portable, much slower than float32) on CPUs without AVX2.
func Int8KernelName() string { return bestKernels.i8name }
