//go:build !amd64 || purego

package imageproc

// verticalRowSIMD does nothing without the amd64 assembly.
func verticalRowSIMD(dst, src []uint8, stride int, coeffs []int32, n int) int { return 0 }
