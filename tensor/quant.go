package tensor

import (
	"fmt"
	"math"
	"sync/atomic"
)

// Int8 weights: an optional reduced-precision form of Matrix.
//
// PackInt8 rounds each output row of the weights to signed integers of 7
// bits with its own scale (symmetric, ±63). Linear then rounds each row of x to
// unsigned 8-bit integers with its own scale and zero point (asymmetric, so
// the post-GELU and post-LayerNorm ranges use all 256 levels), multiplies
// in exact int32 arithmetic, and converts back:
//
//	y[i][o] = sx[i]·sw[o]·(Σ_k xq[i][k]·wq[o][k] − zx[i]·Σ_k wq[o][k])
//
// before the usual epilogue (bias, activation, residual). The integer
// product is exact whichever kernel computes it, so every kernel gives
// identical results: the VNNI ones (vpdpbusd: four u8×s8 products summed
// into each int32 lane), the portable one, and AVX2's, which sums pairs of
// u8×s8 products into 16 bits with saturation (vpmaddubsw): that is why the
// weights keep 7 bits, since 2·255·63 = 32130 fits in an int16 where
// 2·255·127 would not. On CLIP ViT-B/32 the 8th bit is worth nothing
// measurable (worst centred cosine to float32 over the kit's images 0.99927
// with ±63, 0.99938 with ±127).

// layoutI8 is the packed int8 layout: panels of 48 output columns; per
// K block of 512 inputs (24 KiB a panel), groups of 4 consecutive inputs,
// and per group the 4 weights of each of the 48 columns side by side, which
// is what one vpdpbusd lane reads.
var layoutI8 = layout{nr: 48, kc: 512, mc: 192}

// maxWeightI8 is the largest magnitude of a quantized weight (see above).
const maxWeightI8 = 63

// qmat is the int8 payload of a Matrix packed by PackInt8.
type qmat struct {
	k4     int       // groups of 4 inputs: ⌈In/4⌉ (the padding is zero)
	b      []int8    // per K block: [panels][kk/4][nr][4]
	scale  []float32 // per output column (panels·nr, zero past Out)
	colSum []int32   // Σ_k wq[o][k], per output column
}

// PackInt8 quantizes w (row-major [out][in]) to 7-bit integers in int8,
// one scale per output row, and packs it for Linear, which then computes in 8-bit integers. The
// rounding costs accuracy (on CLIP ViT-B/32, embeddings keep a centred
// cosine of about 0.999 to float32; see clip.Int8); the result takes a
// quarter of the memory of Pack's. Weights must be finite.
func PackInt8(w []float32, out, in int) (*Matrix, error) {
	return packInt8(w, out, in, defaultKernels().layI8)
}

// packInt8 is PackInt8 for a given layout (kc a multiple of 4).
func packInt8(w []float32, out, in int, lay layout) (*Matrix, error) {
	if out < 0 || in < 0 || len(w) != out*in {
		return nil, fmt.Errorf("tensor: pack %dx%d int8 matrix from %d values", out, in, len(w))
	}
	nr, kc := lay.nr, lay.kc
	panels := (out + nr - 1) / nr
	k4 := (in + 3) / 4
	q := &qmat{
		k4:     k4,
		b:      make([]int8, panels*nr*4*k4),
		scale:  make([]float32, panels*nr),
		colSum: make([]int32, panels*nr),
	}
	row := make([]int8, 4*k4)
	for o := 0; o < out; o++ {
		src := w[o*in : (o+1)*in]
		var amax float64
		for _, v := range src {
			a := math.Abs(float64(v))
			if math.IsNaN(a) || math.IsInf(a, 0) {
				return nil, fmt.Errorf("tensor: pack int8: weight row %d holds %v", o, v)
			}
			amax = max(amax, a)
		}
		s := amax / maxWeightI8
		var inv float64
		if s > 0 {
			inv = 1 / s
		}
		var sum int32
		for k, v := range src {
			r := int8(max(-maxWeightI8, min(maxWeightI8, math.RoundToEven(float64(v)*inv))))
			row[k] = r
			sum += int32(r)
		}
		q.scale[o], q.colSum[o] = float32(s), sum
		// Scatter the row into its panel, K block by K block: its 4 values
		// of each group go side by side, nr·4 bytes apart.
		for pc := 0; pc < 4*k4; pc += kc {
			kk := min(kc, 4*k4-pc)
			dst := q.b[pc*panels*nr+(o/nr)*kk*nr+(o%nr)*4:]
			for g := 0; g < kk/4; g++ {
				copy(dst[g*nr*4:g*nr*4+4], row[pc+4*g:pc+4*g+4])
			}
		}
	}
	return &Matrix{out: out, in: in, lay: lay, panels: panels, q: q}, nil
}

