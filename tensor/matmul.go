package tensor

// kcM is the depth block of MatMulNT/NN: a panel of B, kcM deep and up to
// snrMax wide (8 KiB), lives in a stack buffer, so these functions never
// allocate. Go zeroes the buffers on every call, so they are no larger than
// attention needs: a head of ViT-B/32 (64 wide, 50 positions) is one block.
const kcM = 64

// MatMulNT computes C = A·Bᵀ for row-major A (m×k, row stride lda), B (n×k,
// row stride ldb) and C (m×n, row stride ldc), overwriting C. It runs on the
// calling goroutine; attention uses it for the scores Q·Kᵀ of one head
// (then lda = ldb = the row stride of the fused qkv activations).
func MatMulNT(c, a, b []float32, m, n, k, lda, ldb, ldc int) {
	matMul(bestKernels, c, a, b, m, n, k, lda, ldb, ldc, true)
}

// MatMulNN computes C = A·B for row-major A (m×k, row stride lda), B (k×n,
// row stride ldb) and C (m×n, row stride ldc), overwriting C. It runs on the
// calling goroutine; attention uses it for the weighted sum P·V of one head.
func MatMulNN(c, a, b []float32, m, n, k, lda, ldb, ldc int) {
	matMul(bestKernels, c, a, b, m, n, k, lda, ldb, ldc, false)
}

func matMulNT(kn *kernels, c, a, b []float32, m, n, k, lda, ldb, ldc int) {
	matMul(kn, c, a, b, m, n, k, lda, ldb, ldc, true)
}

func matMulNN(kn *kernels, c, a, b []float32, m, n, k, lda, ldb, ldc int) {
	matMul(kn, c, a, b, m, n, k, lda, ldb, ldc, false)
}

// matMul packs B one panel of kn.snr columns and kcM-deep block at a time
// (from rows of B when nt, else from columns) and runs the strided-A
// micro-kernel down the rows of A. Edge tiles go through small zero-padded
// copies.
func matMul(kn *kernels, c, a, b []float32, m, n, k, lda, ldb, ldc int, nt bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	snr := kn.snr
	var bp [kcM * snrMax]float32
	var ap [smr * kcM]float32
	var ct [smr * snrMax]float32
	for j0 := 0; j0 < n; j0 += snr {
		cols := min(snr, n-j0)
		for k0 := 0; k0 < k; k0 += kcM {
			kk := min(kcM, k-k0)
			pb := bp[:kk*snr]
			if cols < snr {
				clear(pb)
			}
			if nt {
				packTransposed(kn, pb, b[j0*ldb+k0:], ldb, cols, kk, snr)
			} else {
				for p := 0; p < kk; p++ {
					copy(pb[p*snr:p*snr+cols], b[(k0+p)*ldb+j0:(k0+p)*ldb+j0+cols])
				}
			}
			add := k0 > 0
			for i0 := 0; i0 < m; i0 += smr {
				rows := min(smr, m-i0)
				if rows == smr && cols == snr {
					tileStrided(kn, kk, a[i0*lda+k0:], lda, pb, c[i0*ldc+j0:], ldc, add)
					continue
				}
				as, la := a[i0*lda+k0:], lda
				if rows < smr {
					for r := 0; r < smr; r++ {
						d := ap[r*kk : (r+1)*kk]
						if r < rows {
							copy(d, a[(i0+r)*lda+k0:(i0+r)*lda+k0+kk])
						} else {
							clear(d)
						}
					}
					as, la = ap[:], kk
				}
				if add {
					for r := 0; r < rows; r++ {
						copy(ct[r*snr:r*snr+cols], c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+cols])
					}
				}
				tileStrided(kn, kk, as, la, pb, ct[:], snr, add)
				for r := 0; r < rows; r++ {
					copy(c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+cols], ct[r*snr:r*snr+cols])
				}
			}
		}
	}
}

// packTransposedGo writes cols rows of kk values (row j at src[j·ld]) as
// the columns of a panel: dst[p·snr + j] = src[j·ld + p]. Four rows at a
// time, so that each step writes four neighbouring values. (packTransposed
// calls it, or the assembly.)
func packTransposedGo(dst, src []float32, ld, cols, kk, snr int) {
	j := 0
	for ; j+4 <= cols; j += 4 {
		r0 := src[j*ld : j*ld+kk]
		r1 := src[(j+1)*ld : (j+1)*ld+kk][:len(r0)]
		r2 := src[(j+2)*ld : (j+2)*ld+kk][:len(r0)]
		r3 := src[(j+3)*ld : (j+3)*ld+kk][:len(r0)]
		for p := range r0 {
			d := dst[p*snr+j : p*snr+j+4 : p*snr+j+4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; j < cols; j++ {
		d := dst[j:]
		for p, v := range src[j*ld : j*ld+kk] {
			d[p*snr] = v
		}
	}
}
