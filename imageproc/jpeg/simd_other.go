//go:build !amd64 || purego

package jpeg

// yccRowSIMD does nothing without the amd64 assembly.
func yccRowSIMD(out, yr, cb, cr []uint8) int { return 0 }

// h2FancySIMD does nothing without the amd64 assembly.
func h2FancySIMD(out, in0, in1 []uint8, even, odd int32) int { return 0 }

// idctSIMD does nothing without the amd64 assembly.
func idctSIMD(in *[64]int16, q *[64]int32, out []uint8, stride int) bool { return false }