// IsInt8 reports whether m was packed by PackInt8.
func (m *Matrix) IsInt8() bool { return m.q != nil }

// gemmQJob is one int8 Linear call: the counterpart of gemmJob. It runs in
// two phases: the rows of x are quantized and packed once, strips shared
// out among the workers (packer), then the tasks multiply the packed rows
// by the weight panels. (Packed per task instead, as the float32 GEMM
// does, every worker would quantize the same rows again.)
type gemmQJob struct {
	pool    *Pool
	kern    *kernels
	y, x    []float32
	m, n, k int
	w       *Matrix
	ep      Epilogue
	taskGrid
	next atomic.Int64 // (row block, panel) pairs handed out (see taskGrid.claim)

	// The packed, quantized rows of x, row block by row block (block ic
	// at a[ic·mc·4·k4:], see packStrip), and each row's scale and zero
	// point. Kept with the job between calls.
	a      []uint8
	sx     []float32
	zx     []int32
	packer qPacker
}

// qPacker is the first phase of a gemmQJob: run packs strips [lo, hi) of
// all of x's strips (mr rows each).
type qPacker struct{ j *gemmQJob }

func (q *qPacker) run(lo, hi int) {
	j := q.j
	per := j.mc / mr // strips per full row block
	for gs := lo; gs < hi; gs++ {
		j.packStrip(gs/per, gs%per)
	}
}

// gemmQScratch is one participant's buffer: the int32 tile (c).
type gemmQScratch struct {
	c []int32
}

// linearInt8 is Linear for an int8 Matrix.
func (p *Pool) linearInt8(y, x []float32, m int, w *Matrix, ep Epilogue) {
	var j *gemmQJob
	if p != nil {
		j, _ = p.qjobs.Get().(*gemmQJob)
	}
	if j == nil {
		j = new(gemmQJob)
	}
	j.pool, j.kern = p, p.kernels()
	if j.kern.layI8 != w.lay {
		j.kern = goKernels // reads any layout
	}
	j.y, j.x, j.m, j.n, j.k, j.w, j.ep = y, x, m, w.out, w.in, w, ep
	j.next.Store(0)
	j.taskGrid = newTaskGrid(m, w.panels, w.lay, j.kern.rowsI8, p.Workers())

	rows := j.nIC * j.mc
	j.a = grow(j.a, rows*4*w.q.k4)
	j.sx = grow(j.sx, rows)
	j.zx = grow(j.zx, rows)
	j.packer.j = j
	strips := (m + mr - 1) / mr
	p.parallel(strips, 1, &j.packer)
	p.parallel(min(p.Workers(), j.ntasks), 1, j)

	a, sx, zx := j.a, j.sx, j.zx
	*j = gemmQJob{a: a, sx: sx, zx: zx}
	if p != nil {
		p.qjobs.Put(j)
	}
}

// run is one participant of the second phase: it takes tasks until none
// are left.
func (j *gemmQJob) run(_, _ int) {
	s := j.scratch()
	for {
		ic, p0, p1, ok := j.claim(&j.next)
		if !ok {
			break
		}
		j.task(s, ic, p0, p1)
	}
	if j.pool != nil {
		j.pool.qgemm.Put(s)
	}
}

// scratch returns buffers large enough for this job.
func (j *gemmQJob) scratch() *gemmQScratch {
	var s *gemmQScratch
	if j.pool != nil {
		s, _ = j.pool.qgemm.Get().(*gemmQScratch)
	}
	if s == nil {
		s = new(gemmQScratch)
	}
	s.c = grow(s.c, j.mc*j.jcPanels*j.w.lay.nr)
	return s
}

