// Package tensor holds the numeric kernels of goclip: a fixed worker pool,
// a packed, multi-threaded matrix multiply for nn.Linear-style weights with
// fused epilogues, and the row-wise operations a transformer needs
// (LayerNorm, softmax, activations, dot products).
//
// Weights are packed once, at load time, into the layout the micro-kernels
// read; activations stay plain row-major float32 slices.
package tensor
