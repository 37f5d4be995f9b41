//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels of package tensor. See kernels_amd64.go for the Go
// declarations and the contracts (n is a positive multiple of 8).

// One k step of the strided-A 6x16 kernel: rows 0..2 of A at (SI),
// (SI)(R9*1), (SI)(R9*2) and rows 3..5 the same from R12.
#define STEPS(ao, bo) \
	VMOVUPS bo(DI), Y0; \
	VMOVUPS (bo+32)(DI), Y1; \
	VBROADCASTSS ao(SI), Y2; \
	VBROADCASTSS ao(SI)(R9*1), Y3; \
	VFMADD231PS Y0, Y2, Y4; \
	VFMADD231PS Y1, Y2, Y5; \
	VFMADD231PS Y0, Y3, Y6; \
	VFMADD231PS Y1, Y3, Y7; \
	VBROADCASTSS ao(SI)(R9*2), Y2; \
	VBROADCASTSS ao(R12), Y3; \
	VFMADD231PS Y0, Y2, Y8; \
	VFMADD231PS Y1, Y2, Y9; \
	VFMADD231PS Y0, Y3, Y10; \
	VFMADD231PS Y1, Y3, Y11; \
	VBROADCASTSS ao(R12)(R9*1), Y2; \
	VBROADCASTSS ao(R12)(R9*2), Y3; \
	VFMADD231PS Y0, Y2, Y12; \
	VFMADD231PS Y1, Y2, Y13; \
	VFMADD231PS Y0, Y3, Y14; \
	VFMADD231PS Y1, Y3, Y15

// func gemm6x16s(k int, a *float32, lda int, b, c *float32, ldc int, add bool)
TEXT ·gemm6x16s(SB), NOSPLIT, $0-49
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (SI)(R9*2), R12
	ADDQ R9, R12
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ CX, R10
	SHRQ $2, R10
	ANDQ $3, CX
	TESTQ R10, R10
	JZ   stail

sloop4:
	STEPS(0, 0)
	STEPS(4, 64)
	STEPS(8, 128)
	STEPS(12, 192)
	ADDQ $16, SI
	ADDQ $16, R12
	ADDQ $256, DI
	DECQ R10
	JNZ  sloop4

stail:
	TESTQ CX, CX
	JZ    sstore

sloop1:
	STEPS(0, 0)
	ADDQ $4, SI
	ADDQ $4, R12
	ADDQ $64, DI
	DECQ CX
	JNZ  sloop1

sstore:
	MOVBLZX add+48(FP), R9
	MOVQ    DX, R13
	LEAQ    (DX)(R8*1), R11
	TESTQ   R9, R9
	JZ      sput
	VADDPS  (DX), Y4, Y4
	VADDPS  32(DX), Y5, Y5
	VADDPS  (R11), Y6, Y6
	VADDPS  32(R11), Y7, Y7
	LEAQ    (DX)(R8*2), DX
	LEAQ    (R11)(R8*2), R11
	VADDPS  (DX), Y8, Y8
	VADDPS  32(DX), Y9, Y9
	VADDPS  (R11), Y10, Y10
	VADDPS  32(R11), Y11, Y11
	LEAQ    (DX)(R8*2), DX
	LEAQ    (R11)(R8*2), R11
	VADDPS  (DX), Y12, Y12
	VADDPS  32(DX), Y13, Y13
	VADDPS  (R11), Y14, Y14
	VADDPS  32(R11), Y15, Y15
	MOVQ    R13, DX
	LEAQ    (DX)(R8*1), R11

sput:
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	VMOVUPS Y6, (R11)
	VMOVUPS Y7, 32(R11)
	LEAQ    (DX)(R8*2), DX
	LEAQ    (R11)(R8*2), R11
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	VMOVUPS Y10, (R11)
	VMOVUPS Y11, 32(R11)
	LEAQ    (DX)(R8*2), DX
	LEAQ    (R11)(R8*2), R11
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, 32(DX)
	VMOVUPS Y14, (R11)
	VMOVUPS Y15, 32(R11)
	VZEROUPPER
	RET

// HSUM leaves the sum of the 8 lanes of Y0 in X0 (uses X1).
#define HSUM \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VPERMILPS $0x4e, X0, X1; \
	VADDPS X1, X0, X0; \
	VPERMILPS $0xb1, X0, X1; \
	VADDPS X1, X0, X0

// func packStrip8(dst, src *float32, ld, n int)
// packStrip for n a multiple of 8: 8 columns of the 4 rows (src, src+ld,
// src+2ld, src+3ld; ld in elements) per step, a 4×8 transpose in
// registers, 32 values out.
TEXT ·packStrip8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ n+24(FP), CX
	SHLQ $2, R8
	LEAQ (SI)(R8*2), R9

