//go:build amd64 && !purego

package tensor

import (
	"fmt"

	"golang.org/x/sys/cpu"
)

// avx2Kernels is the AVX2+FMA set, or nil when the CPU lacks those
// extensions; avx512Kernels is the same set with AVX-512F GEMM tiles, or
// nil without AVX-512F (or an OS that does not save its registers).
var (
	avx2Kernels   = newAVX2Kernels()
	avx512Kernels = newAVX512Kernels(avx2Kernels)
)

// availableKernels lists the kernel sets this CPU can run, fastest first.
func availableKernels() []*kernels {
	var ks []*kernels
	for _, k := range []*kernels{avx512Kernels, avx2Kernels} {
		if k != nil {
			ks = append(ks, k)
		}
	}
	return append(ks, goKernels)
}

func newAVX2Kernels() *kernels {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil
	}
	k := &kernels{
		name:         "avx2",
		lay:          layout24,
		rows:         mr,
		tile:         tileAVX2,
		packStrip:    packStripAVX2,
		tilePF:       tilePFAVX2By(gemm4x24pf),
		tileEp:       tileEpBy(mr, 24, gemm4x24ep),
		tilePFSparse: tilePFAVX2By(gemm4x24pfs),
		tileEpSparse: tileEpBy(mr, 24, gemm4x24eps),
		tile2Pair:    tile2PairBy(24, gemm2x24x2),
		layI8:        layoutI8,
		minMax:       minMaxBy(8, minMax8, minMaxGo),
		quantRow:     quantRowBy(8, quantRow8, quantRowGo),
		epilogueI8:   epilogueI8AVX2,
		strided:      stridedAVX2,
		snr:          snrGo,
		epilogue:     epilogueAVX2,
		dot:          dotAVX2,
		axpy:         axpyAVX2,
		sum:          sumAVX2,
		sumSqDev:     sumSqDevAVX2,
		normAffine:   normAffineAVX2,
		expSub:       expSubAVX2,
		scale:        scaleAVX2,
		max:          maxAVX2,
		peak:         fmaPeakAVX2,
		peakFLOP:     2 * 8 * 12,
		dotsF16:      dotsF16Go,
	}
	if cpu.X86.HasF16C {
		k.dotsF16 = dotsF16AVX2
	}
	ubswTiles.use(k)
	if cpu.X86.HasAVXVNNI {
		vnniTiles.use(k)
	}
	return k
}

