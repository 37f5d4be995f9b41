//go:build amd64 && !purego

package jpeg

//go:noescape
func idctIslowAVX2(in *[64]int16, q *[64]int32, out *uint8, stride int) bool

// idctSIMD does idctIslow with AVX2 (both passes 8 lanes wide, in int32)
// and reports whether it did: not where the CPU lacks AVX2, nor for a
// block with an input beyond idctInputMax (then nothing is written).
// out must hold 8 rows of 8 bytes at stride.
func idctSIMD(in *[64]int16, q *[64]int32, out []uint8, stride int) bool {
	if !hasAVX2 {
		return false
	}
	_ = out[7*stride+7]
	return idctIslowAVX2(in, q, &out[0], stride)
}
