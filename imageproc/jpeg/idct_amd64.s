//go:build amd64 && !purego

#include "textflag.h"

// One 1-D pass of jidctint.c's islow IDCT on eight vectors of int32 lanes,
// Y0..Y7 = the inputs 0..7 of each lane's transform, into Y0..Y7 (after
// the rounding RND, a register other than Y0..Y12, and the shift SH);
// Y8..Y12 are clobbered. The names are jidctint.c's. Exact for inputs
// within idctInputMax (see there).
#define IDCT_PASS(RND, SH) \
	VPADDD    Y2, Y6, Y8; /* even part: z1 = (z2 + z3)·FIX(0.541196100) */ \
	VPMULLD   c4433<>(SB), Y8, Y8; \
	VPMULLD   cn15137<>(SB), Y6, Y9; \
	VPADDD    Y8, Y9, Y9; /* tmp2 */ \
	VPMULLD   c6270<>(SB), Y2, Y10; \
	VPADDD    Y8, Y10, Y10; /* tmp3 */ \
	VPADDD    Y4, Y0, Y8; \
	VPSLLD    $13, Y8, Y8; /* tmp0 */ \
	VPSUBD    Y4, Y0, Y11; \
	VPSLLD    $13, Y11, Y11; /* tmp1 */ \
	VPADDD    Y10, Y8, Y0; /* tmp10 */ \
	VPSUBD    Y10, Y8, Y2; /* tmp13 */ \
	VPADDD    Y9, Y11, Y4; /* tmp11 */ \
	VPSUBD    Y9, Y11, Y6; /* tmp12 */ \
	VPADDD    Y1, Y7, Y8; /* odd part: tmp0..3 = Y7, Y5, Y3, Y1; z1 */ \
	VPADDD    Y3, Y5, Y9; /* z2 */ \
	VPADDD    Y3, Y7, Y10; /* z3 */ \
	VPADDD    Y1, Y5, Y11; /* z4 */ \
	VPADDD    Y11, Y10, Y12; \
	VPMULLD   c9633<>(SB), Y12, Y12; /* z5 */ \
	VPMULLD   c2446<>(SB), Y7, Y7; \
	VPMULLD   c16819<>(SB), Y5, Y5; \
	VPMULLD   c25172<>(SB), Y3, Y3; \
	VPMULLD   c12299<>(SB), Y1, Y1; \
	VPMULLD   cn7373<>(SB), Y8, Y8; \
	VPMULLD   cn20995<>(SB), Y9, Y9; \
	VPMULLD   cn16069<>(SB), Y10, Y10; \
	VPMULLD   cn3196<>(SB), Y11, Y11; \
	VPADDD    Y12, Y10, Y10; /* z3 += z5 */ \
	VPADDD    Y12, Y11, Y11; /* z4 += z5 */ \
	VPADDD    Y8, Y7, Y7; \
	VPADDD    Y10, Y7, Y7; /* tmp0 += z1 + z3 */ \
	VPADDD    Y9, Y5, Y5; \
	VPADDD    Y11, Y5, Y5; /* tmp1 += z2 + z4 */ \
	VPADDD    Y9, Y3, Y3; \
	VPADDD    Y10, Y3, Y3; /* tmp2 += z2 + z3 */ \
	VPADDD    Y8, Y1, Y1; \
	VPADDD    Y11, Y1, Y1; /* tmp3 += z1 + z4 */ \
	VPADDD    RND, Y0, Y0; \
	VPADDD    RND, Y4, Y4; \
	VPADDD    RND, Y6, Y6; \
	VPADDD    RND, Y2, Y2; \
	VPSUBD    Y1, Y0, Y8; /* 7: tmp10 - tmp3 */ \
	VPADDD    Y1, Y0, Y0; /* 0: tmp10 + tmp3 */ \
	VPADDD    Y3, Y4, Y1; /* 1: tmp11 + tmp2 */ \
	VPSUBD    Y3, Y4, Y9; /* 6: tmp11 - tmp2 */ \
	VPADDD    Y7, Y2, Y3; /* 3: tmp13 + tmp0 */ \
	VPSUBD    Y7, Y2, Y4; /* 4: tmp13 - tmp0 */ \
	VPADDD    Y5, Y6, Y2; /* 2: tmp12 + tmp1 */ \
	VPSUBD    Y5, Y6, Y5; /* 5: tmp12 - tmp1 */ \
	VMOVDQA   Y9, Y6; \
	VMOVDQA   Y8, Y7; \
	VPSRAD    SH, Y0, Y0; \
	VPSRAD    SH, Y1, Y1; \
	VPSRAD    SH, Y2, Y2; \
	VPSRAD    SH, Y3, Y3; \
	VPSRAD    SH, Y4, Y4; \
	VPSRAD    SH, Y5, Y5; \
	VPSRAD    SH, Y6, Y6; \
	VPSRAD    SH, Y7, Y7

