package tensor

import (
	"fmt"
	"math"

	"github.com/goclip/goclip/checkpoint"
)

// tileGo is the portable micro-kernel for any layout: the panel width nr is
// len(b)/k, and the mr×nr block is computed as 2×4 sub-blocks whose eight
// accumulators stay in registers.
func tileGo(k int, a, b, c []float32, ldc, rows int, add bool) {
	nr := len(b) / k
	a = a[:k*mr]
	b = b[:k*nr]
	for i0 := 0; i0 < rows; i0 += 2 {
		for j0 := 0; j0 < nr; j0 += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for p := 0; p < k; p++ {
				ap := a[p*mr+i0 : p*mr+i0+2 : p*mr+i0+2]
				bp := b[p*nr+j0 : p*nr+j0+4 : p*nr+j0+4]
				a0, a1 := ap[0], ap[1]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
			}
			storeGo(c[i0*ldc+j0:i0*ldc+j0+4:i0*ldc+j0+4], c00, c01, c02, c03, add)
			if i0+1 < rows {
				storeGo(c[(i0+1)*ldc+j0:(i0+1)*ldc+j0+4:(i0+1)*ldc+j0+4], c10, c11, c12, c13, add)
			}
		}
	}
}

// storeGo writes (or adds) four accumulators to c[0:4].
func storeGo(c []float32, v0, v1, v2, v3 float32, add bool) {
	c = c[:4]
	if add {
		c[0] += v0
		c[1] += v1
		c[2] += v2
		c[3] += v3
		return
	}
	c[0], c[1], c[2], c[3] = v0, v1, v2, v3
}

// tileStridedGo is the portable tileStrided.
func tileStridedGo(k int, a []float32, lda int, b, c []float32, ldc int, add bool) {
	const snr = snrGo
	b = b[:k*snr]
	for i := 0; i < smr; i++ {
		ai := a[i*lda : i*lda+k]
		var acc [snr]float32
		for p, av := range ai {
			bp := b[p*snr : p*snr+snr : p*snr+snr]
			for j, bv := range bp {
				acc[j] += av * bv
			}
		}
		ci := c[i*ldc : i*ldc+snr]
		for j, v := range acc {
			if add {
				ci[j] += v
			} else {
				ci[j] = v
			}
		}
	}
}

// epilogueGo is the portable epilogue (see kernels.epilogue).
func epilogueGo(dst, src, bias []float32, act Activation, acc bool) {
	src = src[:len(dst)]
	if bias != nil {
		bias = bias[:len(dst)]
	}
	for j := range dst {
		v := src[j]
		if bias != nil {
			v += bias[j]
		}
		v = activate(act, v)
		if acc {
			dst[j] += v
		} else {
			dst[j] = v
		}
	}
}

// activate applies a to one value, in float64 for accuracy.
func activate(a Activation, v float32) float32 {
	switch a {
	case Identity:
		return v
	case QuickGELU:
		return float32(float64(v) / (1 + math.Exp(-1.702*float64(v))))
	case GELU:
		return float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
	panic(fmt.Sprintf("tensor: epilogue: unknown activation %d", a))
}

func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func sumGo(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sumSqDevGo(x []float32, mean float32) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(x); i += 2 {
		d0, d1 := x[i]-mean, x[i+1]-mean
		s0 += d0 * d0
		s1 += d1 * d1
	}
	for ; i < len(x); i++ {
		d := x[i] - mean
		s0 += d * d
	}
	return s0 + s1
}

func normAffineGo(dst, src, w, b []float32, mean, inv float32) {
	src = src[:len(dst)]
	w = w[:len(dst)]
	b = b[:len(dst)]
	for i, v := range src {
		dst[i] = (v-mean)*inv*w[i] + b[i]
	}
}

func expSubGo(x []float32, m float32) float32 {
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		s += e
	}
	return s
}

func scaleGo(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// tileI8Go is the portable int8 micro-kernel (see kernels.tileI8) for any
// panel width nr = len(b)/(4·k4) (even): it computes the whole 4-row strip
// (rows past rows are zero padding, and c holds them) two columns at a
// time, in eight int32 accumulators.
func tileI8Go(k4 int, a []uint8, b []int8, c []int32, ldc, rows int, add bool) {
	nr := len(b) / (4 * k4)
	a = a[:k4*mr*4]
	for j := 0; j < nr; j += 2 {
		var c00, c01, c10, c11, c20, c21, c30, c31 int32
		for g := 0; g < k4; g++ {
			x := a[g*16 : g*16+16 : g*16+16]
			w := b[g*nr*4+j*4 : g*nr*4+j*4+8 : g*nr*4+j*4+8]
			w0, w1, w2, w3 := int32(w[0]), int32(w[1]), int32(w[2]), int32(w[3])
			w4, w5, w6, w7 := int32(w[4]), int32(w[5]), int32(w[6]), int32(w[7])
			x0, x1, x2, x3 := int32(x[0]), int32(x[1]), int32(x[2]), int32(x[3])
			c00 += x0*w0 + x1*w1 + x2*w2 + x3*w3
			c01 += x0*w4 + x1*w5 + x2*w6 + x3*w7
			x0, x1, x2, x3 = int32(x[4]), int32(x[5]), int32(x[6]), int32(x[7])
			c10 += x0*w0 + x1*w1 + x2*w2 + x3*w3
			c11 += x0*w4 + x1*w5 + x2*w6 + x3*w7
			x0, x1, x2, x3 = int32(x[8]), int32(x[9]), int32(x[10]), int32(x[11])
			c20 += x0*w0 + x1*w1 + x2*w2 + x3*w3
			c21 += x0*w4 + x1*w5 + x2*w6 + x3*w7
			x0, x1, x2, x3 = int32(x[12]), int32(x[13]), int32(x[14]), int32(x[15])
			c30 += x0*w0 + x1*w1 + x2*w2 + x3*w3
			c31 += x0*w4 + x1*w5 + x2*w6 + x3*w7
		}
		for i, v := range [mr][2]int32{{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}} {
			if i >= rows {
				break
			}
			ci := c[i*ldc+j : i*ldc+j+2 : i*ldc+j+2]
			if add {
				ci[0] += v[0]
				ci[1] += v[1]
			} else {
				ci[0], ci[1] = v[0], v[1]
			}
		}
	}
}

// dotsF16Go is the portable kernels.dotsF16: each row in 8 float32 lanes
// (as the vector kernels sum), then across them.
func dotsF16Go(q []float32, v []uint16, out []float32) {
	dim := len(q)
	for i := range out {
		row := v[i*dim : (i+1)*dim]
		var lanes [8]float32
		j := 0
		for ; j+8 <= dim; j += 8 {
			for l := range 8 {
				lanes[l] += q[j+l] * checkpoint.F16ToF32(row[j+l])
			}
		}
		for ; j < dim; j++ {
			lanes[0] += q[j] * checkpoint.F16ToF32(row[j])
		}
		var s float32
		for _, x := range lanes {
			s += x
		}
		out[i] = s
	}
}
