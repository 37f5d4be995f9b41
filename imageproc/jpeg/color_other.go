//go:build !amd64 || purego

package jpeg

// yccRowSIMD does nothing without the amd64 assembly.
func yccRowSIMD(out, yr, cb, cr []uint8) int { return 0 }
