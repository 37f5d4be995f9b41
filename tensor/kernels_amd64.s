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

// EXP replaces X by exp(X) (Cephes expf: Cody-Waite reduction, degree-6
// polynomial, exponent built in the integer unit), using T1, T2.
#define EXP(X, T1, T2) \
	VMINPS hi<>(SB), X, X; \
	VMAXPS lo<>(SB), X, X; \
	VMULPS log2e<>(SB), X, T1; \
	VROUNDPS $0, T1, T1; \
	VFNMADD231PS c1<>(SB), T1, X; \
	VFNMADD231PS c2<>(SB), T1, X; \
	VMOVUPS p0<>(SB), T2; \
	VFMADD213PS p1<>(SB), X, T2; \
	VFMADD213PS p2<>(SB), X, T2; \
	VFMADD213PS p3<>(SB), X, T2; \
	VFMADD213PS p4<>(SB), X, T2; \
	VFMADD213PS p5<>(SB), X, T2; \
	VMULPS X, T2, T2; \
	VFMADD213PS X, X, T2; \
	VADDPS one<>(SB), T2, T2; \
	VCVTPS2DQ T1, T1; \
	VPADDD i127<>(SB), T1, T1; \
	VPSLLD $23, T1, T1; \
	VMULPS T1, T2, X

// HSUM leaves the sum of the 8 lanes of Y0 in X0 (uses X1).
#define HSUM \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VPERMILPS $0x4e, X0, X1; \
	VADDPS X1, X0, X0; \
	VPERMILPS $0xb1, X0, X1; \
	VADDPS X1, X0, X0

// QUICKGELU replaces Y0 by Y0·sigmoid(1.702·Y0) (uses Y1-Y3).
#define QUICKGELU \
	VMULPS m1702<>(SB), Y0, Y3; \
	EXP(Y3, Y1, Y2); \
	VADDPS one<>(SB), Y3, Y3; \
	VDIVPS Y3, Y0, Y0

// GELU replaces Y0 by Y0/2·erfc(-Y0/√2) (uses Y1-Y4), with erfc(u) for
// u = |v|/√2 ≥ 0 from the Numerical Recipes Chebyshev fit (relative error
// < 1.2e-7) and erfc(-u) = 2 - erfc(u), so no digits cancel for negative v.
#define GELU \
	VANDPS       absmask<>(SB), Y0, Y3; \
	VMULPS       rsqrt2<>(SB), Y3, Y3; \
	VMOVUPS      one<>(SB), Y1; \
	VFMADD231PS  half<>(SB), Y3, Y1; \
	VMOVUPS      one<>(SB), Y2; \
	VDIVPS       Y1, Y2, Y1; \
	VMOVUPS      ec9<>(SB), Y2; \
	VFMADD213PS  ec8<>(SB), Y1, Y2; \
	VFMADD213PS  ec7<>(SB), Y1, Y2; \
	VFMADD213PS  ec6<>(SB), Y1, Y2; \
	VFMADD213PS  ec5<>(SB), Y1, Y2; \
	VFMADD213PS  ec4<>(SB), Y1, Y2; \
	VFMADD213PS  ec3<>(SB), Y1, Y2; \
	VFMADD213PS  ec2<>(SB), Y1, Y2; \
	VFMADD213PS  ec1<>(SB), Y1, Y2; \
	VFMADD213PS  ec0<>(SB), Y1, Y2; \
	VFNMADD231PS Y3, Y3, Y2; \
	EXP(Y2, Y3, Y4); \
	VMULPS       Y1, Y2, Y2; \
	VMOVUPS      two<>(SB), Y3; \
	VSUBPS       Y2, Y3, Y3; \
	VBLENDVPS    Y0, Y2, Y3, Y3; \
	VMULPS       half<>(SB), Y0, Y0; \
	VMULPS       Y3, Y0, Y0

