package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The epilogues of Linear and softmax's exponential. epilogue writes the
// functions that finish a GEMM's rows: dst = act(src + bias), or dst +=
// that (epilogue8 and epilogue16), and the int8 forms that dequantize the
// int32 sums on the way in (epilogueI8x8, epilogueI8x16); expSub writes
// softmax's expSub8. One description serves 8 lanes (YMM, AVX2+FMA) and
// 16 (ZMM, AVX-512F): the 16-lane code is the 8-lane code instruction for
// instruction (VRNDSCALEPS $0 rounds as VROUNDPS $0 does; constants are
// broadcast from lane 0 of the same 8-lane tables), so every lane gets the
// same bits with either set. The erf GELU exists in 8 lanes only (the
// 16-lane callers hand it to the 8-lane code).

// vconsts are the constants of exp and the activations, as float32 (or
// int32) bits; each is stored 8 lanes wide.
var vconsts = []struct {
	name string
	bits uint32
}{
	// exp (Cephes expf): clamps, log2(e), ln 2 in two parts, polynomial.
	{"hi", 0x42b0c0a5}, {"lo", 0xc2aeac50}, {"log2e", 0x3fb8aa3b},
	{"c1", 0x3f318000}, {"c2", 0xb95e8083},
	{"p0", 0x39506967}, {"p1", 0x3ab743ce}, {"p2", 0x3c088908},
	{"p3", 0x3d2aa9c1}, {"p4", 0x3e2aaaaa}, {"p5", 0x3f000000},
	{"one", 0x3f800000}, {"i127", 0x7f},
	// QuickGELU: x·sigmoid(1.702x) = x / (1 + exp(-1.702x)).
	{"m1702", 0xbfd9db23},
	// GELU: erfc by the Numerical Recipes Chebyshev fit, coefficients ec0-ec9.
	{"half", 0x3f000000}, {"two", 0x40000000}, {"rsqrt2", 0x3f3504f3}, {"absmask", 0x7fffffff},
	{"ec0", 0xbfa1fc4e}, {"ec1", 0x3f8000c7}, {"ec2", 0x3ebf88fb}, {"ec3", 0x3dc636c9},
	{"ec4", 0xbe3ec24c}, {"ec5", 0x3e8ec7cc}, {"ec6", 0xbf914e5d}, {"ec7", 0x3fbe87b0},
	{"ec8", 0xbf527892}, {"ec9", 0x3e2ef945},
}

// cst holds the constants' symbols once constants has declared them.
var cst = map[string]Mem{}

// constants declares vconsts as read-only data.
func constants() {
	for _, c := range vconsts {
		m := GLOBL(c.name, RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(c.bits))
		}
		cst[c.name] = m
	}
}

// simd emits the instructions of one vector width: lanes 8 (YMM) or 16
// (ZMM); v(i) is vector register i.
type simd struct{ lanes int }

func (s simd) v(i int) VecPhysical {
	if s.lanes == 16 {
		return zs[i]
	}
	return ys[i]
}

// bytes is the size of a vector in bytes.
func (s simd) bytes() int { return 4 * s.lanes }

// withConst runs op(constant name, x, y), as the broadcast (.BCST) form in
// 16 lanes.
func (s simd) withConst(op, bcst func(...Op), name string, x, y Op) {
	if s.lanes == 16 {
		bcst(cst[name], x, y)
		return
	}
	op(cst[name], x, y)
}

// load sets x to constant name in every lane.
func (s simd) load(name string, x VecPhysical) {
	if s.lanes == 16 {
		VBROADCASTSS(cst[name], x)
		return
	}
	VMOVUPS(cst[name], x)
}

