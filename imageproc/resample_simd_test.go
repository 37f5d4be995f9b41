package imageproc

import (
	"math/rand/v2"
	"testing"
)

// verticalRowSIMD gives the portable vertical pass's bytes, including sums
// that clamp at 0 and 255, for every row length and number of taps.
func TestVerticalRowSIMD(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const half = 1 << (precisionBits - 1)
	for _, n := range []int{31, 32, 33, 64, 95, 672} {
		for _, taps := range []int{1, 2, 5, 11} {
			stride := n + r.IntN(8)
			src := make([]uint8, taps*stride)
			for i := range src {
				src[i] = uint8(r.IntN(256))
			}
			coeffs := make([]int32, taps)
			for i := range coeffs {
				coeffs[i] = int32(r.IntN(3<<precisionBits) - 1<<precisionBits) // sums beyond both ends
			}
			got := make([]uint8, n)
			v := verticalRowSIMD(got, src, stride, coeffs, n)
			if v != 0 && v != n&^31 {
				t.Fatalf("n=%d: did %d bytes", n, v)
			}
			for i := 0; i < v; i++ {
				acc := int32(half)
				for k, c := range coeffs {
					acc += int32(src[k*stride+i]) * c
				}
				if want := clip8(acc); got[i] != want {
					t.Fatalf("n=%d taps=%d: byte %d is %d, want %d", n, taps, i, got[i], want)
				}
			}
		}
	}
}

// horizontalPassSIMD gives the portable horizontal pass's bytes for every
// filter, shrinking and enlarging, on windows that reach the image's right
// edge and its last row (where the padding taps of the SIMD pass would
// read past the pixels), and with weights whose sums clamp at both ends.
func TestHorizontalPassSIMD(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	filters := []Filter{Bilinear, Bicubic, Lanczos, Box, Hamming}
	for trial := range 200 {
		w, h := 1+r.IntN(300), 1+r.IntN(6)
		if trial%4 == 0 {
			w = 1 + r.IntN(8)
		}
		src := NewRGB(w, h)
		for i := range src.Pix {
			src.Pix[i] = uint8(r.IntN(256))
			if trial%3 == 0 { // extremes, which overshooting filters push past 0 and 255
				src.Pix[i] = uint8(r.IntN(2) * 255)
			}
		}
		outW := 1 + r.IntN(2*w+4)
		spec, err := filters[trial%len(filters)].spec()
		if err != nil {
			t.Fatal(err)
		}
		x0 := r.IntN(outW)
		cw := 1 + r.IntN(outW-x0)
		kh := newKernel(w, outW, spec, x0, cw)
		if trial%5 == 0 { // random weights: sums far beyond both ends
			for i := range kh.coeffs {
				kh.coeffs[i] = int32(r.IntN(3<<precisionBits) - 1<<precisionBits)
			}
		}
		rowFirst := r.IntN(h)
		rowLast := rowFirst + 1 + r.IntN(h-rowFirst)
		want := make([]uint8, (rowLast-rowFirst)*3*cw)
		buf := make([]uint8, len(want)+8) // a guard after the output
		for i := range buf {
			buf[i] = 0xa5
		}
		got := buf[:len(want)]
		horizontalPassGo(want, src, rowFirst, rowLast, kh)
		if !horizontalPassSIMD(got, src, rowFirst, rowLast, kh) {
			t.Skip("no SIMD horizontal pass on this CPU")
		}
		for i, v := range buf[len(want):] {
			if v != 0xa5 {
				t.Fatalf("trial %d: byte %d past the output written", trial, i)
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("trial %d (%dx%d -> %d, %v, window %d+%d, rows %d-%d): byte %d is %d, want %d",
					trial, w, h, outW, filters[trial%len(filters)], x0, cw, rowFirst, rowLast, i, got[i], want[i])
			}
		}
	}
}
