//go:build amd64 && !purego

package imageproc

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 resampling passes, which give the portable
// passes' bytes exactly.
var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func verticalRowAVX2(dst, src *uint8, stride int, coeffs *int32, taps, n int)

// verticalRowSIMD computes the first n&^31 bytes of one output row of the
// vertical pass (see verticalPass) and returns how many it did: 0 where the
// CPU lacks AVX2.
func verticalRowSIMD(dst, src []uint8, stride int, coeffs []int32, n int) int {
	v := n &^ 31
	if !hasAVX2 || v == 0 || len(coeffs) == 0 {
		return 0
	}
	_ = dst[v-1]
	_ = src[(len(coeffs)-1)*stride+v-1]
	verticalRowAVX2(&dst[0], &src[0], stride, &coeffs[0], len(coeffs), v)
	return v
}

//go:noescape
func horizontalRowAVX2(dst, src *uint8, offs, coeffs *int32, pairs, n int)

// horizontalPassSIMD is horizontalPass with horizontalRowAVX2, two taps
// of one output pixel a step; it reports false, doing nothing, where the
// CPU lacks AVX2. Per row, the pixels whose reads or 4-byte store would
// leave the buffers (the last of the row; near the end of src.Pix, those
// whose zero-weighted padding taps lie past it) are computed in Go.
//
// Pillow-SIMD instead widens four rows at a time to 16 bits and rounds
// its weights to fit them; the 32-bit weights here keep Pillow's bytes.
func horizontalPassSIMD(out []uint8, src *RGB, rowFirst, rowLast int, kh kernel) bool {
	n := len(kh.start)
	if !hasAVX2 || n == 0 {
		return false
	}
	pairs := (kh.ksize + 3) / 4 * 2 // pairs of taps, an even number of them
	offs := make([]int32, n)
	coeffs := make([]int32, n*pairs*8)
	for i := range n {
		offs[i] = int32(3 * kh.start[i])
		c := coeffs[i*pairs*8 : (i+1)*pairs*8]
		for t, v := range kh.coeffs[i*kh.ksize : i*kh.ksize+kh.taps[i]] {
			q := c[t/2*8+t%2*4 : t/2*8+t%2*4+4]
			q[0], q[1], q[2], q[3] = v, v, v, v
		}
	}
	reach := 6*pairs + 2 // bytes read from a pixel's offset on
	stride := 3 * src.W
	for r := rowFirst; r < rowLast; r++ {
		row := src.Pix[r*stride:]
		o := out[(r-rowFirst)*3*n : (r-rowFirst+1)*3*n]
		m := n - 1
		for m > 0 && int(offs[m-1])+reach > len(row) {
			m--
		}
		if m > 0 {
			horizontalRowAVX2(&o[0], &row[0], &offs[0], &coeffs[0], pairs, m)
		}
		for i := m; i < n; i++ {
			horizontalPixel(o[3*i:], row[3*kh.start[i]:], kh.coeffs[i*kh.ksize:i*kh.ksize+kh.taps[i]])
		}
	}
	return true
}
