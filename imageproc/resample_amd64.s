//go:build amd64 && !purego

#include "textflag.h"

// func verticalRowAVX2(dst, src *uint8, stride int, coeffs *int32, taps, n int)
// dst[i] = clip8(half + Σ_t src[t·stride+i]·coeffs[t]) for i < n (a
// multiple of 32), with clip8's arithmetic shift by 22 bits and clamp to
// [0, 255]: Pillow's ImagingResampleVertical_8bpc, 32 bytes at a time. The
// int32 sums are exact whatever the order of their terms.
TEXT ·verticalRowAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ coeffs+24(FP), R9
	MOVQ taps+32(FP), R10
	MOVQ n+40(FP), CX
	MOVL $0x200000, AX // half = 1 << (22-1)
	VMOVD        AX, X8
	VPBROADCASTD X8, Y8
	VMOVDQU      perm<>(SB), Y9

chunk:
	VMOVDQA Y8, Y0
	VMOVDQA Y8, Y1
	VMOVDQA Y8, Y2
	VMOVDQA Y8, Y3
	MOVQ    SI, R11
	MOVQ    R9, R12
	MOVQ    R10, R13

tap:
	VPBROADCASTD (R12), Y4
	VPMOVZXBD    (R11), Y5
	VPMULLD      Y4, Y5, Y5
	VPADDD       Y5, Y0, Y0
	VPMOVZXBD    8(R11), Y5
	VPMULLD      Y4, Y5, Y5
	VPADDD       Y5, Y1, Y1
	VPMOVZXBD    16(R11), Y5
	VPMULLD      Y4, Y5, Y5
	VPADDD       Y5, Y2, Y2
	VPMOVZXBD    24(R11), Y5
	VPMULLD      Y4, Y5, Y5
	VPADDD       Y5, Y3, Y3
	ADDQ         R8, R11
	ADDQ         $4, R12
	DECQ         R13
	JNZ          tap

	VPSRAD    $22, Y0, Y0
	VPSRAD    $22, Y1, Y1
	VPSRAD    $22, Y2, Y2
	VPSRAD    $22, Y3, Y3
	VPACKSSDW Y1, Y0, Y0 // int16, 128-bit lanes interleaved
	VPACKSSDW Y3, Y2, Y2
	VPACKUSWB Y2, Y0, Y0 // bytes 0-3 8-11 16-19 24-27 | 4-7 12-15 20-23 28-31
	VPERMD    Y0, Y9, Y0 // back in order
	VMOVDQU   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $32, CX
	JNZ       chunk
	VZEROUPPER
	RET

DATA perm<>+0(SB)/4, $0
DATA perm<>+4(SB)/4, $4
DATA perm<>+8(SB)/4, $1
DATA perm<>+12(SB)/4, $5
DATA perm<>+16(SB)/4, $2
DATA perm<>+20(SB)/4, $6
DATA perm<>+24(SB)/4, $3
DATA perm<>+28(SB)/4, $7
GLOBL perm<>(SB), RODATA|NOPTR, $32