// exp replaces x by exp(x) (Cephes expf: Cody-Waite reduction, degree-6
// polynomial, exponent built in the integer unit), using t1 and t2.
func (s simd) exp(x, t1, t2 VecPhysical) {
	s.withConst(VMINPS, VMINPS_BCST, "hi", x, x)
	s.withConst(VMAXPS, VMAXPS_BCST, "lo", x, x)
	s.withConst(VMULPS, VMULPS_BCST, "log2e", x, t1)
	if s.lanes == 16 {
		VRNDSCALEPS(U8(0), t1, t1)
	} else {
		VROUNDPS(U8(0), t1, t1)
	}
	s.withConst(VFNMADD231PS, VFNMADD231PS_BCST, "c1", t1, x)
	s.withConst(VFNMADD231PS, VFNMADD231PS_BCST, "c2", t1, x)
	s.load("p0", t2)
	for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		s.withConst(VFMADD213PS, VFMADD213PS_BCST, p, x, t2)
	}
	VMULPS(x, t2, t2)
	VFMADD213PS(x, x, t2)
	s.withConst(VADDPS, VADDPS_BCST, "one", t2, t2)
	VCVTPS2DQ(t1, t1)
	s.withConst(VPADDD, VPADDD_BCST, "i127", t1, t1)
	VPSLLD(U8(23), t1, t1)
	VMULPS(t1, t2, x)
}

// quickGELU replaces x by x·sigmoid(1.702·x), using t1-t3.
func (s simd) quickGELU(x, t1, t2, t3 VecPhysical) {
	s.withConst(VMULPS, VMULPS_BCST, "m1702", x, t3)
	s.exp(t3, t1, t2)
	s.withConst(VADDPS, VADDPS_BCST, "one", t3, t3)
	VDIVPS(t3, x, x)
}

// gelu replaces Y0 by Y0/2·erfc(-Y0/√2) (uses Y1-Y4), with erfc(u) for
// u = |v|/√2 ≥ 0 from the Numerical Recipes Chebyshev fit (relative error
// < 1.2e-7) and erfc(-u) = 2 - erfc(u), so no digits cancel for negative v.
func gelu() {
	VANDPS(cst["absmask"], Y0, Y3)
	VMULPS(cst["rsqrt2"], Y3, Y3)
	VMOVUPS(cst["one"], Y1)
	VFMADD231PS(cst["half"], Y3, Y1)
	VMOVUPS(cst["one"], Y2)
	VDIVPS(Y1, Y2, Y1)
	VMOVUPS(cst["ec9"], Y2)
	for i := 8; i >= 0; i-- {
		VFMADD213PS(cst[fmt.Sprintf("ec%d", i)], Y1, Y2)
	}
	VFNMADD231PS(Y3, Y3, Y2)
	simd{8}.exp(Y2, Y3, Y4)
	VMULPS(Y1, Y2, Y2)
	VMOVUPS(cst["two"], Y3)
	VSUBPS(Y2, Y3, Y3)
	VBLENDVPS(Y0, Y2, Y3, Y3)
	VMULPS(cst["half"], Y0, Y0)
	VMULPS(Y3, Y0, Y0)
}

// Flags of the epilogues (epBias, epQuickGELU, epAcc, epGELU in tensor).
const (
	flagBias      = 1
	flagQuickGELU = 2
	flagAcc       = 4
	flagGELU      = 8
)

// dequant replaces the int32 sums x by float32(x − zx·cs) · (sx·sw), using
// t: zx and sx hold a row's zero point and scale in every lane, cs and sw
// address the columns' weight sums and scales.
func dequant(x, zx, sx, t VecPhysical, cs, sw Mem) {
	VPMULLD(cs, zx, t)
	VPSUBD(t, x, x)
	VCVTDQ2PS(x, x)
	VMULPS(sw, sx, t)
	VMULPS(t, x, x)
}

// ifFlag writes body, skipped (to the label name_l) unless flag f is set
// in the register flags.
func ifFlag(name string, flags GPPhysical, f int, l string, body func()) {
	TESTQ(U32(f), flags)
	JZ(LabelRef(name + "_" + l))
	body()
	Label(name + "_" + l)
}

