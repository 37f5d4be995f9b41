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
