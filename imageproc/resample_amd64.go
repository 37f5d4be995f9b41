//go:build amd64 && !purego

package imageproc

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 vertical resampling pass, which gives the
// portable pass's bytes exactly.
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
