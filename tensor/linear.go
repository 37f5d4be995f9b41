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
type Matrix struct {
	Out, In int
	w       []float32 // row-major [Out][In]; the packed layout replaces this
}

// Pack copies w (row-major [out][in], as PyTorch stores nn.Linear weights)
// into the layout Linear reads.
func Pack(w []float32, out, in int) (*Matrix, error) {
	if len(w) != out*in {
		return nil, fmt.Errorf("tensor: pack %dx%d matrix from %d values", out, in, len(w))
	}
	return &Matrix{Out: out, In: in, w: append([]float32(nil), w...)}, nil
}

// Epilogue is what Linear does to each output after the product.
type Epilogue struct {
	Bias       []float32  // added per output column when non-nil (len Out)
	Act        Activation // applied after the bias
	Accumulate bool       // add the result to y (a residual connection) instead of overwriting it
}

// Linear computes y[m][Out] = act(x[m][In]·Wᵀ + bias), or adds it to y when
// ep.Accumulate is set. x and y are row-major and must not overlap.
func (p *Pool) Linear(y, x []float32, m int, w *Matrix, ep Epilogue) {
	n, k := w.Out, w.In
	_ = x[m*k-1]
	_ = y[m*n-1]
	p.Parallel(m, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi := x[i*k : (i+1)*k]
			yi := y[i*n : (i+1)*n]
			for j := 0; j < n; j++ {
				s := Dot(xi, w.w[j*k:(j+1)*k])
				if ep.Bias != nil {
					s += ep.Bias[j]
				}
				s = activate(ep.Act, s)
				if ep.Accumulate {
					yi[j] += s
				} else {
					yi[j] = s
				}
			}
		}
	})
}

func activate(a Activation, v float32) float32 {
	switch a {
	case QuickGELU:
		return v / (1 + float32(math.Exp(float64(-1.702*v))))
	case GELU:
		return float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
	return v
}
