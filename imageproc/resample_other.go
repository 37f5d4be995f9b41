//go:build !amd64 || purego

package imageproc

// verticalRowSIMD does nothing without the amd64 assembly.
func verticalRowSIMD(dst, src []uint8, stride int, coeffs []int32, n int) int { return 0 }

// horizontalPassSIMD does nothing without the amd64 assembly.
func horizontalPassSIMD(out []uint8, src *RGB, rowFirst, rowLast int, kh kernel) bool { return false }