// Transposes the 8×8 int32 matrix in Y0..Y7 (rows) into Y0..Y7; Y8..Y15
// are clobbered.
#define TRANSPOSE \
	VPUNPCKLDQ  Y1, Y0, Y8; \
	VPUNPCKHDQ  Y1, Y0, Y9; \
	VPUNPCKLDQ  Y3, Y2, Y10; \
	VPUNPCKHDQ  Y3, Y2, Y11; \
	VPUNPCKLDQ  Y5, Y4, Y12; \
	VPUNPCKHDQ  Y5, Y4, Y13; \
	VPUNPCKLDQ  Y7, Y6, Y14; \
	VPUNPCKHDQ  Y7, Y6, Y15; \
	VPUNPCKLQDQ Y10, Y8, Y0; \
	VPUNPCKHQDQ Y10, Y8, Y1; \
	VPUNPCKLQDQ Y11, Y9, Y2; \
	VPUNPCKHQDQ Y11, Y9, Y3; \
	VPUNPCKLQDQ Y14, Y12, Y4; \
	VPUNPCKHQDQ Y14, Y12, Y5; \
	VPUNPCKLQDQ Y15, Y13, Y6; \
	VPUNPCKHQDQ Y15, Y13, Y7; \
	VPERM2I128  $0x20, Y4, Y0, Y8; \
	VPERM2I128  $0x31, Y4, Y0, Y12; \
	VPERM2I128  $0x20, Y5, Y1, Y9; \
	VPERM2I128  $0x31, Y5, Y1, Y13; \
	VPERM2I128  $0x20, Y6, Y2, Y10; \
	VPERM2I128  $0x31, Y6, Y2, Y14; \
	VPERM2I128  $0x20, Y7, Y3, Y11; \
	VPERM2I128  $0x31, Y7, Y3, Y15; \
	VMOVDQA     Y8, Y0; \
	VMOVDQA     Y9, Y1; \
	VMOVDQA     Y10, Y2; \
	VMOVDQA     Y11, Y3; \
	VMOVDQA     Y12, Y4; \
	VMOVDQA     Y13, Y5; \
	VMOVDQA     Y14, Y6; \
	VMOVDQA     Y15, Y7

// Sets Y8 to all ones in the lanes where some |Y0..Y7| exceeds
// idctInputMax; Y9 is clobbered.
#define OVER_MAX \
	VPABSD  Y0, Y8; \
	VPABSD  Y1, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPABSD  Y2, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPABSD  Y3, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPABSD  Y4, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPABSD  Y5, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPABSD  Y6, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPABSD  Y7, Y9; \
	VPMAXUD Y9, Y8, Y8; \
	VPMINUD inmax<>(SB), Y8, Y9; \
	VPCMPEQD Y9, Y8, Y9; \
	VPCMPEQD Y8, Y8, Y8; \
	VPXOR   Y9, Y8, Y8

#define DEQUANT(R, IN, Q) \
	VPMOVSXWD IN(SI), R; \
	VPMULLD   Q(BX), R, R

