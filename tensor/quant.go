package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
)

// Int8 weights: an optional reduced-precision form of Matrix.
//
// PackInt8 rounds each output row of the weights to signed 8-bit integers
// with its own scale (symmetric, ±127). Linear then rounds each row of x to
// unsigned 8-bit integers with its own scale and zero point (asymmetric, so
// the post-GELU and post-LayerNorm ranges use all 256 levels), multiplies
// in exact int32 arithmetic, and converts back:
//
//	y[i][o] = sx[i]·sw[o]·(Σ_k xq[i][k]·wq[o][k] − zx[i]·Σ_k wq[o][k])
//
// before the usual epilogue (bias, activation, residual). The integer
// product is exact whichever kernel computes it, so the AVX-512 VNNI kernel
// (vpdpbusd: four u8×s8 products summed into each int32 lane) and the
// portable one give identical results.

// layoutI8 is the packed int8 layout: panels of 48 output columns; per
// K block of 512 inputs (24 KiB a panel), groups of 4 consecutive inputs,
// and per group the 4 weights of each of the 48 columns side by side, which
// is what one vpdpbusd lane reads.
var layoutI8 = layout{nr: 48, kc: 512, mc: 192}

// qmat is the int8 payload of a Matrix packed by PackInt8.
type qmat struct {
	k4     int       // groups of 4 inputs: ⌈In/4⌉ (the padding is zero)
	b      []int8    // per K block: [panels][kk/4][nr][4]
	scale  []float32 // per output column (panels·nr, zero past Out)
	colSum []int32   // Σ_k wq[o][k], per output column
}

