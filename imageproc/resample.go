package imageproc

import (
	"fmt"
	"math"
)

// precisionBits is the number of fractional bits of the fixed-point weights,
// Pillow's PRECISION_BITS: 32 bits minus 8 for the pixel value minus 2 bits of
// headroom for kernels with negative lobes.
const precisionBits = 32 - 8 - 2

// kernel holds the fixed-point weights of one resampling pass for a run of
// consecutive output positions.
type kernel struct {
	ksize  int     // stride of coeffs: the largest possible number of taps
	start  []int   // first source index of each output position
	taps   []int   // number of source pixels each output position reads
	coeffs []int32 // weights, ksize per output position
}

// newKernel computes the weights that map inSize source pixels onto outSize
// output pixels, for output positions first..first+count-1 only. It follows
// Pillow's precompute_coeffs and normalize_coeffs_8bpc: the filter is
// stretched by the scale when shrinking (antialiasing), each output's weights
// are normalised to sum to 1 in float64, then rounded half away from zero to
// precisionBits fixed point.
func newKernel(inSize, outSize int, f filterSpec, first, count int) kernel {
	// Pillow receives the box (0, 0, w, h) as C floats, so the input extent
	// passes through float32 before the division.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := f.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	invScale := 1 / filterscale

	k := kernel{
		ksize:  ksize,
		start:  make([]int, count),
		taps:   make([]int, count),
		coeffs: make([]int32, count*ksize),
	}
	w := make([]float64, ksize)
	for i := range count {
		center := float64(float64(first+i)+0.5) * scale
		xmin := int(center - support + 0.5) // C's (int) truncates toward zero
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		n := xmax - xmin
		if n > ksize { // cannot happen; keeps the slices below in range
			n = ksize
		}
		sum := 0.0
		for x := range n {
			w[x] = f.fn((float64(x+xmin) - center + 0.5) * invScale)
			sum += w[x]
		}
		if sum != 0 {
			for x := range n {
				w[x] /= sum
			}
		}
		c := k.coeffs[i*ksize : i*ksize+n]
		for x := range c {
			v := float64(w[x] * (1 << precisionBits))
			if w[x] < 0 {
				c[x] = int32(v - 0.5)
			} else {
				c[x] = int32(v + 0.5)
			}
		}
		k.start[i] = xmin
		k.taps[i] = n
	}
	return k
}

// clip8 converts a fixed-point accumulator to a pixel value, as Pillow's
// clip8 does: the accumulator already holds the rounding half, so the shift
// rounds to nearest.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Resize returns src resized to w×h with filter f, bit-identical to Pillow's
// Image.resize((w, h), resample=f) on an RGB image (reducing_gap unset).
func Resize(src *RGB, w, h int, f Filter) (*RGB, error) {
	if err := src.valid(); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("imageproc: cannot resize to %dx%d", w, h)
	}
	spec, err := f.spec()
	if err != nil {
		return nil, err
	}
	dst := NewRGB(w, h)
	resampleWindow(dst.Pix, src, w, h, spec, 0, 0, w, h, nil)
	return dst, nil
}

// resampleWindow writes into dst (3*cw*ch bytes) the window
// [x0, x0+cw) × [y0, y0+ch) of src resized to outW×outH.
//
// Every output pixel of Pillow's separable resampling depends only on its own
// coordinates, so computing a window (the centre crop) gives the same bytes as
// resizing everything and cropping, for less work. Like Pillow, the
// horizontal pass runs first and only on the source rows the vertical pass
// reads, and a pass whose size does not change is skipped. The pass's rows
// come from s (nil: allocated).
func resampleWindow(dst []uint8, src *RGB, outW, outH int, f filterSpec, x0, y0, cw, ch int, s *scratch) {
	if cw <= 0 || ch <= 0 {
		return
	}
	needH := outW != src.W
	needV := outH != src.H

	// Source rows the vertical pass reads.
	var kv kernel
	rowFirst, rowLast := y0, y0+ch
	if needV {
		kv = newKernel(src.H, outH, f, y0, ch)
		rowFirst = kv.start[0]
		rowLast = kv.start[ch-1] + kv.taps[ch-1]
	}

	// tmp holds rows rowFirst..rowLast-1 of the horizontally resampled image,
	// restricted to the window's columns: row r starts at tmp[off+r*stride].
	var (
		tmp         []uint8
		off, stride int
	)
	if needH {
		kh := newKernel(src.W, outW, f, x0, cw)
		stride = 3 * cw
		tmp = s.passRows((rowLast - rowFirst) * stride)
		horizontalPass(tmp, src, rowFirst, rowLast, kh)
		off = -rowFirst * stride
	} else {
		tmp, stride, off = src.Pix, 3*src.W, 3*x0
	}

	rowLen := 3 * cw
	if !needV {
		for y := range ch {
			s := off + (y0+y)*stride
			copy(dst[y*rowLen:(y+1)*rowLen], tmp[s:s+rowLen])
		}
		return
	}
	verticalPass(dst, tmp, off, stride, rowLen, kv)
}

