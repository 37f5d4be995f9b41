//go:build !amd64 || purego

package tensor

// asmKernels is nil without assembly: tests then only check the portable set.
var asmKernels *kernels

func selectKernels() *kernels { return goKernels }
