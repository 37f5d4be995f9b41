package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// transpose8 writes transpose8, which packs K for attention's scores
// (packTransposed in tensor): 8 rows of n float32 values (row i at src +
// i·ld values; n a positive multiple of 8) become n rows of 8 (row p at
// dst + p·ds values): dst[p·ds + i] = src[i·ld + p]. Each 8×8 block is
// transposed in registers: pairs of rows interleaved (VUNPCKLPS/HPS), then
// groups of four (VSHUFPS), then the 128-bit halves exchanged
// (VPERM2F128), as packStrip8 does for 4 rows.
func transpose8() {
	TEXT("transpose8", NOSPLIT, "func(dst *float32, ds int, src *float32, ld, n int)")
	Doc("transpose8 writes dst[p·ds + i] = src[i·ld + p] for i < 8, p < n (see transpose8 in internal/asmgen).")
	Load(Param("dst"), RDI)
	Load(Param("ds"), RDX)
	SHLQ(U8(2), RDX)
	Load(Param("src"), RSI)
	Load(Param("ld"), R8)
	SHLQ(U8(2), R8)
	Load(Param("n"), RCX)
	SHRQ(U8(3), RCX)
	// Rows 0-3 of src from SI, 4-7 from R9; rows 0-3 of dst from DI, 4-7
	// from R12; R10 and R11 are three strides.
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R10)
	LEAQ(Mem{Base: RDX, Index: RDX, Scale: 2}, R11)
	LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, R9)
	four := func(base, stride, three GPPhysical, i int) Mem {
		m := Mem{Base: base}
		switch i % 4 {
		case 1:
			m.Index, m.Scale = stride, 1
		case 2:
			m.Index, m.Scale = stride, 2
		case 3:
			m.Index, m.Scale = three, 1
		}
		return m
	}
	Label("transpose8_loop")
	LEAQ(Mem{Base: RDI, Index: RDX, Scale: 4}, R12)
	for i := 0; i < 8; i++ {
		base := RSI
		if i >= 4 {
			base = R9
		}
		VMOVUPS(four(base, R8, R10, i), ys[i])
	}
	// ys[8+i]: pairs of rows (i even: low halves of rows i and i+1 interleaved; odd: high).
	for i := 0; i < 8; i += 2 {
		VUNPCKLPS(ys[i+1], ys[i], ys[8+i])
		VUNPCKHPS(ys[i+1], ys[i], ys[9+i])
	}
	// ys[0..3]: columns 0|4, 1|5, 2|6, 3|7 of rows 0-3; ys[4..7] of rows 4-7.
	for h := 0; h < 2; h++ {
		t := ys[8+4*h:]
		s := ys[4*h:]
		VSHUFPS(U8(0x44), t[2], t[0], s[0])
		VSHUFPS(U8(0xEE), t[2], t[0], s[1])
		VSHUFPS(U8(0x44), t[3], t[1], s[2])
		VSHUFPS(U8(0xEE), t[3], t[1], s[3])
	}
	// ys[8+p]: column p of the 8 rows.
	for c := 0; c < 4; c++ {
		VPERM2F128(U8(0x20), ys[4+c], ys[c], ys[8+c])
		VPERM2F128(U8(0x31), ys[4+c], ys[c], ys[12+c])
	}
	for p := 0; p < 8; p++ {
		base := RDI
		if p >= 4 {
			base = R12
		}
		VMOVUPS(ys[8+p], four(base, RDX, R11, p))
	}
	ADDQ(U8(32), RSI)
	ADDQ(U8(32), R9)
	LEAQ(Mem{Base: RDI, Index: RDX, Scale: 8}, RDI)
	DECQ(RCX)
	JNZ(LabelRef("transpose8_loop"))
	VZEROUPPER()
	RET()
}