// grow returns s with length n, reallocated when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// block returns the packed rows of row block ic, the number of rows in it
// and its strips.
func (j *gemmQJob) block(ic int) (a []uint8, rows, strips int) {
	rows = min(j.mc, j.m-ic*j.mc)
	strips = (rows + mr - 1) / mr
	size := j.mc * 4 * j.w.q.k4
	return j.a[ic*size : ic*size+strips*mr*4*j.w.q.k4], rows, strips
}

// packStrip quantizes rows [ic·mc + st·mr, +mr) of x to u8 and packs them
// into their row block: per K block, strips of mr rows, each [kk/4][mr][4]
// (the 4 inputs of one group side by side, as vpdpbusd broadcasts them).
// Padding rows and inputs are 0.
//
// Row i gets the scale sx = (hi−lo)/255 of its range [lo, hi] (widened to
// hold 0, so zeros stay exact) and the zero point zx = round(−lo/sx); its
// values become clamp(roundEven(x·(1/sx)) + zx, 0, 255).
func (j *gemmQJob) packStrip(ic, st int) {
	k, k4, kc := j.k, j.w.q.k4, j.w.lay.kc
	kn := j.kern
	a, rows, strips := j.block(ic)
	const stride = mr * 4 // from one group of a row to its next
	for r := st * mr; r < (st+1)*mr; r++ {
		i := r % mr
		if r >= rows || k == 0 { // a padding row
			for pc := 0; pc < 4*k4; pc += kc {
				kk := min(kc, 4*k4-pc)
				base := pc*strips*mr + st*mr*kk + i*4
				for g := 0; g < kk/4; g++ {
					clear(a[base+g*stride : base+g*stride+4])
				}
			}
			continue
		}
		row := ic*j.mc + r
		src := j.x[row*k : (row+1)*k]
		lo, hi := kn.minMax(src)
		lo, hi = min(lo, 0), max(hi, 0)
		scale := (float64(hi) - float64(lo)) / 255
		var inv float32
		z := int32(0)
		if scale > 0 && !math.IsInf(scale, 0) {
			inv64 := 1 / scale
			inv, z = float32(inv64), int32(math.RoundToEven(-float64(lo)*inv64))
		}
		j.sx[row], j.zx[row] = float32(scale), z
		for pc := 0; pc < k; pc += kc {
			kk := min(kc, 4*k4-pc)
			base := pc*strips*mr + st*mr*kk + i*4
			kn.quantRow(a[base:base+(kk/4-1)*stride+4], src[pc:min(pc+kc, k)], inv, z, stride)
		}
	}
}