// addr is the memory operand of a parameter or result.
func addr(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// epilogue writes epilogue8 or epilogue16 or, with i8, epilogueI8x8 or
// epilogueI8x16 (see tensor/kernels_amd64.go for their contracts). Per
// vector of n (a multiple of the lane count): the int8 forms first compute
// src = float32(c − zx·cs) · (sx·sw), as dequant does; then src + bias
// (flag 1), QuickGELU (flag 2) or, in 8 lanes, the erf GELU (flag 8), and
// dst + that (flag 4).
func epilogue(lanes int, i8 bool) {
	s := simd{lanes}
	name := fmt.Sprintf("epilogue%d", lanes)
	sig := "func(dst, src, bias *float32, n int, flags int)"
	if i8 {
		name = fmt.Sprintf("epilogueI8x%d", lanes)
		sig = "func(dst *float32, c, cs *int32, sw, bias *float32, n int, flags int, zx int32, sx float32)"
	}
	TEXT(name, NOSPLIT, sig)
	Doc(name + " finishes a GEMM's row (see epilogue in internal/asmgen).")
	Load(Param("dst"), RDI)
	if i8 {
		Load(Param("c"), RSI)
		Load(Param("cs"), R9)
		Load(Param("sw"), R10)
	} else {
		Load(Param("src"), RSI)
	}
	Load(Param("bias"), RDX)
	Load(Param("n"), RCX)
	Load(Param("flags"), R8)
	zx, sx := s.v(6), s.v(7)
	if i8 {
		Load(Param("zx"), EAX)
		if lanes == 16 {
			VPBROADCASTD(EAX, zx)
		} else {
			VMOVD(EAX, X6)
			VPBROADCASTD(X6, zx)
		}
		VBROADCASTSS(addr(Param("sx")), sx)
	}
	v0, v1 := s.v(0), s.v(1)
	Label(name + "_loop")
	if i8 {
		if lanes == 16 {
			VMOVDQU32(Mem{Base: RSI}, v0)
		} else {
			VMOVDQU(Mem{Base: RSI}, v0)
		}
		dequant(v0, zx, sx, v1, Mem{Base: R9}, Mem{Base: R10})
	} else {
		VMOVUPS(Mem{Base: RSI}, v0)
	}
	ifFlag(name, R8, flagBias, "nobias", func() { VADDPS(Mem{Base: RDX}, v0, v0) })
	ifFlag(name, R8, flagQuickGELU, "noact", func() { s.quickGELU(v0, s.v(1), s.v(2), s.v(3)) })
	if lanes == 8 {
		ifFlag(name, R8, flagGELU, "nogelu", gelu)
	}
	ifFlag(name, R8, flagAcc, "noacc", func() { VADDPS(Mem{Base: RDI}, v0, v0) })
	VMOVUPS(v0, Mem{Base: RDI})
	ptrs := []GPPhysical{RSI, RDI, RDX}
	if i8 {
		ptrs = []GPPhysical{RSI, R9, R10, RDI, RDX}
	}
	for _, p := range ptrs {
		ADDQ(U8(s.bytes()), p)
	}
	SUBQ(U8(lanes), RCX)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

// expSub writes expSub8: x[i] = exp(x[i] − m) for n (a positive multiple
// of 8) values, returning their sum (8 lane sums, then across the lanes as
// the hand-written row helpers' HSUM does).
func expSub() {
	TEXT("expSub8", NOSPLIT, "func(x *float32, n int, m float32) float32")
	Doc("expSub8 sets x[i] = exp(x[i] − m) and returns their sum (see expSub in internal/asmgen).")
	Load(Param("x"), RSI)
	Load(Param("n"), RCX)
	VBROADCASTSS(addr(Param("m")), Y7)
	VXORPS(Y8, Y8, Y8)
	Label("expSub8_loop")
	VMOVUPS(Mem{Base: RSI}, Y0)
	VSUBPS(Y7, Y0, Y0)
	simd{8}.exp(Y0, Y1, Y2)
	VMOVUPS(Y0, Mem{Base: RSI})
	VADDPS(Y0, Y8, Y8)
	ADDQ(U8(32), RSI)
	SUBQ(U8(8), RCX)
	JNZ(LabelRef("expSub8_loop"))
	VMOVAPS(Y8, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VPERMILPS(U8(0x4e), X0, X1)
	VADDPS(X1, X0, X0)
	VPERMILPS(U8(0xb1), X0, X1)
	VADDPS(X1, X0, X0)
	VMOVSS(X0, addr(ReturnIndex(0)))
	VZEROUPPER()
	RET()
}
