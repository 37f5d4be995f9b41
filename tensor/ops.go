package tensor

import "math"

// Dot returns Σ a[i]·b[i] over len(a) elements.
func Dot(a, b []float32) float32 { return bestKernels.dot(a, b) }

// DotsF16 sets out[i] to the dot product of q with row i of v, whose rows
// are len(q) IEEE binary16 values (their bits): the scan of a search over
// float16 vectors. Each row is summed in 8 float32 lanes, then across them.
func DotsF16(q []float32, v []uint16, out []float32) { bestKernels.dotsF16(q, v, out) }

// Axpy computes y[i] += alpha·x[i] over len(x) elements.
func Axpy(alpha float32, x, y []float32) { bestKernels.axpy(alpha, x, y) }

// LayerNorm normalises each of the rows of src (row length d) to zero mean
// and unit variance (biased variance, eps inside the square root, as
// torch.nn.LayerNorm), then scales by w and shifts by b, writing dst.
// dst and src may be the same slice.
//
// Sums are float32 but blocked (many independent vector lanes, each adding
// only d/32 values), and the variance is taken around the mean in a second
// pass, so the result stays within a few float32 ulps of a float64
// computation for the magnitudes a transformer produces.
func LayerNorm(dst, src []float32, rows, d int, w, b []float32, eps float32) {
	layerNorm(bestKernels, dst, src, rows, d, w, b, eps)
}

func layerNorm(kn *kernels, dst, src []float32, rows, d int, w, b []float32, eps float32) {
	if rows <= 0 || d <= 0 {
		return
	}
	w, b = w[:d], b[:d]
	for r := 0; r < rows; r++ {
		s := src[r*d : (r+1)*d]
		o := dst[r*d : (r+1)*d]
		mean := kn.sum(s) / float32(d)
		vs := kn.sumSqDev(s, mean)
		inv := float32(1 / math.Sqrt(float64(vs)/float64(d)+float64(eps)))
		kn.normAffine(o, s, w, b, mean, inv)
	}
}

// Softmax replaces x by exp(x-max)/Σexp(x-max).
func Softmax(x []float32) { softmax(bestKernels, x) }

func softmax(kn *kernels, x []float32) {
	if len(x) == 0 {
		return
	}
	m := kn.max(x)
	s := kn.expSub(x, m)
	kn.scale(x, 1/s)
}