// task computes the int32 tile of row block ic and panels [p0, p1), then
// dequantizes it row by row and applies the epilogue into y.
func (j *gemmQJob) task(s *gemmQScratch, ic, p0, p1 int) {
	g := &j.taskGrid
	q := j.w.q
	nr, kc := j.w.lay.nr, j.w.lay.kc
	k := 4 * q.k4
	r0 := ic * g.mc
	packed, rows, strips := j.block(ic)
	ldc := (p1 - p0) * nr
	c := s.c[:strips*mr*ldc]
	if k == 0 {
		clear(c)
	}
	n := j.n
	col0 := p0 * nr
	cols := min(ldc, n-col0)
	var bias []float32
	if j.ep.Bias != nil {
		bias = j.ep.Bias[col0 : col0+cols]
	}
	sw, cs := q.scale[col0:col0+cols], q.colSum[col0:col0+cols]
	tileEp := j.kern.tileI8Ep
	fused := newFusedPart(tileEp != nil, j.ep, k, rows, cols, j.kern.rowsI8, nr)
	tile, step := j.kern.tileI8, j.kern.rowsI8/mr
	tilePF := j.kern.tileI8PF
	for pc := 0; pc < k; pc += kc {
		kk := min(kc, k-pc)
		last := pc+kc >= k
		blk := packed[pc*strips*mr : (pc+kk)*strips*mr]
		for jp := p0; jp < p1; jp++ {
			b := q.b[pc*j.w.panels*nr+jp*kk*nr : pc*j.w.panels*nr+(jp+1)*kk*nr]
			next := nextPanel(q.b, pc, jp, p0, p1, j.w.panels, nr, kc, k)
			col := (jp - p0) * nr
			for st, call := 0, 0; st < strips; st, call = st+step, call+1 {
				st1 := min(st+step, strips)
				h := min(step*mr, rows-st*mr)
				ta, tc := blk[st*mr*kk:st1*mr*kk], c[st*mr*ldc+col:]
				// A step of the tile reads 4 bytes of each of nr columns: one line of next a step.
				var pf *int8
				if off := call * (kk / 4) * 64; tilePF != nil && off < len(next) {
					pf = &next[off]
				}
				switch {
				case last && st*mr+h <= fused.rows && col < fused.cols:
					if pf == nil {
						pf = &b[0] // prefetches only what the tile reads
					}
					i := r0 + st*mr
					tileEp(kk/4, ta, b, tc, ldc, pc > 0, pf, j.y[i*n+col0+col:], n, tail(bias, col), j.ep.Accumulate,
						cs[col:], sw[col:], j.zx[i:], j.sx[i:])
				case pf != nil:
					tilePF(kk/4, ta, b, tc, ldc, h, pc > 0, pf)
				default:
					tile(kk/4, ta, b, tc, ldc, h, pc > 0)
				}
			}
		}
	}

	for r := 0; r < rows; r++ {
		from := fused.from(r)
		if from == cols {
			continue
		}
		i := r0 + r
		j.kern.epilogueI8(j.y[i*n+col0+from:i*n+col0+cols], c[r*ldc+from:r*ldc+cols], cs[from:], sw[from:], j.zx[i], j.sx[i], tail(bias, from), j.ep.Act, j.ep.Accumulate)
	}
}

// minMaxGo returns the smallest and the largest value of x (len ≥ 1).
func minMaxGo(x []float32) (lo, hi float32) {
	lo, hi = x[0], x[0]
	for _, v := range x[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// quantRowGo quantizes src as quantValue does, value by value, and writes
// it in groups of 4 bytes: group g (values 4g..4g+3) at dst[g·stride:]; a
// last partial group is padded with zeros. This is how packStrip lays a
// row into its strip, so the row needs no second pass to be scattered.
func quantRowGo(dst []uint8, src []float32, inv float32, z int32, stride int) {
	for g := 0; 4*g < len(src); g++ {
		for i := range 4 {
			var q uint8
			if k := 4*g + i; k < len(src) {
				q = quantValue(src[k], inv, z)
			}
			dst[g*stride+i] = q
		}
	}
}

// quantValue is clamp(roundEven(v·inv) + z, 0, 255), the product in
// float32 (NaN gives 0), as quantRow8 and quantRow16 compute it.
func quantValue(v, inv float32, z int32) uint8 {
	q := math.RoundToEven(float64(v*inv)) + float64(z)
	switch {
	case q >= 255:
		return 255
	case q > 0:
		return uint8(q)
	default:
		return 0
	}
}

// dequantGo sets dst[i] = float32(c[i] − zx·cs[i]) · (sx·sw[i]).
func dequantGo(dst []float32, c, cs []int32, sw []float32, zx int32, sx float32) {
	c, cs, sw = c[:len(dst)], cs[:len(dst)], sw[:len(dst)]
	for i := range dst {
		dst[i] = float32(c[i]-zx*cs[i]) * (sx * sw[i])
	}
}

// epilogueI8Go is dequantGo then epilogueGo, 64 values at a time.
func epilogueI8Go(dst []float32, c, cs []int32, sw []float32, zx int32, sx float32, bias []float32, act Activation, acc bool) {
	var f [64]float32
	for lo := 0; lo < len(dst); lo += len(f) {
		hi := min(lo+len(f), len(dst))
		dequantGo(f[:hi-lo], c[lo:hi], cs[lo:hi], sw[lo:hi], zx, sx)
		var b []float32
		if bias != nil {
			b = bias[lo:hi]
		}
		epilogueGo(dst[lo:hi], f[:hi-lo], b, act, acc)
	}
}
