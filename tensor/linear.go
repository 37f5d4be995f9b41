package tensor

import (
	"fmt"
	"math"
)

// Activation is the element-wise function a Linear epilogue applies.
type Activation int

const (
	// Identity applies no activation.
	Identity Activation = iota
	// QuickGELU is x·σ(1.702x), the activation of OpenAI's CLIP.
	QuickGELU
	// GELU is the exact (erf) GELU used by some OpenCLIP/LAION models.
	GELU
)

// Matrix is a weight matrix of nn.Linear shape [Out][In], packed for Linear.
//
// The packed layout cuts the output rows into panels of nr (the last one
// zero-padded) and the depth In into blocks of kc. Block by block, each
// panel stores its kk×nr values k-major, so the micro-kernel reads one
// contiguous row of the panel per step of its dot products, and the
// panels that one K block sweeps are one sequential stream. Several
// nn.Linear weights with the same In (for example the q, k and v
// projections) can be packed as one Matrix by concatenating their rows,
// which lets one Linear call compute all of them.
//
// A Matrix does not change once packed, and is safe for concurrent use.
type Matrix struct {
	out, in int
	lay     layout    // panel width and K block depth
	panels  int       // ⌈out/nr⌉
	p       []float32 // per K block: [panels][kk][nr]
	q       *qmat     // the int8 form instead of p (see PackInt8)
}

// Pack copies w (row-major [out][in], as PyTorch stores nn.Linear weights)
// into the layout the kernels of this CPU read (see KernelName).
func Pack(w []float32, out, in int) (*Matrix, error) {
	return pack(w, out, in, defaultKernels().lay)
}

// pack is Pack for a given layout.
func pack(w []float32, out, in int, lay layout) (*Matrix, error) {
	if out < 0 || in < 0 || len(w) != out*in {
		return nil, fmt.Errorf("tensor: pack %dx%d matrix from %d values", out, in, len(w))
	}
	nr, kc := lay.nr, lay.kc
	panels := (out + nr - 1) / nr
	m := &Matrix{out: out, in: in, lay: lay, panels: panels, p: make([]float32, panels*in*nr)}
	for pc := 0; pc < in; pc += kc {
		kk := min(kc, in-pc)
		blk := m.p[pc*panels*nr : (pc+kk)*panels*nr]
		for o := 0; o < out; o++ {
			row := w[o*in+pc : o*in+pc+kk]
			dst := blk[(o/nr)*kk*nr+o%nr:]
			// An exponent of all ones (Inf, NaN) carries into bit 31 when
			// one more is added to it: special collects those carries.
			var special uint32
			for k, v := range row {
				dst[k*nr] = v
				special |= math.Float32bits(v)&0x7f800000 + 0x00800000
			}
			if special&0x80000000 != 0 {
				for k, v := range row {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						return nil, fmt.Errorf("tensor: pack: weight [%d][%d] is %v", o, pc+k, v)
					}
				}
			}
		}
	}
	return m, nil
}

// Epilogue is what Linear does to each output after the product.
type Epilogue struct {
	Bias       []float32  // added per output column when non-nil (len Out)
	Act        Activation // applied after the bias
	Accumulate bool       // add the result to y (a residual connection) instead of overwriting it
}

// Linear computes y[m][Out] = act(x[m][In]·Wᵀ + bias), or adds it to y when
// ep.Accumulate is set. x and y are row-major and must not overlap; x must
// hold at least m·In values, y m·Out and a non-nil ep.Bias Out.
//
// The product is blocked BLIS-style: rows of x are packed into mr-row strips
// per block of up to a few hundred rows (the layout's mc), and the work is split into (row block,
// group of weight panels) tasks that the pool's workers take in turn, so
// both a single image (m = 50, split over columns) and a batch (split over
// rows and columns) keep every worker busy. Each task accumulates its tile
// in a per-worker buffer and applies the epilogue while it is in cache.
func (p *Pool) Linear(y, x []float32, m int, w *Matrix, ep Epilogue) {
	n, k := w.out, w.in
	if m <= 0 || n == 0 {
		return
	}
	if k > 0 {
		_ = x[m*k-1]
	}
	_ = y[m*n-1]
	if ep.Bias != nil {
		_ = ep.Bias[n-1]
	}
	if w.q != nil {
		p.linearInt8(y, x, m, w, ep)
		return
	}
	j := newGemmJob(p, y, x, m, w, ep)
	workers := min(p.Workers(), j.ntasks)
	p.parallel(workers, 1, j)
	j.release()
}
