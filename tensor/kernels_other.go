//go:build !amd64 || purego

package tensor

// asmKernels is nil without assembly: tests then only check the portable set.
var asmKernels *kernels

func selectKernels() *kernels { return goKernels }

// tileStrided calls the portable kernel (see kernels_amd64.go).
func tileStrided(_ *kernels, k int, a []float32, lda int, b, c []float32, ldc int, add bool) {
	tileStridedGo(k, a, lda, b, c, ldc, add)
}