ploop:
	VMOVUPS      (SI), Y0
	VMOVUPS      (SI)(R8*1), Y1
	VMOVUPS      (R9), Y2
	VMOVUPS      (R9)(R8*1), Y3
	VUNPCKLPS    Y1, Y0, Y4
	VUNPCKHPS    Y1, Y0, Y5
	VUNPCKLPS    Y3, Y2, Y6
	VUNPCKHPS    Y3, Y2, Y7
	VSHUFPS      $0x44, Y6, Y4, Y0
	VSHUFPS      $0xEE, Y6, Y4, Y1
	VSHUFPS      $0x44, Y7, Y5, Y2
	VSHUFPS      $0xEE, Y7, Y5, Y3
	VPERM2F128   $0x20, Y1, Y0, Y4
	VPERM2F128   $0x20, Y3, Y2, Y5
	VPERM2F128   $0x31, Y1, Y0, Y6
	VPERM2F128   $0x31, Y3, Y2, Y7
	VMOVUPS      Y4, (DI)
	VMOVUPS      Y5, 32(DI)
	VMOVUPS      Y6, 64(DI)
	VMOVUPS      Y7, 96(DI)
	ADDQ         $32, SI
	ADDQ         $32, R9
	ADDQ         $128, DI
	SUBQ         $8, CX
	JNZ          ploop
	VZEROUPPER
	RET

// func dot8(a, b *float32, n int) float32
TEXT ·dot8(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dloop32:
	CMPQ        CX, $32
	JL          dloop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dloop32

dloop8:
	TESTQ       CX, CX
	JZ          ddone
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dloop8

ddone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpy8(alpha float32, x, y *float32, n int)
TEXT ·axpy8(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

aloop32:
	CMPQ        CX, $32
	JL          aloop8
	VMOVUPS     (DI), Y4
	VMOVUPS     32(DI), Y5
	VMOVUPS     64(DI), Y6
	VMOVUPS     96(DI), Y7
	VFMADD231PS (SI), Y0, Y4
	VFMADD231PS 32(SI), Y0, Y5
	VFMADD231PS 64(SI), Y0, Y6
	VFMADD231PS 96(SI), Y0, Y7
	VMOVUPS     Y4, (DI)
	VMOVUPS     Y5, 32(DI)
	VMOVUPS     Y6, 64(DI)
	VMOVUPS     Y7, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         aloop32

aloop8:
	TESTQ       CX, CX
	JZ          adone
	VMOVUPS     (DI), Y4
	VFMADD231PS (SI), Y0, Y4
	VMOVUPS     Y4, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         aloop8

adone:
	VZEROUPPER
	RET

// func sum8(x *float32, n int) float32
TEXT ·sum8(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

sloop32:
	CMPQ   CX, $32
	JL     sloop8
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	JMP    sloop32

sloop8:
	TESTQ  CX, CX
	JZ     sdone
	VADDPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, CX
	JMP    sloop8

sdone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func sumSqDev8(x *float32, n int, mean float32) float32
TEXT ·sumSqDev8(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS mean+16(FP), Y7
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1

qloop16:
	CMPQ        CX, $16
	JL          qloop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VSUBPS      Y7, Y4, Y4
	VSUBPS      Y7, Y5, Y5
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         qloop16

qloop8:
	TESTQ       CX, CX
	JZ          qdone
	VMOVUPS     (SI), Y4
	VSUBPS      Y7, Y4, Y4
	VFMADD231PS Y4, Y4, Y0
	ADDQ        $32, SI
	SUBQ        $8, CX
	JMP         qloop8

qdone:
	VADDPS Y1, Y0, Y0
	HSUM
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func normAffine8(dst, src, w, b *float32, n int, mean, inv float32)
TEXT ·normAffine8(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         w+16(FP), R8
	MOVQ         b+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y6
	VBROADCASTSS inv+44(FP), Y7

nloop:
	VMOVUPS     (SI), Y0
	VSUBPS      Y6, Y0, Y0
	VMULPS      Y7, Y0, Y0
	VMOVUPS     (R9), Y1
	VFMADD231PS (R8), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R8
	ADDQ        $32, R9
	SUBQ        $8, CX
	JNZ         nloop
	VZEROUPPER
	RET

// func scale8(x *float32, n int, s float32)
TEXT ·scale8(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y7

cloop:
	VMULPS  (SI), Y7, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     cloop
	VZEROUPPER
	RET

// func max8(x *float32, n int) float32
TEXT ·max8(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ    $32, SI
	SUBQ    $8, CX

mloop:
	TESTQ   CX, CX
	JZ      mdone
	VMAXPS  (SI), Y0, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     mloop

mdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET
