//go:build amd64 && !purego

#include "textflag.h"

// func yccRowAVX2(out, y, cb, cr *uint8, groups int)
// Converts groups×8 pixels of YCbCr to packed RGB, with jdcolor.c's
// integer arithmetic in int32 lanes (so the bytes of yccRow exactly):
//   R = Y + ((FIX(1.40200)·(Cr-128) + ONE_HALF) >> 16)
//   G = Y + ((-FIX(0.34414)·(Cb-128) - FIX(0.71414)·(Cr-128) + ONE_HALF) >> 16)
//   B = Y + ((FIX(1.77200)·(Cb-128) + ONE_HALF) >> 16)
// clamped to [0, 255] by the saturating packs. Each group stores 28 bytes
// at out+24·g: 24 of RGB and 4 that the next group (or the caller's tail)
// writes over.
TEXT ·yccRowAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ cb+16(FP), BX
	MOVQ cr+24(FP), DX
	MOVQ groups+32(FP), CX
	VPBROADCASTD ycc<>+0(SB), Y15  // 128
	VPBROADCASTD ycc<>+4(SB), Y14  // ONE_HALF
	VPBROADCASTD ycc<>+8(SB), Y13  // FIX(1.40200)
	VPBROADCASTD ycc<>+12(SB), Y12 // FIX(1.77200)
	VPBROADCASTD ycc<>+16(SB), Y11 // -FIX(0.34414)
	VPBROADCASTD ycc<>+20(SB), Y10 // -FIX(0.71414)
	VMOVDQU      yccshuf<>(SB), Y9

group:
	VPMOVZXBD (SI), Y0
	VPMOVZXBD (BX), Y1
	VPMOVZXBD (DX), Y2
	VPSUBD    Y15, Y1, Y1
	VPSUBD    Y15, Y2, Y2
	VPMULLD   Y13, Y2, Y3
	VPADDD    Y14, Y3, Y3
	VPSRAD    $16, Y3, Y3
	VPADDD    Y0, Y3, Y3    // R
	VPMULLD   Y12, Y1, Y4
	VPADDD    Y14, Y4, Y4
	VPSRAD    $16, Y4, Y4
	VPADDD    Y0, Y4, Y4    // B
	VPMULLD   Y11, Y1, Y5
	VPMULLD   Y10, Y2, Y6
	VPADDD    Y6, Y5, Y5
	VPADDD    Y14, Y5, Y5
	VPSRAD    $16, Y5, Y5
	VPADDD    Y0, Y5, Y5    // G
	VPACKSSDW Y5, Y3, Y3    // per half: R0-3 G0-3 (int16)
	VPACKSSDW Y4, Y4, Y4    // per half: B0-3 B0-3
	VPACKUSWB Y4, Y3, Y3    // per half: R0-3 G0-3 B0-3 B0-3 (bytes)
	VPSHUFB   Y9, Y3, Y3    // per half: R0 G0 B0 ... R3 G3 B3, 4 bytes spare
	VMOVDQU   X3, (DI)
	VEXTRACTI128 $1, Y3, 12(DI)
	ADDQ      $8, SI
	ADDQ      $8, BX
	ADDQ      $8, DX
	ADDQ      $24, DI
	DECQ      CX
	JNZ       group
	VZEROUPPER
	RET

DATA ycc<>+0(SB)/4, $128
DATA ycc<>+4(SB)/4, $32768
DATA ycc<>+8(SB)/4, $91881
DATA ycc<>+12(SB)/4, $116130
DATA ycc<>+16(SB)/4, $-22554
DATA ycc<>+20(SB)/4, $-46802
GLOBL ycc<>(SB), RODATA|NOPTR, $24

DATA yccshuf<>+0(SB)/8, $0x0602090501080400
DATA yccshuf<>+8(SB)/8, $0x808080800b07030a
DATA yccshuf<>+16(SB)/8, $0x0602090501080400
DATA yccshuf<>+24(SB)/8, $0x808080800b07030a
GLOBL yccshuf<>(SB), RODATA|NOPTR, $32

// func h2FancyAVX2(out, in0, in1 *uint8, groups int, even, odd int16)
// jdsample.c's fancy upsampling by 2 across, for the samples i in
// [1, 1+16·groups) of a row: with c(j) = 3·in0[j] + in1[j], out[2i] =
// (3·c(i) + c(i-1) + even) >> 4 and out[2i+1] = (3·c(i) + c(i+1) + odd)
// >> 4, in 16-bit lanes (at most 16·255 + 8). h2v2_fancy_upsample is
// even, odd = 8, 7; h2v1_fancy_upsample is in0 = in1 with 4, 8. in0 and
// in1 are read from index 0 to 16·groups+2.
TEXT ·h2FancyAVX2(SB), NOSPLIT, $0-36
	MOVQ         out+0(FP), DI
	MOVQ         in0+8(FP), SI
	MOVQ         in1+16(FP), BX
	MOVQ         groups+24(FP), CX
	ADDQ         $2, DI
	VPBROADCASTW even+32(FP), Y14
	VPBROADCASTW odd+34(FP), Y13

group:
	VPMOVZXBW (SI), Y0
	VPMOVZXBW 1(SI), Y1
	VPMOVZXBW 2(SI), Y2
	VPMOVZXBW (BX), Y3
	VPMOVZXBW 1(BX), Y4
	VPMOVZXBW 2(BX), Y5
	VPADDW    Y0, Y0, Y6
	VPADDW    Y0, Y6, Y6
	VPADDW    Y3, Y6, Y6   // c(i-1)
	VPADDW    Y1, Y1, Y7
	VPADDW    Y1, Y7, Y7
	VPADDW    Y4, Y7, Y7   // c(i)
	VPADDW    Y2, Y2, Y8
	VPADDW    Y2, Y8, Y8
	VPADDW    Y5, Y8, Y8   // c(i+1)
	VPADDW    Y7, Y7, Y9
	VPADDW    Y7, Y9, Y9   // 3·c(i)
	VPADDW    Y6, Y9, Y10
	VPADDW    Y14, Y10, Y10
	VPSRLW    $4, Y10, Y10 // even outputs
	VPADDW    Y8, Y9, Y11
	VPADDW    Y13, Y11, Y11
	VPSRLW    $4, Y11, Y11 // odd outputs
	VPSLLW    $8, Y11, Y11
	VPOR      Y11, Y10, Y10 // each word: even, odd byte
	VMOVDQU   Y10, (DI)
	ADDQ      $16, SI
	ADDQ      $16, BX
	ADDQ      $32, DI
	DECQ      CX
	JNZ       group
	VZEROUPPER
	RET