// int8Variants returns k and, for each other int8 tile this CPU runs in
// k's int8 layout, a copy of k using it: the tests check every one.
func int8Variants(k *kernels) []*kernels {
	out := []*kernels{k}
	add := func(use func(v *kernels)) {
		v := *k
		use(&v)
		if v.i8name != k.i8name {
			out = append(out, &v)
		}
	}
	if cpu.X86.HasAVX2 {
		add(ubswTiles.use)
	}
	if cpu.X86.HasAVXVNNI {
		add(vnniTiles.use)
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI {
		add(useAVX512VNNI)
	}
	return out
}

// newAVX512Kernels returns the AVX-512F set: the GEMM tile reads 8 rows
// (two strips) against a 48-wide panel in 24 zmm accumulators, attention's
// tile 6 rows against a 32-wide panel; int8's row range and quantization
// take 16 lanes (7% of the int8 tower's time in 8), the other row helpers
// stay those of avx2 (a small part of the time, and VEX code runs
// unchanged on these CPUs).
func newAVX512Kernels(avx2 *kernels) *kernels {
	if avx2 == nil || !cpu.X86.HasAVX512F {
		return nil
	}
	k := *avx2
	k.name = "avx512"
	k.lay = layout48
	k.rows = 2 * mr
	k.tile = tileAVX512
	k.tilePF, k.tileEp = tilePFAVX512By(gemm8x48pf), tileEpBy(2*mr, 48, gemm8x48ep)
	k.tilePFSparse, k.tileEpSparse = nil, nil // see kernels.tilePFSparse
	k.tile2Pair = tile2PairBy(48, gemm2x48x2)
	k.strided, k.snr = stridedAVX512, snrMax
	k.epilogue, k.epilogueI8 = epilogueAVX512, epilogueI8AVX512
	k.minMax, k.quantRow = minMaxBy(16, minMax16, k.minMax), quantRowBy(16, quantRow16, k.quantRow)
	k.peak, k.peakFLOP = fmaPeakAVX512, 2*16*12
	if cpu.X86.HasAVX512VNNI {
		useAVX512VNNI(&k)
	}
	return &k
}

// useAVX512VNNI sets k's int8 tiles to the AVX-512 VNNI ones (8 rows).
func useAVX512VNNI(k *kernels) {
	k.tileI8, k.tileI8PF, k.tileI8Ep, k.rowsI8, k.i8name = tileI8VNNI, tileI8PFVNNI, tileI8EpVNNI, 2*mr, "avx512vnni"
}

//go:generate sh -c "cd ../internal/asmgen && go run . -out ../../tensor/generated_amd64.s -pkg tensor"

// Assembly routines (kernels_amd64.s, quant_amd64.s, and generated_amd64.s,
// which internal/asmgen generates: the AVX2 2×24 and 4×24 and the AVX-512
// float32 and int8 tiles, plain and with the epilogue fused, the AVX2 and
// AVX-VNNI int8 tiles, the 8- and 16-lane epilogues, expSub8, the
// transposes packStrip8 and transpose8, the float16 scan and the FMA peak
// loops).
// Lengths are in elements; routines taking n process a multiple of 8
// elements (16 for the 16-lane epilogues) and leave the tail to Go.

//go:noescape
func gemm4x24(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm2x24(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm8x48(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm2x48(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm2x24x2(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm2x48x2(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm8x48i8pf(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8)

//go:noescape
func gemm4x24pf(k int, a, b, c *float32, ldc int, add bool, pf *float32)

//go:noescape
func gemm8x48pf(k int, a, b, c *float32, ldc int, add bool, pf *float32)

//go:noescape
func gemm4x48(k int, a, b, c *float32, ldc int, add bool)

//go:noescape
func gemm4x24ep(k int, a, b, c *float32, ldc int, add bool, pf, y *float32, ldy int, bias *float32, flags int)

//go:noescape
func gemm8x48ep(k int, a, b, c *float32, ldc int, add bool, pf, y *float32, ldy int, bias *float32, flags int)

//go:noescape
func gemm4x24pfs(k int, a, b, c *float32, ldc int, add bool, pf *float32)

//go:noescape
func gemm4x24eps(k int, a, b, c *float32, ldc int, add bool, pf, y *float32, ldy int, bias *float32, flags int)

//go:noescape
func gemm8x48i8(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool)

//go:noescape
func gemm8x48i8ep(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8, y *float32, ldy int, bias *float32, flags int, cs *int32, sw *float32, zx *int32, sx *float32)

//go:noescape
func gemm4x48i8(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool)

//go:noescape
func gemm4x24i8ubsw(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool)

//go:noescape
func gemm4x24i8ubswpf(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8)

//go:noescape
func gemm4x24i8ubswep(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8, y *float32, ldy int, bias *float32, flags int, cs *int32, sw *float32, zx *int32, sx *float32)

//go:noescape
func gemm4x24i8vnni(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool)

//go:noescape
func gemm4x24i8vnnipf(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8)

//go:noescape
func gemm4x24i8vnniep(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8, y *float32, ldy int, bias *float32, flags int, cs *int32, sw *float32, zx *int32, sx *float32)

func fmaPeakAVX2(n int)

func fmaPeakAVX512(n int)

//go:noescape
func gemm6x16s(k int, a *float32, lda int, b, c *float32, ldc int, add bool)

//go:noescape
func gemm6x32s(k int, a *float32, lda int, b, c *float32, ldc int, add bool)

//go:noescape
func epilogue8(dst, src, bias *float32, n int, flags int)

//go:noescape
func epilogueI8x8(dst *float32, c, cs *int32, sw, bias *float32, n int, flags int, zx int32, sx float32)

//go:noescape
func packStrip8(dst, src *float32, ld, n int)

//go:noescape
func epilogue16(dst, src, bias *float32, n int, flags int)

//go:noescape
func epilogueI8x16(dst *float32, c, cs *int32, sw, bias *float32, n int, flags int, zx int32, sx float32)

//go:noescape
func dot8(a, b *float32, n int) float32

//go:noescape
func axpy8(alpha float32, x, y *float32, n int)

//go:noescape
func sum8(x *float32, n int) float32

//go:noescape
func sumSqDev8(x *float32, n int, mean float32) float32

//go:noescape
func normAffine8(dst, src, w, b *float32, n int, mean, inv float32)

//go:noescape
func expSub8(x *float32, n int, m float32) float32

//go:noescape
func scale8(x *float32, n int, s float32)

//go:noescape
func max8(x *float32, n int) float32

// Flags of the epilogue routines (internal/asmgen writes the same values:
// the Linear tests, against a plain product, fail if they part).
const (
	epBias      = 1
	epQuickGELU = 2
	epAcc       = 4
	epGELU      = 8
)

func tileAVX2(k int, a, b, c []float32, ldc, rows int, add bool) {
	const nr = 24
	_ = a[k*mr-1]
	_ = b[k*nr-1]
	if rows > 2 {
		_ = c[(mr-1)*ldc+nr-1]
		gemm4x24(k, &a[0], &b[0], &c[0], ldc, add)
		return
	}
	_ = c[ldc+nr-1]
	gemm2x24(k, &a[0], &b[0], &c[0], ldc, add)
}

// tile2PairBy returns a kernels.tile2Pair that runs gemm, an assembly
// two-panel tile for panels nr wide (gemm2x24x2, gemm2x48x2), after
// checking that the slices hold what it reads and writes.
func tile2PairBy(nr int, gemm func(k int, a, b, c *float32, ldc int, add bool)) func(k int, a, b, c []float32, ldc int, add bool) {
	return func(k int, a, b, c []float32, ldc int, add bool) {
		_ = a[k*mr-1]
		_ = b[2*k*nr-1]
		_ = c[ldc+2*nr-1]
		gemm(k, &a[0], &b[0], &c[0], ldc, add)
	}
}

// tilePFAVX2By is tileAVX2 prefetching from pf (gemm: gemm4x24pf, or
// gemm4x24pfs) for 3 or 4 rows.
func tilePFAVX2By(gemm func(k int, a, b, c *float32, ldc int, add bool, pf *float32)) func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32) {
	return func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32) {
		const nr = 24
		_ = a[k*mr-1]
		_ = b[k*nr-1]
		if rows > 2 {
			_ = c[(mr-1)*ldc+nr-1]
			gemm(k, &a[0], &b[0], &c[0], ldc, add, pf)
			return
		}
		tileAVX2(k, a, b, c, ldc, rows, add)
	}
}

func tileAVX512(k int, a, b, c []float32, ldc, rows int, add bool) {
	const nr = 48
	_ = b[k*nr-1]
	if rows > mr {
		_ = a[2*k*mr-1]
		_ = c[(2*mr-1)*ldc+nr-1]
		gemm8x48(k, &a[0], &b[0], &c[0], ldc, add)
		return
	}
	_ = a[k*mr-1]
	if rows <= 2 {
		_ = c[ldc+nr-1]
		gemm2x48(k, &a[0], &b[0], &c[0], ldc, add)
		return
	}
	_ = c[(mr-1)*ldc+nr-1]
	gemm4x48(k, &a[0], &b[0], &c[0], ldc, add)
}

// tilePFAVX512By is tileAVX512 prefetching from pf (gemm: gemm8x48pf) for
// 8 rows.
func tilePFAVX512By(gemm func(k int, a, b, c *float32, ldc int, add bool, pf *float32)) func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32) {
	return func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32) {
		const nr = 48
		if rows > mr {
			_ = a[2*k*mr-1]
			_ = b[k*nr-1]
			_ = c[(2*mr-1)*ldc+nr-1]
			gemm(k, &a[0], &b[0], &c[0], ldc, add, pf)
			return
		}
		tileAVX512(k, a, b, c, ldc, rows, add)
	}
}

// tileEpBy is kernels.tileEp for a set of rows rows and nr columns (gemm:
// gemm4x24ep, gemm8x48ep or their sparse forms).
func tileEpBy(rows, nr int, gemm func(k int, a, b, c *float32, ldc int, add bool, pf, y *float32, ldy int, bias *float32, flags int)) func(k int, a, b, c []float32, ldc int, add bool, pf *float32, y []float32, ldy int, bias []float32, acc bool) {
	return func(k int, a, b, c []float32, ldc int, add bool, pf *float32, y []float32, ldy int, bias []float32, acc bool) {
		_ = a[k*rows-1]
		_ = b[k*nr-1]
		_ = c[(rows-1)*ldc+nr-1]
		_ = y[(rows-1)*ldy+nr-1]
		flags, bp := tileEpFlags(bias, nr, acc, &y[0])
		gemm(k, &a[0], &b[0], &c[0], ldc, add, pf, &y[0], ldy, bp, flags)
	}
}

// tileEpFlags is epFlags for the fused tiles: no activation, a bias of nr
// values.
func tileEpFlags(bias []float32, nr int, acc bool, unread *float32) (int, *float32) {
	if bias != nil {
		bias = bias[:nr]
	}
	return epFlags(bias, Identity, acc, unread)
}

// tiles4x24 is a 4×24 int8 kernel in its three forms (see tile4x24 in
// internal/asmgen), run over whole 48-column panels of layoutI8 (two
// calls, one per half) as kernels.tileI8, tileI8PF and tileI8Ep. Each
// computes all 4 rows of its strip.
type tiles4x24 struct {
	name  string // kernels.i8name
	plain func(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool)
	pf    func(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8)
	ep    func(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool, pf *int8, y *float32, ldy int, bias *float32, flags int, cs *int32, sw *float32, zx *int32, sx *float32)
}

var (
	// ubswTiles serve every AVX2 CPU (gemm4x24i8ubsw: vpmaddubsw, exact
	// for weights of at most 63 in magnitude, which PackInt8 guarantees).
	ubswTiles = tiles4x24{"avx2", gemm4x24i8ubsw, gemm4x24i8ubswpf, gemm4x24i8ubswep}
	// vnniTiles serve CPUs with AVX-VNNI (gemm4x24i8vnni).
	vnniTiles = tiles4x24{"avxvnni", gemm4x24i8vnni, gemm4x24i8vnnipf, gemm4x24i8vnniep}
)

// use sets k's int8 tiles to t's.
func (t tiles4x24) use(k *kernels) {
	k.tileI8, k.tileI8PF, k.tileI8Ep, k.rowsI8, k.i8name = t.tile, t.tilePF, t.tileEp, mr, t.name
}

// check panics unless a holds a strip of 4 rows of k4 groups, b a
// 48-column panel of them and c the strip's 48 outputs (row stride ldc):
// what the two calls of a tile read and write.
func (tiles4x24) check(k4 int, a []uint8, b []int8, c []int32, ldc int) {
	const nr = 48
	_ = b[k4*4*nr-1]
	_ = a[k4*4*mr-1]
	_ = c[(mr-1)*ldc+nr-1]
}

func (t tiles4x24) tile(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool) {
	t.check(k4, a, b, c, ldc)
	t.plain(k4, &a[0], &b[0], &c[0], ldc, add)
	t.plain(k4, &a[0], &b[4*24], &c[24], ldc, add)
}

// tilePF prefetches one line a step from pf during the first half, as
// kernels.tileI8PF asks, none during the second.
func (t tiles4x24) tilePF(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool, pf *int8) {
	t.check(k4, a, b, c, ldc)
	t.pf(k4, &a[0], &b[0], &c[0], ldc, add, pf)
	t.plain(k4, &a[0], &b[4*24], &c[24], ldc, add)
}

// tileEp prefetches from pf during the first half too.
func (t tiles4x24) tileEp(k4 int, a []uint8, b []int8, c []int32, ldc int, add bool, pf *int8, y []float32, ldy int, bias []float32, acc bool, cs []int32, sw []float32, zx []int32, sx []float32) {
	const nr = 48
	t.check(k4, a, b, c, ldc)
	_ = y[(mr-1)*ldy+nr-1]
	cs, sw, zx, sx = cs[:nr], sw[:nr], zx[:mr], sx[:mr]
	flags, bp := tileEpFlags(bias, nr, acc, &y[0])
	bp2 := bp
	if bias != nil {
		bp2 = &bias[24]
	}
	t.ep(k4, &a[0], &b[0], &c[0], ldc, add, pf, &y[0], ldy, bp, flags, &cs[0], &sw[0], &zx[0], &sx[0])
	t.ep(k4, &a[0], &b[4*24], &c[24], ldc, add, &b[4*24], &y[24], ldy, bp2, flags, &cs[24], &sw[24], &zx[0], &sx[0])
}

func tileI8VNNI(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool) {
	const nr = 48
	_ = b[k4*4*nr-1]
	if rows > mr {
		_ = a[2*k4*4*mr-1]
		_ = c[(2*mr-1)*ldc+nr-1]
		gemm8x48i8(k4, &a[0], &b[0], &c[0], ldc, add)
		return
	}
	_ = a[k4*4*mr-1]
	_ = c[(mr-1)*ldc+nr-1]
	gemm4x48i8(k4, &a[0], &b[0], &c[0], ldc, add)
}

// tileI8PFVNNI is tileI8VNNI prefetching from pf (gemm8x48i8pf) for 8 rows.
func tileI8PFVNNI(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool, pf *int8) {
	const nr = 48
	_ = b[k4*4*nr-1]
	if rows > mr {
		_ = a[2*k4*4*mr-1]
		_ = c[(2*mr-1)*ldc+nr-1]
		gemm8x48i8pf(k4, &a[0], &b[0], &c[0], ldc, add, pf)
		return
	}
	tileI8VNNI(k4, a, b, c, ldc, rows, add)
}

// tileI8EpVNNI is kernels.tileI8Ep for 8 rows (gemm8x48i8ep).
func tileI8EpVNNI(k4 int, a []uint8, b []int8, c []int32, ldc int, add bool, pf *int8, y []float32, ldy int, bias []float32, acc bool, cs []int32, sw []float32, zx []int32, sx []float32) {
	const nr, rows = 48, 2 * mr
	_ = a[k4*4*rows-1]
	_ = b[k4*4*nr-1]
	_ = c[(rows-1)*ldc+nr-1]
	_ = y[(rows-1)*ldy+nr-1]
	cs, sw, zx, sx = cs[:nr], sw[:nr], zx[:rows], sx[:rows]
	flags, bp := tileEpFlags(bias, nr, acc, &y[0])
	gemm8x48i8ep(k4, &a[0], &b[0], &c[0], ldc, add, pf, &y[0], ldy, bp, flags, &cs[0], &sw[0], &zx[0], &sx[0])
}

// dotsF16AVX2 is kernels.dotsF16 with F16C conversions when the row length
// is a multiple of 16: groups of 4 rows (dotsF16x4), then single rows
// (dotsF16x1, which sums in the same order); otherwise in Go.
func dotsF16AVX2(q []float32, v []uint16, out []float32) {
	dim, n := len(q), len(out)
	if dim == 0 || dim%16 != 0 || n == 0 {
		dotsF16Go(q, v, out)
		return
	}
	_ = v[n*dim-1]
	n4 := n &^ 3
	if n4 > 0 {
		dotsF16x4(&q[0], &v[0], dim, n4, &out[0])
	}
	if n4 < n {
		dotsF16x1(&q[0], &v[n4*dim], dim, n-n4, &out[n4])
	}
}

//go:noescape
func dotsF16x4(q *float32, v *uint16, dim, n int, out *float32)

//go:noescape
func dotsF16x1(q *float32, v *uint16, dim, n int, out *float32)

//go:noescape
func minMax8(x *float32, n int) (lo, hi float32)

//go:noescape
func quantRow8(dst *uint8, src *float32, n int, inv float32, z int32, stride int)

//go:noescape
func minMax16(x *float32, n int) (lo, hi float32)

//go:noescape
func quantRow16(dst *uint8, src *float32, n int, inv float32, z int32, stride int)

// minMaxBy returns a kernels.minMax that runs mm (an assembly routine of
// the given lanes) on a row's whole vectors and tail on the rest. Its
// results are the portable ones (see minMax16 for the 16-lane reduction).
func minMaxBy(lanes int, mm func(x *float32, n int) (lo, hi float32), tail func([]float32) (lo, hi float32)) func([]float32) (lo, hi float32) {
	return func(x []float32) (lo, hi float32) {
		v := len(x) / lanes * lanes
		if v == 0 {
			return tail(x)
		}
		lo, hi = mm(&x[0], v)
		if v < len(x) {
			l, h := tail(x[v:])
			lo, hi = min(lo, l), max(hi, h)
		}
		return lo, hi
	}
}

// quantRowBy returns a kernels.quantRow that runs q (an assembly routine
// of the given lanes) on a row's whole vectors and tail on the rest.
func quantRowBy(lanes int, q func(dst *uint8, src *float32, n int, inv float32, z int32, stride int), tail func(dst []uint8, src []float32, inv float32, z int32, stride int)) func(dst []uint8, src []float32, inv float32, z int32, stride int) {
	return func(dst []uint8, src []float32, inv float32, z int32, stride int) {
		n := len(src)
		dst = dst[:((n+3)/4-1)*stride+4] // every group's place exists
		v := n / lanes * lanes
		if v > 0 {
			q(&dst[0], &src[0], v, inv, z, stride)
		}
		if v < n {
			tail(dst[v/4*stride:], src[v:], inv, z, stride)
		}
	}
}

// tileStrided runs kn's strided kernel (kn.strided: an smr×kn.snr tile)
// by a direct call, so that escape analysis can see that the stack
// buffers of matMul do not escape (an indirect call would move them to the
// heap).
func tileStrided(kn *kernels, k int, a []float32, lda int, b, c []float32, ldc int, add bool) {
	if kn.strided == stridedGo {
		tileStridedGo(k, a, lda, b, c, ldc, add)
		return
	}
	snr := kn.snr
	_ = a[:(smr-1)*lda+k]
	_ = b[:k*snr]
	_ = c[(smr-1)*ldc+snr-1]
	if k == 0 {
		a, b = c, c // the kernel reads neither
	}
	if kn.strided == stridedAVX512 {
		gemm6x32s(k, &a[0], lda, &b[0], &c[0], ldc, add)
		return
	}
	gemm6x16s(k, &a[0], lda, &b[0], &c[0], ldc, add)
}

//go:noescape
func transpose8(dst *float32, ds int, src *float32, ld, n int)

// packTransposed is packTransposedGo with the rows of src taken eight at a
// time and transposed in registers (transpose8) where kn has assembly and
// kk is a multiple of 8 (attention's heads are 64 wide). Like tileStrided,
// a direct call, so that matMul's stack buffers stay on the stack.
func packTransposed(kn *kernels, dst, src []float32, ld, cols, kk, snr int) {
	j := 0
	if kn.strided != stridedGo && kk%8 == 0 && cols >= 8 {
		j = cols &^ 7
		_ = src[(j-1)*ld+kk-1]
		_ = dst[(kk-1)*snr+j-1]
		for j0 := 0; j0 < j; j0 += 8 {
			transpose8(&dst[j0], snr, &src[j0*ld], ld, kk)
		}
	}
	if j < cols {
		packTransposedGo(dst[j:], src[j*ld:], ld, cols-j, kk, snr)
	}
}

func epilogueAVX2(dst, src, bias []float32, act Activation, acc bool) {
	n := len(dst)
	src = src[:n]
	if bias != nil {
		bias = bias[:n]
	}
	v := n &^ 7
	if v > 0 {
		flags, bp := epFlags(bias, act, acc, &src[0])
		epilogue8(&dst[0], &src[0], bp, v, flags)
	}
	if v < n {
		epilogueGo(dst[v:], src[v:], tail(bias, v), act, acc)
	}
}

func epilogueI8AVX2(dst []float32, c, cs []int32, sw []float32, zx int32, sx float32, bias []float32, act Activation, acc bool) {
	n := len(dst)
	c, cs, sw = c[:n], cs[:n], sw[:n]
	if bias != nil {
		bias = bias[:n]
	}
	v := n &^ 7
	if v > 0 {
		flags, bp := epFlags(bias, act, acc, &sw[0])
		epilogueI8x8(&dst[0], &c[0], &cs[0], &sw[0], bp, v, flags, zx, sx)
	}
	if v < n {
		epilogueI8Go(dst[v:], c[v:], cs[v:], sw[v:], zx, sx, tail(bias, v), act, acc)
	}
}

// packStripAVX2 is packStrip with the columns eight at a time
// (packStrip8), the rest in Go.
func packStripAVX2(dst, src []float32, ld, kk int) {
	v := kk &^ 7
	if v > 0 {
		_ = src[3*ld+kk-1]
		_ = dst[mr*kk-1]
		packStrip8(&dst[0], &src[0], ld, v)
	}
	if v < kk {
		packStripGo(dst[v*mr:], src[v:], ld, kk-v)
	}
}

// epilogueAVX512 is epilogueAVX2 sixteen lanes at a time where it can
// (every activation but the erf GELU), with the same bits.
func epilogueAVX512(dst, src, bias []float32, act Activation, acc bool) {
	n := len(dst)
	v := n &^ 15
	if v == 0 || act == GELU {
		epilogueAVX2(dst, src, bias, act, acc)
		return
	}
	src = src[:n]
	if bias != nil {
		bias = bias[:n]
	}
	flags, bp := epFlags(bias, act, acc, &src[0])
	epilogue16(&dst[0], &src[0], bp, v, flags)
	if v < n {
		epilogueAVX2(dst[v:], src[v:], tail(bias, v), act, acc)
	}
}

// epilogueI8AVX512 is epilogueI8AVX2 sixteen lanes at a time where it can
// (every activation but the erf GELU), with the same bits.
func epilogueI8AVX512(dst []float32, c, cs []int32, sw []float32, zx int32, sx float32, bias []float32, act Activation, acc bool) {
	n := len(dst)
	v := n &^ 15
	if v == 0 || act == GELU {
		epilogueI8AVX2(dst, c, cs, sw, zx, sx, bias, act, acc)
		return
	}
	c, cs, sw = c[:n], cs[:n], sw[:n]
	if bias != nil {
		bias = bias[:n]
	}
	flags, bp := epFlags(bias, act, acc, &sw[0])
	epilogueI8x16(&dst[0], &c[0], &cs[0], &sw[0], bp, v, flags, zx, sx)
	if v < n {
		epilogueI8AVX2(dst[v:], c[v:], cs[v:], sw[v:], zx, sx, tail(bias, v), act, acc)
	}
}

// epFlags returns the flags of the epilogue routines and the bias pointer
// to pass them: without a bias, unread (any valid pointer; they do not
// read it).
func epFlags(bias []float32, act Activation, acc bool, unread *float32) (int, *float32) {
	flags := 0
	bp := unread
	if bias != nil {
		flags |= epBias
		bp = &bias[0]
	}
	switch act {
	case Identity:
	case QuickGELU:
		flags |= epQuickGELU
	case GELU:
		flags |= epGELU
	default:
		panic(fmt.Sprintf("tensor: epilogue: unknown activation %d", act))
	}
	if acc {
		flags |= epAcc
	}
	return flags, bp
}

func dotAVX2(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	v := n &^ 7
	var s float32
	if v > 0 {
		s = dot8(&a[0], &b[0], v)
	}
	for i := v; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

func axpyAVX2(alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	v := n &^ 7
	if v > 0 {
		axpy8(alpha, &x[0], &y[0], v)
	}
	for i := v; i < n; i++ {
		y[i] += alpha * x[i]
	}
}

func sumAVX2(x []float32) float32 {
	n := len(x)
	v := n &^ 7
	var s float32
	if v > 0 {
		s = sum8(&x[0], v)
	}
	for _, e := range x[v:] {
		s += e
	}
	return s
}

func sumSqDevAVX2(x []float32, mean float32) float32 {
	n := len(x)
	v := n &^ 7
	var s float32
	if v > 0 {
		s = sumSqDev8(&x[0], v, mean)
	}
	for _, e := range x[v:] {
		d := e - mean
		s += d * d
	}
	return s
}

func normAffineAVX2(dst, src, w, b []float32, mean, inv float32) {
	n := len(dst)
	src, w, b = src[:n], w[:n], b[:n]
	v := n &^ 7
	if v > 0 {
		normAffine8(&dst[0], &src[0], &w[0], &b[0], v, mean, inv)
	}
	normAffineGo(dst[v:], src[v:], w[v:], b[v:], mean, inv)
}

func expSubAVX2(x []float32, m float32) float32 {
	n := len(x)
	v := n &^ 7
	var s float32
	if v > 0 {
		s = expSub8(&x[0], v, m)
	}
	return s + expSubGo(x[v:], m)
}

func scaleAVX2(x []float32, s float32) {
	n := len(x)
	v := n &^ 7
	if v > 0 {
		scale8(&x[0], v, s)
	}
	scaleGo(x[v:], s)
}

func maxAVX2(x []float32) float32 {
	n := len(x)
	v := n &^ 7
	if v == 0 {
		return maxGo(x)
	}
	m := max8(&x[0], v)
	for _, e := range x[v:] {
		if e > m {
			m = e
		}
	}
	return m
}
