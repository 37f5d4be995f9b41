package tensor

// kcM is the depth block of MatMulNT/NN: an nr×kcM panel of B (16 KiB)
// lives in a stack buffer, so these functions never allocate.
const kcM = 256

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

// matMul packs B one nr-column panel and kcM-deep block at a time (from rows
// of B when nt, else from columns) and runs the strided-A micro-kernel down
// the rows of A. Edge tiles go through small zero-padded copies.
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
	var bp [kcM * nr]float32
	var ap [mr * kcM]float32
	var ct [mr * nr]float32
	for j0 := 0; j0 < n; j0 += nr {
		cols := min(nr, n-j0)
		for k0 := 0; k0 < k; k0 += kcM {
			kk := min(kcM, k-k0)
			pb := bp[:kk*nr]
			if cols < nr {
				clear(pb)
			}
			if nt {
				for jj := 0; jj < cols; jj++ {
					row := b[(j0+jj)*ldb+k0 : (j0+jj)*ldb+k0+kk]
					d := pb[jj:]
					for p, v := range row {
						d[p*nr] = v
					}
				}
			} else {
				for p := 0; p < kk; p++ {
					copy(pb[p*nr:p*nr+cols], b[(k0+p)*ldb+j0:(k0+p)*ldb+j0+cols])
				}
			}
			add := k0 > 0
			for i0 := 0; i0 < m; i0 += mr {
				rows := min(mr, m-i0)
				if rows == mr && cols == nr {
					tileStrided(kn, kk, a[i0*lda+k0:], lda, pb, c[i0*ldc+j0:], ldc, add)
					continue
				}
				as, la := a[i0*lda+k0:], lda
				if rows < mr {
					for r := 0; r < mr; r++ {
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
						copy(ct[r*nr:r*nr+cols], c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+cols])
					}
				}
				tileStrided(kn, kk, as, la, pb, ct[:], nr, add)
				for r := 0; r < rows; r++ {
					copy(c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+cols], ct[r*nr:r*nr+cols])
				}
			}
		}
	}
}
