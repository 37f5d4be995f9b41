//go:build !amd64 || purego

package tensor

// availableKernels lists the kernel sets this build can run, fastest first:
// only the portable one without assembly.
func availableKernels() []*kernels { return []*kernels{goKernels} }

// tileStrided calls the portable kernel (see kernels_amd64.go).
func tileStrided(_ *kernels, k int, a []float32, lda int, b, c []float32, ldc int, add bool) {
	tileStridedGo(k, a, lda, b, c, ldc, add)
}

// packTransposed calls the portable packing (see kernels_amd64.go).
func packTransposed(_ *kernels, dst, src []float32, ld, cols, kk, snr int) {
	packTransposedGo(dst, src, ld, cols, kk, snr)
}

// int8Variants returns k: only the portable int8 tile exists here.
func int8Variants(k *kernels) []*kernels { return []*kernels{k} }