// func epilogue8(dst, src, bias *float32, n int, flags int)
TEXT ·epilogue8(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ bias+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ flags+32(FP), R8

eloop:
	VMOVUPS (SI), Y0
	TESTQ   $1, R8
	JZ      enobias
	VADDPS  (DX), Y0, Y0

enobias:
	TESTQ $2, R8
	JZ    enoact
	QUICKGELU

enoact:
	TESTQ $8, R8
	JZ    enogelu
	GELU

enogelu:
	TESTQ   $4, R8
	JZ      enoacc
	VADDPS  (DI), Y0, Y0

enoacc:
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     eloop
	VZEROUPPER
	RET

// func epilogueI8x8(dst *float32, c, cs *int32, sw, bias *float32, n int, flags int, zx int32, sx float32)
// epilogue8 whose input is an int8 GEMM's int32 row, dequantized on the
// way in as dequant8 does: float32(c[i] - zx·cs[i]) · (sx·sw[i]).
TEXT ·epilogueI8x8(SB), NOSPLIT, $0-64
	MOVQ         dst+0(FP), DI
	MOVQ         c+8(FP), SI
	MOVQ         cs+16(FP), R9
	MOVQ         sw+24(FP), R10
	MOVQ         bias+32(FP), DX
	MOVQ         n+40(FP), CX
	MOVQ         flags+48(FP), R8
	MOVL         zx+56(FP), AX
	VMOVD        AX, X6
	VPBROADCASTD X6, Y6
	VBROADCASTSS sx+60(FP), Y7

qeloop:
	VPMULLD   (R9), Y6, Y0
	VMOVDQU   (SI), Y1
	VPSUBD    Y0, Y1, Y1
	VCVTDQ2PS Y1, Y1
	VMULPS    (R10), Y7, Y0
	VMULPS    Y0, Y1, Y0
	TESTQ     $1, R8
	JZ        qenobias
	VADDPS    (DX), Y0, Y0

qenobias:
	TESTQ $2, R8
	JZ    qenoact
	QUICKGELU

qenoact:
	TESTQ $8, R8
	JZ    qenogelu
	GELU

qenogelu:
	TESTQ   $4, R8
	JZ      qenoacc
	VADDPS  (DI), Y0, Y0

qenoacc:
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     qeloop
	VZEROUPPER
	RET

// EXP16 is EXP on a ZMM register, instruction for instruction (VRNDSCALEPS
// $0 rounds as VROUNDPS $0 does), so each lane gets EXP's bits.
#define EXP16(X, T1, T2) \
	VMINPS.BCST       hi<>(SB), X, X; \
	VMAXPS.BCST       lo<>(SB), X, X; \
	VMULPS.BCST       log2e<>(SB), X, T1; \
	VRNDSCALEPS       $0, T1, T1; \
	VFNMADD231PS.BCST c1<>(SB), T1, X; \
	VFNMADD231PS.BCST c2<>(SB), T1, X; \
	VBROADCASTSS      p0<>(SB), T2; \
	VFMADD213PS.BCST  p1<>(SB), X, T2; \
	VFMADD213PS.BCST  p2<>(SB), X, T2; \
	VFMADD213PS.BCST  p3<>(SB), X, T2; \
	VFMADD213PS.BCST  p4<>(SB), X, T2; \
	VFMADD213PS.BCST  p5<>(SB), X, T2; \
	VMULPS            X, T2, T2; \
	VFMADD213PS       X, X, T2; \
	VADDPS.BCST       one<>(SB), T2, T2; \
	VCVTPS2DQ         T1, T1; \
	VPADDD.BCST       i127<>(SB), T1, T1; \
	VPSLLD            $23, T1, T1; \
	VMULPS            T1, T2, X

// QUICKGELU16 is QUICKGELU on Z0 (uses Z1-Z3), with QUICKGELU's bits.
#define QUICKGELU16 \
	VMULPS.BCST m1702<>(SB), Z0, Z3; \
	EXP16(Z3, Z1, Z2); \
	VADDPS.BCST one<>(SB), Z3, Z3; \
	VDIVPS      Z3, Z0, Z0

// func epilogue16(dst, src, bias *float32, n int, flags int)
// epilogue8 on 16 lanes (AVX-512F), n a multiple of 16; flags as there,
// less epGELU (the caller keeps that to epilogue8).
TEXT ·epilogue16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ bias+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ flags+32(FP), R8

e16loop:
	VMOVUPS (SI), Z0
	TESTQ   $1, R8
	JZ      e16nobias
	VADDPS  (DX), Z0, Z0

e16nobias:
	TESTQ $2, R8
	JZ    e16noact
	QUICKGELU16

e16noact:
	TESTQ  $4, R8
	JZ     e16noacc
	VADDPS (DI), Z0, Z0

e16noacc:
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, CX
	JNZ     e16loop
	VZEROUPPER
	RET

// func epilogueI8x16(dst *float32, c, cs *int32, sw, bias *float32, n int, flags int, zx int32, sx float32)
// epilogueI8x8 on 16 lanes (AVX-512F), n a multiple of 16; flags as
// there, less epGELU (the caller keeps that to epilogueI8x8).
TEXT ·epilogueI8x16(SB), NOSPLIT, $0-64
	MOVQ         dst+0(FP), DI
	MOVQ         c+8(FP), SI
	MOVQ         cs+16(FP), R9
	MOVQ         sw+24(FP), R10
	MOVQ         bias+32(FP), DX
	MOVQ         n+40(FP), CX
	MOVQ         flags+48(FP), R8
	MOVL         zx+56(FP), AX
	VPBROADCASTD AX, Z6
	VBROADCASTSS sx+60(FP), Z7

qe16loop:
	VPMULLD   (R9), Z6, Z0
	VMOVDQU32 (SI), Z1
	VPSUBD    Z0, Z1, Z1
	VCVTDQ2PS Z1, Z1
	VMULPS    (R10), Z7, Z0
	VMULPS    Z0, Z1, Z0
	TESTQ     $1, R8
	JZ        qe16nobias
	VADDPS    (DX), Z0, Z0

qe16nobias:
	TESTQ $2, R8
	JZ    qe16noact
	QUICKGELU16

qe16noact:
	TESTQ  $4, R8
	JZ     qe16noacc
	VADDPS (DI), Z0, Z0

qe16noacc:
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, R9
	ADDQ    $64, R10
	ADDQ    $64, DI
	ADDQ    $64, DX
	SUBQ    $16, CX
	JNZ     qe16loop
	VZEROUPPER
	RET

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

// func expSub8(x *float32, n int, m float32) float32
TEXT ·expSub8(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y7
	VXORPS       Y8, Y8, Y8

xloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y7, Y0, Y0
	EXP(Y0, Y1, Y2)
	VMOVUPS Y0, (SI)
	VADDPS  Y0, Y8, Y8
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     xloop
	VMOVAPS Y8, Y0
	HSUM
	VMOVSS  X0, ret+24(FP)
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

// Constants, 8 lanes each.
DATA log2e<>+0(SB)/4, $0x3fb8aa3b
DATA log2e<>+4(SB)/4, $0x3fb8aa3b
DATA log2e<>+8(SB)/4, $0x3fb8aa3b
DATA log2e<>+12(SB)/4, $0x3fb8aa3b
DATA log2e<>+16(SB)/4, $0x3fb8aa3b
DATA log2e<>+20(SB)/4, $0x3fb8aa3b
DATA log2e<>+24(SB)/4, $0x3fb8aa3b
DATA log2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e<>(SB), RODATA|NOPTR, $32

DATA c1<>+0(SB)/4, $0x3f318000
DATA c1<>+4(SB)/4, $0x3f318000
DATA c1<>+8(SB)/4, $0x3f318000
DATA c1<>+12(SB)/4, $0x3f318000
DATA c1<>+16(SB)/4, $0x3f318000
DATA c1<>+20(SB)/4, $0x3f318000
DATA c1<>+24(SB)/4, $0x3f318000
DATA c1<>+28(SB)/4, $0x3f318000
GLOBL c1<>(SB), RODATA|NOPTR, $32

DATA c2<>+0(SB)/4, $0xb95e8083
DATA c2<>+4(SB)/4, $0xb95e8083
DATA c2<>+8(SB)/4, $0xb95e8083
DATA c2<>+12(SB)/4, $0xb95e8083
DATA c2<>+16(SB)/4, $0xb95e8083
DATA c2<>+20(SB)/4, $0xb95e8083
DATA c2<>+24(SB)/4, $0xb95e8083
DATA c2<>+28(SB)/4, $0xb95e8083
GLOBL c2<>(SB), RODATA|NOPTR, $32

DATA p0<>+0(SB)/4, $0x39506967
DATA p0<>+4(SB)/4, $0x39506967
DATA p0<>+8(SB)/4, $0x39506967
DATA p0<>+12(SB)/4, $0x39506967
DATA p0<>+16(SB)/4, $0x39506967
DATA p0<>+20(SB)/4, $0x39506967
DATA p0<>+24(SB)/4, $0x39506967
DATA p0<>+28(SB)/4, $0x39506967
GLOBL p0<>(SB), RODATA|NOPTR, $32

DATA p1<>+0(SB)/4, $0x3ab743ce
DATA p1<>+4(SB)/4, $0x3ab743ce
DATA p1<>+8(SB)/4, $0x3ab743ce
DATA p1<>+12(SB)/4, $0x3ab743ce
DATA p1<>+16(SB)/4, $0x3ab743ce
DATA p1<>+20(SB)/4, $0x3ab743ce
DATA p1<>+24(SB)/4, $0x3ab743ce
DATA p1<>+28(SB)/4, $0x3ab743ce
GLOBL p1<>(SB), RODATA|NOPTR, $32

DATA p2<>+0(SB)/4, $0x3c088908
DATA p2<>+4(SB)/4, $0x3c088908
DATA p2<>+8(SB)/4, $0x3c088908
DATA p2<>+12(SB)/4, $0x3c088908
DATA p2<>+16(SB)/4, $0x3c088908
DATA p2<>+20(SB)/4, $0x3c088908
DATA p2<>+24(SB)/4, $0x3c088908
DATA p2<>+28(SB)/4, $0x3c088908
GLOBL p2<>(SB), RODATA|NOPTR, $32

DATA p3<>+0(SB)/4, $0x3d2aa9c1
DATA p3<>+4(SB)/4, $0x3d2aa9c1
DATA p3<>+8(SB)/4, $0x3d2aa9c1
DATA p3<>+12(SB)/4, $0x3d2aa9c1
DATA p3<>+16(SB)/4, $0x3d2aa9c1
DATA p3<>+20(SB)/4, $0x3d2aa9c1
DATA p3<>+24(SB)/4, $0x3d2aa9c1
DATA p3<>+28(SB)/4, $0x3d2aa9c1
GLOBL p3<>(SB), RODATA|NOPTR, $32

DATA p4<>+0(SB)/4, $0x3e2aaaaa
DATA p4<>+4(SB)/4, $0x3e2aaaaa
DATA p4<>+8(SB)/4, $0x3e2aaaaa
DATA p4<>+12(SB)/4, $0x3e2aaaaa
DATA p4<>+16(SB)/4, $0x3e2aaaaa
DATA p4<>+20(SB)/4, $0x3e2aaaaa
DATA p4<>+24(SB)/4, $0x3e2aaaaa
DATA p4<>+28(SB)/4, $0x3e2aaaaa
GLOBL p4<>(SB), RODATA|NOPTR, $32

DATA p5<>+0(SB)/4, $0x3f000000
DATA p5<>+4(SB)/4, $0x3f000000
DATA p5<>+8(SB)/4, $0x3f000000
DATA p5<>+12(SB)/4, $0x3f000000
DATA p5<>+16(SB)/4, $0x3f000000
DATA p5<>+20(SB)/4, $0x3f000000
DATA p5<>+24(SB)/4, $0x3f000000
DATA p5<>+28(SB)/4, $0x3f000000
GLOBL p5<>(SB), RODATA|NOPTR, $32

DATA one<>+0(SB)/4, $0x3f800000
DATA one<>+4(SB)/4, $0x3f800000
DATA one<>+8(SB)/4, $0x3f800000
DATA one<>+12(SB)/4, $0x3f800000
DATA one<>+16(SB)/4, $0x3f800000
DATA one<>+20(SB)/4, $0x3f800000
DATA one<>+24(SB)/4, $0x3f800000
DATA one<>+28(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $32

DATA hi<>+0(SB)/4, $0x42b0c0a5
DATA hi<>+4(SB)/4, $0x42b0c0a5
DATA hi<>+8(SB)/4, $0x42b0c0a5
DATA hi<>+12(SB)/4, $0x42b0c0a5
DATA hi<>+16(SB)/4, $0x42b0c0a5
DATA hi<>+20(SB)/4, $0x42b0c0a5
DATA hi<>+24(SB)/4, $0x42b0c0a5
DATA hi<>+28(SB)/4, $0x42b0c0a5
GLOBL hi<>(SB), RODATA|NOPTR, $32

DATA lo<>+0(SB)/4, $0xc2aeac50
DATA lo<>+4(SB)/4, $0xc2aeac50
DATA lo<>+8(SB)/4, $0xc2aeac50
DATA lo<>+12(SB)/4, $0xc2aeac50
DATA lo<>+16(SB)/4, $0xc2aeac50
DATA lo<>+20(SB)/4, $0xc2aeac50
DATA lo<>+24(SB)/4, $0xc2aeac50
DATA lo<>+28(SB)/4, $0xc2aeac50
GLOBL lo<>(SB), RODATA|NOPTR, $32

DATA m1702<>+0(SB)/4, $0xbfd9db23
DATA m1702<>+4(SB)/4, $0xbfd9db23
DATA m1702<>+8(SB)/4, $0xbfd9db23
DATA m1702<>+12(SB)/4, $0xbfd9db23
DATA m1702<>+16(SB)/4, $0xbfd9db23
DATA m1702<>+20(SB)/4, $0xbfd9db23
DATA m1702<>+24(SB)/4, $0xbfd9db23
DATA m1702<>+28(SB)/4, $0xbfd9db23
GLOBL m1702<>(SB), RODATA|NOPTR, $32

DATA i127<>+0(SB)/4, $0x0000007f
DATA i127<>+4(SB)/4, $0x0000007f
DATA i127<>+8(SB)/4, $0x0000007f
DATA i127<>+12(SB)/4, $0x0000007f
DATA i127<>+16(SB)/4, $0x0000007f
DATA i127<>+20(SB)/4, $0x0000007f
DATA i127<>+24(SB)/4, $0x0000007f
DATA i127<>+28(SB)/4, $0x0000007f
GLOBL i127<>(SB), RODATA|NOPTR, $32

DATA half<>+0(SB)/4, $0x3f000000
DATA half<>+4(SB)/4, $0x3f000000
DATA half<>+8(SB)/4, $0x3f000000
DATA half<>+12(SB)/4, $0x3f000000
DATA half<>+16(SB)/4, $0x3f000000
DATA half<>+20(SB)/4, $0x3f000000
DATA half<>+24(SB)/4, $0x3f000000
DATA half<>+28(SB)/4, $0x3f000000
GLOBL half<>(SB), RODATA|NOPTR, $32

DATA two<>+0(SB)/4, $0x40000000
DATA two<>+4(SB)/4, $0x40000000
DATA two<>+8(SB)/4, $0x40000000
DATA two<>+12(SB)/4, $0x40000000
DATA two<>+16(SB)/4, $0x40000000
DATA two<>+20(SB)/4, $0x40000000
DATA two<>+24(SB)/4, $0x40000000
DATA two<>+28(SB)/4, $0x40000000
GLOBL two<>(SB), RODATA|NOPTR, $32

DATA rsqrt2<>+0(SB)/4, $0x3f3504f3
DATA rsqrt2<>+4(SB)/4, $0x3f3504f3
DATA rsqrt2<>+8(SB)/4, $0x3f3504f3
DATA rsqrt2<>+12(SB)/4, $0x3f3504f3
DATA rsqrt2<>+16(SB)/4, $0x3f3504f3
DATA rsqrt2<>+20(SB)/4, $0x3f3504f3
DATA rsqrt2<>+24(SB)/4, $0x3f3504f3
DATA rsqrt2<>+28(SB)/4, $0x3f3504f3
GLOBL rsqrt2<>(SB), RODATA|NOPTR, $32

DATA absmask<>+0(SB)/4, $0x7fffffff
DATA absmask<>+4(SB)/4, $0x7fffffff
DATA absmask<>+8(SB)/4, $0x7fffffff
DATA absmask<>+12(SB)/4, $0x7fffffff
DATA absmask<>+16(SB)/4, $0x7fffffff
DATA absmask<>+20(SB)/4, $0x7fffffff
DATA absmask<>+24(SB)/4, $0x7fffffff
DATA absmask<>+28(SB)/4, $0x7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $32

DATA ec0<>+0(SB)/4, $0xbfa1fc4e
DATA ec0<>+4(SB)/4, $0xbfa1fc4e
DATA ec0<>+8(SB)/4, $0xbfa1fc4e
DATA ec0<>+12(SB)/4, $0xbfa1fc4e
DATA ec0<>+16(SB)/4, $0xbfa1fc4e
DATA ec0<>+20(SB)/4, $0xbfa1fc4e
DATA ec0<>+24(SB)/4, $0xbfa1fc4e
DATA ec0<>+28(SB)/4, $0xbfa1fc4e
GLOBL ec0<>(SB), RODATA|NOPTR, $32

DATA ec1<>+0(SB)/4, $0x3f8000c7
DATA ec1<>+4(SB)/4, $0x3f8000c7
DATA ec1<>+8(SB)/4, $0x3f8000c7
DATA ec1<>+12(SB)/4, $0x3f8000c7
DATA ec1<>+16(SB)/4, $0x3f8000c7
DATA ec1<>+20(SB)/4, $0x3f8000c7
DATA ec1<>+24(SB)/4, $0x3f8000c7
DATA ec1<>+28(SB)/4, $0x3f8000c7
GLOBL ec1<>(SB), RODATA|NOPTR, $32

DATA ec2<>+0(SB)/4, $0x3ebf88fb
DATA ec2<>+4(SB)/4, $0x3ebf88fb
DATA ec2<>+8(SB)/4, $0x3ebf88fb
DATA ec2<>+12(SB)/4, $0x3ebf88fb
DATA ec2<>+16(SB)/4, $0x3ebf88fb
DATA ec2<>+20(SB)/4, $0x3ebf88fb
DATA ec2<>+24(SB)/4, $0x3ebf88fb
DATA ec2<>+28(SB)/4, $0x3ebf88fb
GLOBL ec2<>(SB), RODATA|NOPTR, $32

DATA ec3<>+0(SB)/4, $0x3dc636c9
DATA ec3<>+4(SB)/4, $0x3dc636c9
DATA ec3<>+8(SB)/4, $0x3dc636c9
DATA ec3<>+12(SB)/4, $0x3dc636c9
DATA ec3<>+16(SB)/4, $0x3dc636c9
DATA ec3<>+20(SB)/4, $0x3dc636c9
DATA ec3<>+24(SB)/4, $0x3dc636c9
DATA ec3<>+28(SB)/4, $0x3dc636c9
GLOBL ec3<>(SB), RODATA|NOPTR, $32

DATA ec4<>+0(SB)/4, $0xbe3ec24c
DATA ec4<>+4(SB)/4, $0xbe3ec24c
DATA ec4<>+8(SB)/4, $0xbe3ec24c
DATA ec4<>+12(SB)/4, $0xbe3ec24c
DATA ec4<>+16(SB)/4, $0xbe3ec24c
DATA ec4<>+20(SB)/4, $0xbe3ec24c
DATA ec4<>+24(SB)/4, $0xbe3ec24c
DATA ec4<>+28(SB)/4, $0xbe3ec24c
GLOBL ec4<>(SB), RODATA|NOPTR, $32

DATA ec5<>+0(SB)/4, $0x3e8ec7cc
DATA ec5<>+4(SB)/4, $0x3e8ec7cc
DATA ec5<>+8(SB)/4, $0x3e8ec7cc
DATA ec5<>+12(SB)/4, $0x3e8ec7cc
DATA ec5<>+16(SB)/4, $0x3e8ec7cc
DATA ec5<>+20(SB)/4, $0x3e8ec7cc
DATA ec5<>+24(SB)/4, $0x3e8ec7cc
DATA ec5<>+28(SB)/4, $0x3e8ec7cc
GLOBL ec5<>(SB), RODATA|NOPTR, $32

DATA ec6<>+0(SB)/4, $0xbf914e5d
DATA ec6<>+4(SB)/4, $0xbf914e5d
DATA ec6<>+8(SB)/4, $0xbf914e5d
DATA ec6<>+12(SB)/4, $0xbf914e5d
DATA ec6<>+16(SB)/4, $0xbf914e5d
DATA ec6<>+20(SB)/4, $0xbf914e5d
DATA ec6<>+24(SB)/4, $0xbf914e5d
DATA ec6<>+28(SB)/4, $0xbf914e5d
GLOBL ec6<>(SB), RODATA|NOPTR, $32

DATA ec7<>+0(SB)/4, $0x3fbe87b0
DATA ec7<>+4(SB)/4, $0x3fbe87b0
DATA ec7<>+8(SB)/4, $0x3fbe87b0
DATA ec7<>+12(SB)/4, $0x3fbe87b0
DATA ec7<>+16(SB)/4, $0x3fbe87b0
DATA ec7<>+20(SB)/4, $0x3fbe87b0
DATA ec7<>+24(SB)/4, $0x3fbe87b0
DATA ec7<>+28(SB)/4, $0x3fbe87b0
GLOBL ec7<>(SB), RODATA|NOPTR, $32

DATA ec8<>+0(SB)/4, $0xbf527892
DATA ec8<>+4(SB)/4, $0xbf527892
DATA ec8<>+8(SB)/4, $0xbf527892
DATA ec8<>+12(SB)/4, $0xbf527892
DATA ec8<>+16(SB)/4, $0xbf527892
DATA ec8<>+20(SB)/4, $0xbf527892
DATA ec8<>+24(SB)/4, $0xbf527892
DATA ec8<>+28(SB)/4, $0xbf527892
GLOBL ec8<>(SB), RODATA|NOPTR, $32

DATA ec9<>+0(SB)/4, $0x3e2ef945
DATA ec9<>+4(SB)/4, $0x3e2ef945
DATA ec9<>+8(SB)/4, $0x3e2ef945
DATA ec9<>+12(SB)/4, $0x3e2ef945
DATA ec9<>+16(SB)/4, $0x3e2ef945
DATA ec9<>+20(SB)/4, $0x3e2ef945
DATA ec9<>+24(SB)/4, $0x3e2ef945
DATA ec9<>+28(SB)/4, $0x3e2ef945
GLOBL ec9<>(SB), RODATA|NOPTR, $32

