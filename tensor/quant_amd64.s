//go:build amd64 && !purego

#include "textflag.h"

// AVX2 helpers of int8 Linear (quant.go): the per-row range, the
// quantization of a row to u8 and the dequantization of an int32 tile row.
// Each computes exactly what its portable twin in quant.go computes (same
// float32 operations, round-half-even, the same clamping), so the kernel
// sets give identical int8 results. n is a positive multiple of 8.

// func minMax8(x *float32, n int) (lo, hi float32)
TEXT ·minMax8(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ    $32, SI
	SUBQ    $8, CX
	JZ      mmdone

mmloop:
	VMOVUPS (SI), Y2
	VMINPS  Y2, Y0, Y0
	VMAXPS  Y2, Y1, Y1
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     mmloop

mmdone:
	VEXTRACTF128 $1, Y0, X2
	VMINPS       X2, X0, X0
	VPERMILPS    $0x4e, X0, X2
	VMINPS       X2, X0, X0
	VPERMILPS    $0xb1, X0, X2
	VMINPS       X2, X0, X0
	VEXTRACTF128 $1, Y1, X2
	VMAXPS       X2, X1, X1
	VPERMILPS    $0x4e, X1, X2
	VMAXPS       X2, X1, X1
	VPERMILPS    $0xb1, X1, X2
	VMAXPS       X2, X1, X1
	VMOVSS       X0, lo+16(FP)
	VMOVSS       X1, hi+20(FP)
	VZEROUPPER
	RET

// func quantRow8(dst *uint8, src *float32, n int, inv float32, z int32, stride int)
// Each value clamp(roundEven(src[i]·inv) + z, 0, 255); group g (values
// 4g..4g+3) goes to dst + g·stride as 4 bytes. n is a multiple of 8.
TEXT ·quantRow8(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y7
	MOVL         z+28(FP), AX
	VMOVD        AX, X6
	VPBROADCASTD X6, Y6
	MOVQ         stride+32(FP), R8

qloop:
	VMULPS       (SI), Y7, Y0
	VCVTPS2DQ    Y0, Y0
	VPADDD       Y6, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW    X1, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVD        X0, (DI)
	VPEXTRD      $1, X0, (DI)(R8*1)
	LEAQ         (DI)(R8*2), DI
	ADDQ         $32, SI
	SUBQ         $8, CX
	JNZ          qloop
	VZEROUPPER
	RET
