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

// func horizontalRowAVX2(dst, src *uint8, offs, coeffs *int32, pairs, n int)
// For output pixel i < n, reading RGB source pixels from src+offs[i]: each
// channel's half + Σ_t pixel[t]·c_i[t] over 2·pairs taps, clip8'd as in
// verticalRowAVX2, stored as 4 bytes at dst+3i (the fourth is pixel i+1's
// red, written over next); pairs is even. coeffs holds pairs×8 int32 per output pixel,
// [c0 c0 c0 c0 c1 c1 c1 c1] for each pair of taps: Pillow's
// ImagingResampleHorizontal_8bpc, two taps a step, one pixel's three
// channels in the int32 lanes of each half. Exact, as the sums are.
TEXT ·horizontalRowAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ coeffs+24(FP), R9
	MOVQ pairs+32(FP), R10
	MOVQ n+40(FP), CX
	VMOVDQU hshuf<>(SB), Y9 // pixel t to lanes 0-2, pixel t+1 to lanes 4-6, as int32
	VMOVDQU hhalf<>(SB), Y8 // half in lanes 0-3

pixel:
	MOVLQSX (R8), AX
	LEAQ    (SI)(AX*1), R11
	VMOVDQA Y8, Y0
	VPXOR   Y2, Y2, Y2
	MOVQ    R10, R12

pair: // two pairs of taps a step, one accumulator each
	VPBROADCASTQ (R11), Y1 // 6 bytes used: two RGB pixels
	VPBROADCASTQ 6(R11), Y3
	VPSHUFB      Y9, Y1, Y1
	VPSHUFB      Y9, Y3, Y3
	VPMULLD      (R9), Y1, Y1
	VPMULLD      32(R9), Y3, Y3
	VPADDD       Y1, Y0, Y0
	VPADDD       Y3, Y2, Y2
	ADDQ         $12, R11
	ADDQ         $64, R9
	SUBQ         $2, R12
	JNZ          pair

	VPADDD       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSRAD       $22, X0, X0
	VPACKSSDW    X0, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVD        X0, (DI)
	ADDQ         $3, DI
	ADDQ         $4, R8
	DECQ         CX
	JNZ          pixel
	VZEROUPPER
	RET

DATA hshuf<>+0(SB)/8, $0x8080800180808000
DATA hshuf<>+8(SB)/8, $0x8080808080808002
DATA hshuf<>+16(SB)/8, $0x8080800480808003
DATA hshuf<>+24(SB)/8, $0x8080808080808005
GLOBL hshuf<>(SB), RODATA|NOPTR, $32

DATA hhalf<>+0(SB)/4, $0x200000
DATA hhalf<>+4(SB)/4, $0x200000
DATA hhalf<>+8(SB)/4, $0x200000
DATA hhalf<>+12(SB)/4, $0x200000
DATA hhalf<>+16(SB)/8, $0
DATA hhalf<>+24(SB)/8, $0
GLOBL hhalf<>(SB), RODATA|NOPTR, $32
