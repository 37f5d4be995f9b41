package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The row helpers of int8 Linear (tensor/quant.go), in 8 lanes (YMM,
// AVX2) and 16 (ZMM, AVX-512F): minMax, a row's range, and quantRow, its
// quantization to u8. Each computes what its portable twin computes (the
// same float32 multiply, round-half-even, the same clamp to [0, 255]), so
// every kernel set gives the same int8 activations. The 16-lane range
// reduces its halves in another order than the 8-lane one, which can only
// change the sign of a zero or which NaN comes out: quant.go takes
// min(lo, 0) and max(hi, 0) first, so the scale and zero point are the same.

// minMax writes minMax<lanes>(x *float32, n int) (lo, hi float32), for n a
// positive multiple of lanes.
func minMax(lanes int) {
	s := simd{lanes}
	name := fmt.Sprintf("minMax%d", lanes)
	TEXT(name, NOSPLIT, "func(x *float32, n int) (lo, hi float32)")
	Doc(fmt.Sprintf("%s returns the least and the greatest of x[0:n], n a positive multiple of %d.", name, lanes))
	Load(Param("x"), RSI)
	Load(Param("n"), RCX)
	lo, hi, t := s.v(0), s.v(1), s.v(2)
	VMOVUPS(Mem{Base: RSI}, lo)
	VMOVAPS(lo, hi)
	ADDQ(U32(s.bytes()), RSI)
	SUBQ(U32(lanes), RCX)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	VMOVUPS(Mem{Base: RSI}, t)
	VMINPS(t, lo, lo)
	VMAXPS(t, hi, hi)
	ADDQ(U32(s.bytes()), RSI)
	SUBQ(U32(lanes), RCX)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	if lanes == 16 {
		Comment("Halve to 8 lanes, then as minMax8.")
		VEXTRACTF64X4(U8(1), lo, Y2)
		VMINPS(Y2, Y0, Y0)
		VEXTRACTF64X4(U8(1), hi, Y2)
		VMAXPS(Y2, Y1, Y1)
	}
	for _, r := range []struct {
		y, x VecPhysical
		op   func(...Op)
	}{{Y0, X0, VMINPS}, {Y1, X1, VMAXPS}} {
		VEXTRACTF128(U8(1), r.y, X2)
		r.op(X2, r.x, r.x)
		VPERMILPS(U8(0x4e), r.x, X2)
		r.op(X2, r.x, r.x)
		VPERMILPS(U8(0xb1), r.x, X2)
		r.op(X2, r.x, r.x)
	}
	Store(X0, ReturnIndex(0))
	Store(X1, ReturnIndex(1))
	VZEROUPPER()
	RET()
}

// quantRow writes quantRow<lanes>(dst *uint8, src *float32, n int, inv
// float32, z int32, stride int): each value clamp(roundEven(src[i]·inv) +
// z, 0, 255), group g (values 4g..4g+3) to dst + g·stride as 4 bytes, n a
// positive multiple of lanes. NaN converts to 0x80000000 and so gives 0
// in both widths, as in Go (products beyond the int32 range would too,
// where Go gives 255, but a row's own scale keeps them within ±255).
func quantRow(lanes int) {
	s := simd{lanes}
	name := fmt.Sprintf("quantRow%d", lanes)
	TEXT(name, NOSPLIT, "func(dst *uint8, src *float32, n int, inv float32, z int32, stride int)")
	Doc(fmt.Sprintf("%s quantizes src[0:n] to u8 (n a positive multiple of %d), 4 values every stride bytes of dst.", name, lanes))
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("n"), RCX)
	Load(Param("stride"), R8)
	x, inv, z := s.v(0), s.v(7), s.v(6)
	VBROADCASTSS(addr(Param("inv")), inv)
	Load(Param("z"), EAX)
	VMOVD(EAX, X6)
	VPBROADCASTD(X6, z)
	if lanes == 16 {
		VPXORD(Z5, Z5, Z5)
	}
	Label(name + "_loop")
	VMULPS(Mem{Base: RSI}, inv, x)
	VCVTPS2DQ(x, x)
	VPADDD(z, x, x)
	if lanes == 16 {
		Comment("Clamp: below 0 to 0, then above 255 to 255 (unsigned saturation).")
		VPMAXSD(Z5, x, x)
		VPMOVUSDB(x, X0)
	} else {
		Comment("Clamp: to int16 with signed saturation, then to u8 with unsigned.")
		VEXTRACTI128(U8(1), x, X1)
		VPACKSSDW(X1, X0, X0)
		VPACKUSWB(X0, X0, X0)
	}
	for g := 0; g < lanes/4; g++ {
		if g == 0 {
			VMOVD(X0, Mem{Base: RDI})
		} else {
			VPEXTRD(U8(g), X0, Mem{Base: RDI})
		}
		ADDQ(R8, RDI)
	}
	ADDQ(U32(s.bytes()), RSI)
	SUBQ(U32(lanes), RCX)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
