//go:build amd64 && !purego

package jpeg

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 routines (colour conversion, upsampling, the
// IDCT), each of which gives its Go form's bytes.
var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func yccRowAVX2(out, y, cb, cr *uint8, groups int)

// yccRowSIMD converts the first pixels of a row to packed RGB as yccRow
// does with 3 bytes per pixel, 8 at a time while out has room for a
// group's spare bytes, and returns how many it did: 0 where the CPU lacks
// AVX2.
func yccRowSIMD(out, yr, cb, cr []uint8) int {
	n := min(len(yr), len(cb), len(cr), len(out)/3)
	groups := min(n/8, (len(out)-4)/24)
	if !hasAVX2 || groups <= 0 {
		return 0
	}
	yccRowAVX2(&out[0], &yr[0], &cb[0], &cr[0], groups)
	return 8 * groups
}

//go:noescape
func h2FancyAVX2(out, in0, in1 *uint8, groups int, even, odd int16)

// h2FancySIMD computes the output samples of h2FancyGo for the input samples
// i in [1, 1+k), 16 at a time, and returns k: 0 where the CPU lacks AVX2.
func h2FancySIMD(out, in0, in1 []uint8, even, odd int32) int {
	n := min(len(in0), len(in1), len(out)/2)
	groups := (n - 2) / 16
	if !hasAVX2 || groups <= 0 {
		return 0
	}
	h2FancyAVX2(&out[0], &in0[0], &in1[0], groups, int16(even), int16(odd))
	return 16 * groups
}
