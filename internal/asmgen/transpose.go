package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// transpose writes the two routines that turn rows of float32 values into
// columns, with AVX: rows of src (row i at src + i·ld values), n values
// each (n a positive multiple of 8), eight columns a step.
//
//   - packStrip8 (rows 4) packs x for Linear's tiles: dst[4p + i] =
//     src[i·ld + p], the columns of a strip side by side.
//   - transpose8 (rows 8) packs K for attention's scores (packTransposed
//     in tensor): dst[p·ds + i] = src[i·ld + p], column p at dst + p·ds.
//
// Each group of four rows becomes columns in two steps: pairs of rows
// interleaved (VUNPCKLPS/HPS), then pairs of pairs (VSHUFPS), which leaves
// columns c and c+4 of the four rows in the two 128-bit halves of one
// register; VPERM2F128 then puts the halves where they go.
func transpose(rows int) {
	name, sig := "transpose8", "func(dst *float32, ds int, src *float32, ld, n int)"
	if rows == 4 {
		name, sig = "packStrip8", "func(dst, src *float32, ld, n int)"
	}
	TEXT(name, NOSPLIT, sig)
	if rows == 4 {
		Doc("packStrip8 writes dst[4p + i] = src[i·ld + p] for i < 4, p < n (see transpose in internal/asmgen).")
	} else {
		Doc("transpose8 writes dst[p·ds + i] = src[i·ld + p] for i < 8, p < n (see transpose in internal/asmgen).")
	}
	Load(Param("dst"), RDI)
	if rows == 8 {
		Load(Param("ds"), RDX)
		SHLQ(U8(2), RDX)
		LEAQ(Mem{Base: RDX, Index: RDX, Scale: 2}, R11)
	}
	Load(Param("src"), RSI)
	Load(Param("ld"), R8)
	SHLQ(U8(2), R8)
	Load(Param("n"), RCX)
	SHRQ(U8(3), RCX)
	// Rows 0-3 of src from SI, 4-7 from R9 (R10: three strides); with 8
	// rows, rows 0-3 of dst from DI, 4-7 from R12 (R11: three strides).
	LEAQ(Mem{Base: R8, Index: R8, Scale: 2}, R10)
	if rows == 8 {
		LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, R9)
	}
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
	Label(name + "_loop")
	for i := 0; i < rows; i++ {
		base := RSI
		if i >= 4 {
			base = R9
		}
		VMOVUPS(four(base, R8, R10, i), ys[i])
	}
	// Group g of four rows: pairs in ys[8+4g..], then ys[4g+c] holds
	// columns c and c+4 of the group's rows.
	for g := 0; g < rows/4; g++ {
		r, t := ys[4*g:], ys[8+4*g:]
		VUNPCKLPS(r[1], r[0], t[0])
		VUNPCKHPS(r[1], r[0], t[1])
		VUNPCKLPS(r[3], r[2], t[2])
		VUNPCKHPS(r[3], r[2], t[3])
		VSHUFPS(U8(0x44), t[2], t[0], r[0])
		VSHUFPS(U8(0xEE), t[2], t[0], r[1])
		VSHUFPS(U8(0x44), t[3], t[1], r[2])
		VSHUFPS(U8(0xEE), t[3], t[1], r[3])
	}
	if rows == 4 {
		// Columns 0-1, 2-3, 4-5, 6-7 of the strip, one after the other.
		VPERM2F128(U8(0x20), Y1, Y0, Y4)
		VPERM2F128(U8(0x20), Y3, Y2, Y5)
		VPERM2F128(U8(0x31), Y1, Y0, Y6)
		VPERM2F128(U8(0x31), Y3, Y2, Y7)
		for i := 0; i < 4; i++ {
			VMOVUPS(ys[4+i], Mem{Base: RDI, Disp: 32 * i})
		}
		ADDQ(U8(32), RSI)
		ADDQ(U32(128), RDI)
	} else {
		// ys[8+p]: column p of the 8 rows, stored at dst + p·ds.
		for c := 0; c < 4; c++ {
			VPERM2F128(U8(0x20), ys[4+c], ys[c], ys[8+c])
			VPERM2F128(U8(0x31), ys[4+c], ys[c], ys[12+c])
		}
		LEAQ(Mem{Base: RDI, Index: RDX, Scale: 4}, R12)
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
	}
	DECQ(RCX)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