// PackInt8 quantizes w (row-major [out][in]) to int8, one scale per output
// row, and packs it for Linear, which then computes in 8-bit integers. The
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
		s := amax / 127
		var inv float64
		if s > 0 {
			inv = 1 / s
		}
		var sum int32
		for k, v := range src {
			r := int8(max(-127, min(127, math.RoundToEven(float64(v)*inv))))
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

// gemmQJob is one int8 Linear call: the counterpart of gemmJob, with the
// rows of x quantized while they are packed.
type gemmQJob struct {
	pool    *Pool
	kern    *kernels
	y, x    []float32
	m, n, k int
	w       *Matrix
	ep      Epilogue
	taskGrid
	next atomic.Int64
}

// gemmQScratch is one participant's buffers: the packed, quantized row
// block (a), its per-row scales and zero points, one quantized row before
// packing (q), the int32 tile (c) and one dequantized output row (f).
type gemmQScratch struct {
	a  []uint8
	q  []uint8
	sx []float32
	zx []int32
	c  []int32
	f  []float32
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
	p.parallel(min(p.Workers(), j.ntasks), 1, j)
	*j = gemmQJob{}
	if p != nil {
		p.qjobs.Put(j)
	}
}

// run is one participant (see gemmJob.run).
func (j *gemmQJob) run(_, _ int) {
	s := j.scratch()
	lastIC := -1
	for {
		t := int(j.next.Add(1)) - 1
		if t >= j.ntasks {
			break
		}
		ic, jc := t/j.nJC, t%j.nJC
		if ic != lastIC {
			j.packA(s, ic)
			lastIC = ic
		}
		j.task(s, ic, jc)
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
	cols := j.jcPanels * j.w.lay.nr
	s.a = grow(s.a, j.mc*4*j.w.q.k4*j.aWidth())
	s.q = grow(s.q, 4*j.w.q.k4)
	s.sx = grow(s.sx, j.mc)
	s.zx = grow(s.zx, j.mc)
	s.c = grow(s.c, j.mc*cols)
	s.f = grow(s.f, cols)
	return s
}

// grow returns s with length n, reallocated when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// aWidth is the bytes of one packed activation: 2 for kernels that read
// them widened to 16 bits (wideA), else 1.
func (j *gemmQJob) aWidth() int {
	if j.kern.wideA {
		return 2
	}
	return 1
}

// packA quantizes rows [ic·mc, +mc) of x to u8 and packs them: per K block,
// strips of mr rows, each [kk/4][mr][4] (the 4 inputs of one group side by
// side, as vpdpbusd broadcasts them), each value a byte or, for a wideA
// kernel, a 16-bit little-endian word. Padding rows and inputs are 0.
//
// Row i gets the scale sx = (hi−lo)/255 of its range [lo, hi] (widened to
// hold 0, so zeros stay exact) and the zero point zx = round(−lo/sx); its
// values become clamp(roundEven(x·(1/sx)) + zx, 0, 255).
func (j *gemmQJob) packA(s *gemmQScratch, ic int) {
	k, k4, kc := j.k, j.w.q.k4, j.w.lay.kc
	kn := j.kern
	mc := j.mc
	r0 := ic * mc
	rows := min(mc, j.m-r0)
	strips := (rows + mr - 1) / mr
	w := j.aWidth()
	a := s.a[:strips*mr*4*k4*w]
	q := s.q[:4*k4]
	clear(q)
	for r := 0; r < strips*mr; r++ {
		if r < rows && k > 0 {
			src := j.x[(r0+r)*k : (r0+r+1)*k]
			lo, hi := kn.minMax(src)
			lo, hi = min(lo, 0), max(hi, 0)
			scale := (float64(hi) - float64(lo)) / 255
			var inv float32
			z := int32(0)
			if scale > 0 && !math.IsInf(scale, 0) {
				inv64 := 1 / scale
				inv, z = float32(inv64), int32(math.RoundToEven(-float64(lo)*inv64))
			}
			s.sx[r], s.zx[r] = float32(scale), z
			kn.quantRow(q[:k], src, inv, z)
		} else if r == rows {
			clear(q) // padding rows
		}
		st, i := r/mr, r%mr
		for pc := 0; pc < 4*k4; pc += kc {
			kk := min(kc, 4*k4-pc)
			dst := a[(pc*strips*mr+st*mr*kk)*w : (pc*strips*mr+(st+1)*mr*kk)*w]
			if w == 1 {
				for g := 0; g < kk/4; g++ {
					binary.LittleEndian.PutUint32(dst[g*mr*4+i*4:], binary.LittleEndian.Uint32(q[pc+4*g:]))
				}
				continue
			}
			for g := 0; g < kk/4; g++ {
				v := q[pc+4*g : pc+4*g+4]
				binary.LittleEndian.PutUint64(dst[g*mr*8+i*8:], uint64(v[0])|uint64(v[1])<<16|uint64(v[2])<<32|uint64(v[3])<<48)
			}
		}
	}
}

// task computes the int32 tile of row block ic and panel group jc, then
// dequantizes it row by row and applies the epilogue into y.
func (j *gemmQJob) task(s *gemmQScratch, ic, jc int) {
	g := &j.taskGrid
	q := j.w.q
	nr, kc := j.w.lay.nr, j.w.lay.kc
	k := 4 * q.k4
	r0 := ic * g.mc
	rows := min(g.mc, j.m-r0)
	strips := (rows + mr - 1) / mr
	p0 := jc * g.jcPanels
	p1 := min(p0+g.jcPanels, j.w.panels)
	ldc := (p1 - p0) * nr
	c := s.c[:strips*mr*ldc]
	if k == 0 {
		clear(c)
	}
	tile, step := j.kern.tileI8, j.kern.rowsI8/mr
	w := j.aWidth()
	for pc := 0; pc < k; pc += kc {
		kk := min(kc, k-pc)
		blk := s.a[pc*strips*mr*w : (pc+kk)*strips*mr*w]
		for jp := p0; jp < p1; jp++ {
			b := q.b[pc*j.w.panels*nr+jp*kk*nr : pc*j.w.panels*nr+(jp+1)*kk*nr]
			for st := 0; st < strips; st += step {
				st1 := min(st+step, strips)
				tile(kk/4, blk[st*mr*kk*w:st1*mr*kk*w], b, c[st*mr*ldc+(jp-p0)*nr:], ldc, min(step*mr, rows-st*mr), pc > 0)
			}
		}
	}

	n := j.n
	col0 := p0 * nr
	cols := min(ldc, n-col0)
	var bias []float32
	if j.ep.Bias != nil {
		bias = j.ep.Bias[col0 : col0+cols]
	}
	sw, cs := q.scale[col0:col0+cols], q.colSum[col0:col0+cols]
	f := s.f[:cols]
	for r := 0; r < rows; r++ {
		j.kern.dequant(f, c[r*ldc:r*ldc+cols], cs, sw, s.zx[r], s.sx[r])
		i := r0 + r
		j.kern.epilogue(j.y[i*n+col0:i*n+col0+cols], f, bias, j.ep.Act, j.ep.Accumulate)
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

// quantRowGo sets dst[i] = clamp(roundEven(src[i]·inv) + z, 0, 255), the
// product in float32 (NaN gives 0), as quantRow8 does.
func quantRowGo(dst []uint8, src []float32, inv float32, z int32) {
	dst = dst[:len(src)]
	for i, v := range src {
		q := math.RoundToEven(float64(v*inv)) + float64(z)
		switch {
		case q >= 255:
			dst[i] = 255
		case q > 0:
			dst[i] = uint8(q)
		default:
			dst[i] = 0
		}
	}
}

// dequantGo sets dst[i] = float32(c[i] − zx·cs[i]) · (sx·sw[i]), as
// dequant8 does.
func dequantGo(dst []float32, c, cs []int32, sw []float32, zx int32, sx float32) {
	c, cs, sw = c[:len(dst)], cs[:len(dst)], sw[:len(dst)]
	for i := range dst {
		dst[i] = float32(c[i]-zx*cs[i]) * (sx * sw[i])
	}
}
