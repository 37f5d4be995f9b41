package tensor

// Micro-tile geometry shared by every kernel set. Packed weights depend on
// nr, packed activations on mr; both are fixed so a Matrix packed once works
// with whichever kernel set a Pool selected.
const (
	mr = 4   // rows of the micro-tile (activations)
	nr = 24  // columns of the micro-tile (weight rows): three 8-wide vectors
	kc = 256 // depth of one K block: an nr×kc weight panel is 24 KiB, in L1
)

// Tile geometry of the strided kernel that MatMulNT/NN use: A is not
// packed there, so more rows per pass over the B panel pay off.
const (
	smr = 6
	snr = 16
)

// kernels is one implementation of the inner loops: the GEMM micro-kernel
// and the vector helpers the epilogue and row operations use.
type kernels struct {
	name string

	// tile computes the mr×nr product of a packed A strip (k×mr, k-major)
	// and a packed B panel (k×nr, k-major) and stores it to c (row stride
	// ldc), or adds it to c when add is set. Only the first rows rows
	// (1..mr) are needed: c may be shorter, and the kernel may skip the rest
	// (a tail strip of 2 rows then costs half of a full one).
	tile func(k int, a, b, c []float32, ldc, rows int, add bool)

	// tileStrided computes an smr×snr tile from an unpacked A (row i of the
	// strip starts at a[i·lda]; all smr rows must exist) and a packed B
	// panel (k×snr, k-major).
	tileStrided func(k int, a []float32, lda int, b, c []float32, ldc int, add bool)

	// epilogue writes dst[j] = act(src[j] + bias[j]) (bias may be nil),
	// adding to dst instead when acc is set.
	epilogue func(dst, src, bias []float32, act Activation, acc bool)

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
}

// goKernels is the portable implementation, used on every architecture
// without assembly and when the purego build tag is set.
var goKernels = &kernels{
	name:        "go",
	tile:        tileGo,
	tileStrided: tileStridedGo,
	epilogue:    epilogueGo,
	dot:         dotGo,
	axpy:        axpyGo,
	sum:         sumGo,
	sumSqDev:    sumSqDevGo,
	normAffine:  normAffineGo,
	expSub:      expSubGo,
	scale:       scaleGo,
	max:         maxGo,
}

// defaultKernels returns the fastest kernel set this CPU supports. The set
// is chosen once, at package initialisation, and never changes.
func defaultKernels() *kernels { return bestKernels }

var bestKernels = selectKernels()