// horizontalPass resamples source rows rowFirst..rowLast-1 along x with kh,
// writing len(kh.start) pixels per row into out: with SIMD where the CPU
// has it (horizontalPassSIMD), else horizontalPassGo, the same bytes.
func horizontalPass(out []uint8, src *RGB, rowFirst, rowLast int, kh kernel) {
	if horizontalPassSIMD(out, src, rowFirst, rowLast, kh) {
		return
	}
	horizontalPassGo(out, src, rowFirst, rowLast, kh)
}

// horizontalPassGo is horizontalPass in portable Go. Each source row is
// first split into planes so that every output value is a dot product of
// two contiguous slices, which Go compiles into a tight loop. Red and green
// share one int64 accumulator as two 32-bit lanes (red + green<<32): the
// lanes cannot disturb each other's value because each lane's sum fits in
// an int32, as it must in Pillow's C code too, so the low 32 bits are
// exactly the red sum and the rest the green sum.
func horizontalPassGo(out []uint8, src *RGB, rowFirst, rowLast int, kh kernel) {
	const half = 1 << (precisionBits - 1)
	srcStride := 3 * src.W
	n := len(kh.start)
	// Only source columns colFirst..colLast-1 are read.
	colFirst, colLast := kh.start[0], kh.start[n-1]+kh.taps[n-1]
	rg := make([]int64, colLast-colFirst)
	bl := make([]int32, colLast-colFirst)
	k64 := make([]int64, len(kh.coeffs))
	for i, c := range kh.coeffs {
		k64[i] = int64(c)
	}
	for r := rowFirst; r < rowLast; r++ {
		in := src.Pix[r*srcStride+3*colFirst : r*srcStride+3*colLast]
		for x := range rg {
			p := in[3*x : 3*x+3 : 3*x+3]
			rg[x] = int64(p[0]) | int64(p[1])<<32
			bl[x] = int32(p[2])
		}
		o := out[(r-rowFirst)*3*n : (r-rowFirst+1)*3*n]
		for xx := range n {
			s, taps := kh.start[xx]-colFirst, kh.taps[xx]
			k := kh.coeffs[xx*kh.ksize : xx*kh.ksize+taps]
			kk := k64[xx*kh.ksize : xx*kh.ksize+taps]
			a := rg[s : s+taps]
			b := bl[s : s+taps]
			a = a[:len(kk)]
			b = b[:len(k)]
			acc := int64(half | half<<32)
			for i, c := range kk {
				acc += a[i] * c
			}
			accB := int32(half)
			for i, c := range k {
				accB += b[i] * c
			}
			red := int32(acc)
			green := int32((acc - int64(red)) >> 32)
			d := o[3*xx : 3*xx+3 : 3*xx+3]
			d[0], d[1], d[2] = clip8(red), clip8(green), clip8(accB)
		}
	}
}

// horizontalPixel computes one output pixel of the horizontal pass into d
// (3 bytes) from the RGB pixels in, weighted by k.
func horizontalPixel(d, in []uint8, k []int32) {
	const half = 1 << (precisionBits - 1)
	r, g, b := int32(half), int32(half), int32(half)
	in = in[:3*len(k)]
	for t, c := range k {
		p := in[3*t : 3*t+3 : 3*t+3]
		r += int32(p[0]) * c
		g += int32(p[1]) * c
		b += int32(p[2]) * c
	}
	d = d[:3]
	d[0], d[1], d[2] = clip8(r), clip8(g), clip8(b)
}

// verticalPass resamples along y: output row j of dst (rowLen bytes) mixes the
// rows kv.start[j].. of src, where row r starts at src[off+r*stride]. Integer
// sums do not depend on the order of their terms, so accumulating whole rows
// at a time gives Pillow's values.
func verticalPass(dst, src []uint8, off, stride, rowLen int, kv kernel) {
	const half = 1 << (precisionBits - 1)
	acc := make([]int32, rowLen)
	for j := range kv.start {
		k := kv.coeffs[j*kv.ksize : j*kv.ksize+kv.taps[j]]
		first := off + kv.start[j]*stride
		d := dst[j*rowLen : (j+1)*rowLen]
		v := verticalRowSIMD(d, src[first:], stride, k, rowLen)
		a := acc[v:]
		for i := range a {
			a[i] = half
		}
		for t, c := range k {
			s := first + t*stride + v
			row := src[s : s+len(a)]
			for i, x := range row {
				a[i] += int32(x) * c
			}
		}
		for i, x := range a {
			d[v+i] = clip8(x)
		}
	}
}