// func idctIslowAVX2(in *[64]int16, q *[64]int32, out *uint8, stride int) bool
// jpeg_idct_islow: dequantizes the block, runs pass 1 on its columns (the
// eight in parallel), transposes, pass 2 on its rows, transposes back and
// range-limits as jidctint.c's table does (the low 10 bits, sign-extended,
// plus 128, clamped to [0, 255]), storing 8 bytes per row. It reports
// false, having written nothing, when a dequantized coefficient or a
// pass-1 output exceeds idctInputMax in magnitude (corrupt data; the Go
// form, in int64, then does the block).
TEXT ·idctIslowAVX2(SB), NOSPLIT, $0-33
	MOVQ in+0(FP), SI
	MOVQ q+8(FP), BX
	MOVQ out+16(FP), DI
	MOVQ stride+24(FP), DX
	DEQUANT(Y0, 0, 0)
	DEQUANT(Y1, 16, 32)
	DEQUANT(Y2, 32, 64)
	DEQUANT(Y3, 48, 96)
	DEQUANT(Y4, 64, 128)
	DEQUANT(Y5, 80, 160)
	DEQUANT(Y6, 96, 192)
	DEQUANT(Y7, 112, 224)
	OVER_MAX
	VPTEST Y8, Y8
	JNZ    bail
	VMOVDQU rnd1<>(SB), Y13
	IDCT_PASS(Y13, $11)
	OVER_MAX
	VPTEST Y8, Y8
	JNZ    bail
	TRANSPOSE
	VMOVDQU rnd2<>(SB), Y13
	IDCT_PASS(Y13, $18)
	TRANSPOSE

	// Range limit: sign-extend the low 10 bits, add 128, saturate.
	VPSLLD $22, Y0, Y0
	VPSLLD $22, Y1, Y1
	VPSLLD $22, Y2, Y2
	VPSLLD $22, Y3, Y3
	VPSLLD $22, Y4, Y4
	VPSLLD $22, Y5, Y5
	VPSLLD $22, Y6, Y6
	VPSLLD $22, Y7, Y7
	VPSRAD $22, Y0, Y0
	VPSRAD $22, Y1, Y1
	VPSRAD $22, Y2, Y2
	VPSRAD $22, Y3, Y3
	VPSRAD $22, Y4, Y4
	VPSRAD $22, Y5, Y5
	VPSRAD $22, Y6, Y6
	VPSRAD $22, Y7, Y7
	VMOVDQU center<>(SB), Y10
	VPADDD  Y10, Y0, Y0
	VPADDD  Y10, Y1, Y1
	VPADDD  Y10, Y2, Y2
	VPADDD  Y10, Y3, Y3
	VPADDD  Y10, Y4, Y4
	VPADDD  Y10, Y5, Y5
	VPADDD  Y10, Y6, Y6
	VPADDD  Y10, Y7, Y7
	VMOVDQU rowperm<>(SB), Y10
	VPACKSSDW Y1, Y0, Y8 // per half: rows 0, 1 (4 samples each)
	VPACKSSDW Y3, Y2, Y9 // rows 2, 3
	VPACKUSWB Y9, Y8, Y8 // per half: rows 0-3, 4 samples each
	VPERMD    Y8, Y10, Y8 // rows 0-3, 8 samples each
	VPACKSSDW Y5, Y4, Y11
	VPACKSSDW Y7, Y6, Y12
	VPACKUSWB Y12, Y11, Y11
	VPERMD    Y11, Y10, Y11 // rows 4-7
	VEXTRACTI128 $1, Y8, X9
	VEXTRACTI128 $1, Y11, X12
	LEAQ    (DI)(DX*2), CX
	VMOVQ   X8, (DI)
	VPEXTRQ $1, X8, (DI)(DX*1)
	VMOVQ   X9, (CX)
	VPEXTRQ $1, X9, (CX)(DX*1)
	LEAQ    (CX)(DX*2), CX
	LEAQ    (CX)(DX*2), R8
	VMOVQ   X11, (CX)
	VPEXTRQ $1, X11, (CX)(DX*1)
	VMOVQ   X12, (R8)
	VPEXTRQ $1, X12, (R8)(DX*1)
	VZEROUPPER
	MOVB $1, ret+32(FP)
	RET

bail:
	VZEROUPPER
	MOVB $0, ret+32(FP)
	RET

// Constants, eight lanes each: jidctint.c's FIX() values (CONST_BITS = 13),
// the two passes' rounding, the centring and idctInputMax.
#define LANES8(NAME, V) \
	DATA NAME+0(SB)/4, V; DATA NAME+4(SB)/4, V; DATA NAME+8(SB)/4, V; DATA NAME+12(SB)/4, V; \
	DATA NAME+16(SB)/4, V; DATA NAME+20(SB)/4, V; DATA NAME+24(SB)/4, V; DATA NAME+28(SB)/4, V; \
	GLOBL NAME(SB), RODATA|NOPTR, $32

LANES8(c4433<>, $4433) // FIX_0_541196100
LANES8(cn15137<>, $-15137) // -FIX_1_847759065
LANES8(c6270<>, $6270) // FIX_0_765366865
LANES8(c9633<>, $9633) // FIX_1_175875602
LANES8(c2446<>, $2446) // FIX_0_298631336
LANES8(c16819<>, $16819) // FIX_2_053119869
LANES8(c25172<>, $25172) // FIX_3_072711026
LANES8(c12299<>, $12299) // FIX_1_501321110
LANES8(cn7373<>, $-7373) // -FIX_0_899976223
LANES8(cn20995<>, $-20995) // -FIX_2_562915447
LANES8(cn16069<>, $-16069) // -FIX_1_961570560
LANES8(cn3196<>, $-3196) // -FIX_0_390180644
LANES8(rnd1<>, $0x400) // 1 << (CONST_BITS-PASS1_BITS-1)
LANES8(rnd2<>, $0x20000) // 1 << (CONST_BITS+PASS1_BITS+3-1)
LANES8(center<>, $128)
LANES8(inmax<>, $32768) // idctInputMax

DATA rowperm<>+0(SB)/4, $0
DATA rowperm<>+4(SB)/4, $4
DATA rowperm<>+8(SB)/4, $1
DATA rowperm<>+12(SB)/4, $5
DATA rowperm<>+16(SB)/4, $2
DATA rowperm<>+20(SB)/4, $6
DATA rowperm<>+24(SB)/4, $3
DATA rowperm<>+28(SB)/4, $7
GLOBL rowperm<>(SB), RODATA|NOPTR, $32
