package tensor

import "math"

// Dot returns Σ a[i]·b[i] over len(a) elements.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// Axpy computes y[i] += alpha·x[i] over len(x) elements.
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// LayerNorm normalises each of the rows of src (row length d) to zero mean
// and unit variance (biased variance, eps inside the square root, as
// torch.nn.LayerNorm), then scales by w and shifts by b, writing dst.
// dst and src may be the same slice.
func LayerNorm(dst, src []float32, rows, d int, w, b []float32, eps float32) {
	for r := 0; r < rows; r++ {
		s := src[r*d : (r+1)*d]
		o := dst[r*d : (r+1)*d]
		var mean float64
		for _, v := range s {
			mean += float64(v)
		}
		mean /= float64(d)
		var vs float64
		for _, v := range s {
			t := float64(v) - mean
			vs += t * t
		}
		inv := 1 / math.Sqrt(vs/float64(d)+float64(eps))
		for i, v := range s {
			o[i] = float32((float64(v)-mean)*inv)*w[i] + b[i]
		}
	}
}

// Softmax replaces x by exp(x-max)/Σexp(x-max).
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		x[i] = float32(e)
		s += e
	}
	inv := float32(1 / s)
	for i := range x {
		x[i] *= inv
	}
}
