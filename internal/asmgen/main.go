// Command asmgen writes the generated assembly of package tensor: the
// GEMM tiles of one template (AVX2 2×24 and 4×24, AVX-512 4×48 and 8×48,
// the 2-row ones also over two panels at once, float32 and int8, the full
// 4×24 and 8×48 ones also with Linear's epilogue fused for layers without
// an activation: tile), the int8 GEMM
// micro-kernels for CPUs without AVX-512, the epilogues of Linear in 8 and
// 16 lanes and softmax's exponential (epilogue.go), the transposes that
// pack x for Linear and K for attention (transpose.go), the row range and
// quantization of int8 Linear in 8 and 16 lanes (quant.go), the float16 scan of a
// search (dotsF16) and the FMA peak loops (go generate in tensor runs it;
// its output, tensor/generated_amd64.s, is committed).
//
// Two kernels compute the exact int32 products of u8 activations and s8
// weights in the int8 layout (layoutI8: per group of 4 inputs, the 4
// weights of each of the 48 columns side by side):
//
//   - gemm4x24i8ubsw, for every CPU with AVX2: VPMADDUBSW multiplies u8 by s8
//     and adds pairs into int16 with saturation, then VPMADDWD with ones adds
//     the pairs into int32. PackInt8 keeps weights within ±63, so a pair is
//     at most 2·255·63 = 32130 and never saturates: the sums are exact.
//   - gemm4x24i8vnni, for CPUs with AVX-VNNI (Intel Alder Lake and later, AMD
//     Zen 5): VPDPBUSD in its VEX (256-bit) form adds the four u8×s8 products
//     of each lane into the accumulators. Go's assembler knows only the EVEX
//     (AVX-512) form of VPDPBUSD, so its VEX form is written as bytes.
//
// Both keep a 4-row × 24-column tile in 12 accumulators, and come in the
// forms of the ZMM tiles (tile4x24): plain, prefetching the next weights
// (…pf) and with Linear's epilogue fused (…ep). On the Zen 5 guest with
// AVX2 forced, these forms and the loop unrolled by four took the int8
// tower from 29–32 to 28–31 ms/image at batch 1 (3.5%), 1–4% at batch 8;
// with AVX-VNNI 5–9% and 1.5%.
//
// The peak loops (fmaPeakAVX2, fmaPeakAVX512) run nothing but independent
// fused multiply-adds, enough chains to cover the FMA units' latency on
// every x86 core (4 cycles × 2 units needs 8; they run 12): the fp32 rate
// no GEMM on the machine can beat, which goclip bench reports the towers
// against.
package main

import (
	"fmt"
	"math/bits"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	constants()
	for _, f := range []i8Form{i8Plain, i8PF, i8Ep} {
		ubsw(f)
		vnni(f)
	}
	peak("fmaPeakAVX2", ys[:14], 8)
	peak("fmaPeakAVX512", zs, 16)
	dotsF16(4)
	dotsF16(1)
	tile("gemm4x24", tileSpec{rows: 4, lanes: 8})
	tile("gemm2x24", tileSpec{rows: 2, lanes: 8})
	tile("gemm2x24x2", tileSpec{rows: 2, lanes: 8, pair: true})
	tile("gemm8x48", tileSpec{rows: 8, lanes: 16})
	tile("gemm4x48", tileSpec{rows: 4, lanes: 16})
	tile("gemm2x48", tileSpec{rows: 2, lanes: 16})
	tile("gemm2x48x2", tileSpec{rows: 2, lanes: 16, pair: true})
	tile("gemm4x24pf", tileSpec{rows: 4, lanes: 8, pf: true})
	tile("gemm8x48pf", tileSpec{rows: 8, lanes: 16, pf: true})
	tile("gemm4x24ep", tileSpec{rows: 4, lanes: 8, pf: true, ep: true})
	tile("gemm8x48ep", tileSpec{rows: 8, lanes: 16, pf: true, ep: true})
	tile("gemm4x24pfs", tileSpec{rows: 4, lanes: 8, pf: true, sparse: true})
	tile("gemm4x24eps", tileSpec{rows: 4, lanes: 8, pf: true, ep: true, sparse: true})
	tile("gemm8x48i8pf", tileSpec{rows: 8, lanes: 16, i8: true, pf: true})
	tile("gemm8x48i8ep", tileSpec{rows: 8, lanes: 16, i8: true, pf: true, ep: true})
	tile("gemm8x48i8", tileSpec{rows: 8, lanes: 16, i8: true})
	tile("gemm4x48i8", tileSpec{rows: 4, lanes: 16, i8: true})
	strided("gemm6x16s", 8)
	strided("gemm6x32s", 16)
	transpose(4)
	transpose(8)
	epilogue(8, false)
	epilogue(8, true)
	epilogue(16, false)
	epilogue(16, true)
	expSub()
	minMax(8)
	minMax(16)
	quantRow(8)
	quantRow(16)
	Generate()
}

// ys are the 16 YMM registers by number; zs the first 14 ZMM registers.
var (
	ys = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	zs = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
)

// peakChains is the number of independent accumulators of the peak loops.
const peakChains = 12

// peak writes a loop of n iterations of peakChains independent
// VFMADD231PS on regs (the last two are the multiplicands), each of lanes
// float32 lanes: 2·lanes·peakChains FLOP per iteration. The registers
// start at zero, so no value ever leaves the normal range.
func peak(name string, regs []VecPhysical, lanes int) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations of %d independent %d-lane fused multiply-adds (%d FLOP each).",
		name, peakChains, lanes, 2*lanes*peakChains))
	Load(Param("n"), RCX)
	for _, r := range regs[:peakChains+2] {
		if lanes == 16 {
			VPXORD(r, r, r) // AVX512F; VXORPS on ZMM needs AVX512DQ
		} else {
			VXORPS(r, r, r)
		}
	}
	TESTQ(RCX, RCX)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for _, r := range regs[:peakChains] {
		VFMADD231PS(regs[peakChains], regs[peakChains+1], r)
	}
	DECQ(RCX)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// i8Form is which of its three forms an int8 tile takes (tile4x24, tile).
type i8Form int

const (
	i8Plain i8Form = iota // stores the int32 sums to c
	i8PF                  // also prefetches from pf, one line a step
	i8Ep                  // also finishes the sums into y (Linear's epilogue)
)

// i8Suffix names each form's routine: gemm4x24i8ubsw, gemm4x24i8ubswpf, ...
var i8Suffix = [...]string{i8Plain: "", i8PF: "pf", i8Ep: "ep"}

// i8PanelBytes is how far apart two groups of 4 inputs are in a packed
// int8 panel (layoutI8: 48 columns of 4 bytes); a 4×24 tile reads half
// of each.
const i8PanelBytes = 48 * 4

func ubsw(form i8Form) {
	name := "gemm4x24i8ubsw" + i8Suffix[form]
	TEXT(name, NOSPLIT, i8Signature(form))
	Doc(name+" computes a 4×24 int32 tile with AVX2: 4 rows of u8 activations",
		"(k4 groups of [4 rows][4]) times 24 columns of s8 weights of at most 63 in",
		"magnitude (k4 groups, 192 bytes apart, of [24 columns][4]). VPMADDUBSW sums",
		"byte pairs into int16 with saturation; with |w| ≤ 63 a pair is at most",
		"2·255·63 = 32130, so nothing saturates and the sums are exact. VPMADDWD",
		"with ones adds the pairs of each lane into int32. See tile4x24 in",
		"internal/asmgen for the forms.")
	tile4x24(name, form, func() {
		// Y12: 16-bit ones; Y13: row r's 4 activations; Y14: products.
		VPCMPEQW(Y12, Y12, Y12)
		VPSRLW(U8(15), Y12, Y12)
	}, func(ao, bo int) {
		for r := 0; r < 4; r++ {
			VPBROADCASTD(Mem{Base: RSI, Disp: ao + 4*r}, Y13)
			for j := 0; j < 3; j++ {
				VPMADDUBSW(Mem{Base: RDI, Disp: bo + 32*j}, Y13, Y14)
				VPMADDWD(Y12, Y14, Y14)
				VPADDD(Y14, ys[3*r+j], ys[3*r+j])
			}
		}
	})
}

// i8Signature is the Go signature of an int8 tile of the given form (the
// 4×24 ones and tile's ZMM ones alike).
func i8Signature(form i8Form) string {
	sig := "func(k4 int, a *uint8, b *int8, c *int32, ldc int, add bool"
	switch form {
	case i8PF:
		sig += ", pf *int8"
	case i8Ep:
		sig += ", pf *int8, y *float32, ldy int, bias *float32, flags int, cs *int32, sw *float32, zx *int32, sx *float32"
	}
	return sig + ")"
}

// tile4x24 writes the body of a 4×24 int32 tile function: the arguments
// loaded (k4 in CX, a in SI, b in DI, c in DX, ldc in bytes in R8),
// the accumulators zeroed (row r's columns 8j..8j+7 in ys[3r+j]), setup,
// a loop over the k4 groups, unrolled by four, running step on the group
// ao bytes after SI (activations) and bo bytes after DI (weights), and
// fetching the activations 256 bytes ahead, then the sums added to c's
// when add is set, and the result stored.
//
// The forms (i8Form) are those of tile's ZMM int8 tiles, for one
// 24-column half of a panel: i8PF prefetches into L2 one cache line a
// step from pf; i8Ep dequantizes the sums and adds bias and y as
// epilogueI8x8 does without an activation (the same instructions in the
// same order, so the same bits), storing to y (row stride ldy floats)
// instead of c, with cs, sw, bias at the tile's first column and zx, sx
// at its first row.
func tile4x24(name string, form i8Form, setup func(), step func(ao, bo int)) {
	Load(Param("k4"), RCX)
	Load(Param("a"), RSI)
	Load(Param("b"), RDI)
	if form != i8Plain {
		Load(Param("pf"), R14)
	}
	for i := 0; i < 12; i++ {
		VPXOR(ys[i], ys[i], ys[i])
	}
	setup()
	kLoop(name, func() {
		PREFETCHT0(Mem{Base: RSI, Disp: 256})
		if form != i8Plain {
			for u := 0; u < 4; u++ {
				PREFETCHT1(Mem{Base: R14, Disp: 64 * u})
			}
			ADDQ(U32(256), R14)
		}
	}, func(u int) { step(16*u, i8PanelBytes*u) }, func(steps int) {
		ADDQ(U32(16*steps), RSI)
		ADDQ(U32(i8PanelBytes*steps), RDI)
	})
	// Rows 0-3 of c (later of y) at DX, DX+R8, R11, R11+R8.
	Load(Param("c"), RDX)
	Load(Param("ldc"), R8)
	SHLQ(U8(2), R8)
	rowRegs := func() { LEAQ(Mem{Base: RDX, Index: R8, Scale: 2}, R11) }
	row := func(r, off int) Mem {
		m := Mem{Base: []GPPhysical{RDX, R11}[r/2], Disp: off}
		if r%2 == 1 {
			m.Index, m.Scale = R8, 1
		}
		return m
	}
	rowRegs()
	each := func(f func(r, j int)) func() { return eachAcc(4, f) }
	acc := func(r, j int) VecPhysical { return ys[3*r+j] }
	Load(Param("add"), R10)
	TESTQ(R10, R10)
	JZ(LabelRef(name + "_put"))
	each(func(r, j int) { VPADDD(row(r, 32*j), acc(r, j), acc(r, j)) })()
	Label(name + "_put")
	if form == i8Ep {
		fusedEpilogue(name, 4, 32, true, acc, [3]VecPhysical{Y12, Y13, Y14}, rowRegs, row)
		each(func(r, j int) { VMOVUPS(acc(r, j), row(r, 32*j)) })()
	} else {
		each(func(r, j int) { VMOVDQU(acc(r, j), row(r, 32*j)) })()
	}
	VZEROUPPER()
	RET()
}

// fusedEpilogue writes the end of a tile with Linear's epilogue fused
// (tileSpec.ep, i8Ep): the tile's rows × 3 vectors of vec bytes are in
// acc; with i8 they are first dequantized (cs, sw, zx, sx; t holds
// temporaries), then y's rows are addressed from DX and R8 (rowRegs, row)
// and bias and y added where flags say, as the epilogue routines do
// without an activation: the same instructions in the same order, so the
// same bits. The caller stores the result to row(r, vec·j).
func fusedEpilogue(name string, rows, vec int, i8 bool, acc func(r, j int) VecPhysical, t [3]VecPhysical, rowRegs func(), row func(r, off int) Mem) {
	each := func(f func(r, j int)) func() { return eachAcc(rows, f) }
	if i8 {
		Comment("Dequantize: float32(sum − zx·cs) · (sx·sw), zx and sx of the row, cs and sw of the column.")
		Load(Param("cs"), RSI)
		Load(Param("sw"), RDI)
		Load(Param("zx"), R9)
		Load(Param("sx"), R10)
		zx, sx := t[0], t[1]
		for r := 0; r < rows; r++ {
			VPBROADCASTD(Mem{Base: R9, Disp: 4 * r}, zx)
			VBROADCASTSS(Mem{Base: R10, Disp: 4 * r}, sx)
			for j := 0; j < 3; j++ {
				dequant(acc(r, j), zx, sx, t[2], Mem{Base: RSI, Disp: vec * j}, Mem{Base: RDI, Disp: vec * j})
			}
		}
	}
	Comment("The epilogue, into the rows of y.")
	Load(Param("y"), RDX)
	Load(Param("ldy"), R8)
	SHLQ(U8(2), R8)
	rowRegs()
	Load(Param("bias"), RCX)
	Load(Param("flags"), RBX)
	ifFlag(name, RBX, flagBias, "nobias", each(func(r, j int) { VADDPS(Mem{Base: RCX, Disp: vec * j}, acc(r, j), acc(r, j)) }))
	ifFlag(name, RBX, flagAcc, "noacc", each(func(r, j int) { VADDPS(row(r, vec*j), acc(r, j), acc(r, j)) }))
}

// eachAcc returns a writer of f for every accumulator of a tile of rows
// rows × 3 vectors, row by row.
func eachAcc(rows int, f func(r, j int)) func() {
	return func() {
		for r := 0; r < rows; r++ {
			for j := 0; j < 3; j++ {
				f(r, j)
			}
		}
	}
}

// vpdpbusd writes VEX.256.66.0F38.W0 50 /r: VPDPBUSD ymm(acc), ymm(u8),
// ymm(s8): acc += the four u8×s8 products of each lane.
func vpdpbusd(acc, u8, s8 int) {
	rBar, bBar := 1, 1
	if acc >= 8 {
		rBar = 0
	}
	if s8 >= 8 {
		bBar = 0
	}
	b1 := rBar<<7 | 1<<6 | bBar<<5 | 0x02
	b2 := (^u8&15)<<3 | 1<<2 | 0x01
	modrm := 0xC0 | (acc&7)<<3 | s8&7
	Comment(fmt.Sprintf("VPDPBUSD Y%d, Y%d, Y%d (VEX)", s8, u8, acc))
	for _, b := range []int{0xC4, b1, b2, 0x50, modrm} {
		Instruction(&ir.Instruction{Opcode: "BYTE", Operands: []Op{U8(b)}})
	}
}

func vnni(form i8Form) {
	name := "gemm4x24i8vnni" + i8Suffix[form]
	TEXT(name, NOSPLIT, i8Signature(form))
	Doc(name+" computes a 4×24 int32 tile with AVX-VNNI: 4 rows of u8 activations",
		"(k4 groups of [4 rows][4]) times 24 columns of s8 weights (k4 groups, 192",
		"bytes apart, of [24 columns][4]). See tile4x24 in internal/asmgen for the",
		"forms.")
	Comment("Requires AVX-VNNI (CPUID.(EAX=7,ECX=1):EAX[4]), which avo does not list.")
	tile4x24(name, form, func() {}, func(ao, bo int) {
		for j := 0; j < 3; j++ {
			VMOVDQU(Mem{Base: RDI, Disp: bo + 32*j}, ys[12+j]) // columns 8j..8j+7
		}
		for r := 0; r < 4; r++ {
			VPBROADCASTD(Mem{Base: RSI, Disp: ao + 4*r}, Y15) // row r's 4 activations
			for j := 0; j < 3; j++ {
				vpdpbusd(3*r+j, 15, 12+j)
			}
		}
	})
}

// dotsF16 writes dotsF16xR for R = rows: the dot products of a float32
// query with rows of float16 values, R rows per step (a search's scan: it
// streams the rows from memory once, converting with F16C's VCVTPH2PS).
func dotsF16(rows int) {
	name := fmt.Sprintf("dotsF16x%d", rows)
	TEXT(name, NOSPLIT, "func(q *float32, v *uint16, dim, n int, out *float32)")
	Doc(fmt.Sprintf("%s sets out[i] = Σ_j q[j]·v[i·dim+j] for i < n, v holding float16", name),
		fmt.Sprintf("values: n a multiple of %d, dim a positive multiple of 16. Each row is", rows),
		"summed in two interleaved 8-lane chains, then across lanes.")
	Comment("Requires AVX2, FMA and F16C.")
	Load(Param("q"), RSI)
	Load(Param("v"), RDI)
	Load(Param("dim"), RDX)
	Load(Param("n"), RCX)
	Load(Param("out"), R8)
	// R9: a row's bytes; R10-R12: rows 1-3 of a group of 4.
	MOVQ(RDX, R9)
	SHLQ(U8(1), R9)
	if rows == 4 {
		SHRQ(U8(2), RCX) // groups of 4 rows
	} else {
		TESTQ(RCX, RCX)
	}
	JZ(LabelRef(name + "_done"))
	Label(name + "_rows")
	rowBase := []GPPhysical{RDI, R10, R11, R12}[:rows]
	if rows == 4 {
		LEAQ(Mem{Base: RDI, Index: R9, Scale: 1}, R10)
		LEAQ(Mem{Base: R10, Index: R9, Scale: 1}, R11)
		LEAQ(Mem{Base: R11, Index: R9, Scale: 1}, R12)
	}
	// Y0-Y7: row r's chains in ys[2r], ys[2r+1]; Y8, Y9: the query;
	// Y10-Y13: converted values.
	for i := 0; i < 2*rows; i++ {
		VXORPS(ys[i], ys[i], ys[i])
	}
	XORQ(RAX, RAX) // j·2 bytes into the rows; j·4 into q
	MOVQ(RDX, RBX)
	SHRQ(U8(4), RBX) // steps of 16 values
	Label(name + "_cols")
	VMOVUPS(Mem{Base: RSI, Index: RAX, Scale: 2}, Y8)
	VMOVUPS(Mem{Base: RSI, Index: RAX, Scale: 2, Disp: 32}, Y9)
	for r := 0; r < rows; r++ {
		VCVTPH2PS(Mem{Base: rowBase[r], Index: RAX, Scale: 1}, ys[10+r])
		VFMADD231PS(Y8, ys[10+r], ys[2*r])
	}
	for r := 0; r < rows; r++ {
		VCVTPH2PS(Mem{Base: rowBase[r], Index: RAX, Scale: 1, Disp: 16}, ys[10+r])
		VFMADD231PS(Y9, ys[10+r], ys[2*r+1])
	}
	ADDQ(U8(32), RAX)
	DECQ(RBX)
	JNZ(LabelRef(name + "_cols"))
	// Sum each row's chains, then its lanes.
	for r := 0; r < rows; r++ {
		VADDPS(ys[2*r+1], ys[2*r], ys[2*r])
	}
	if rows == 4 {
		VHADDPS(Y2, Y0, Y0)
		VHADDPS(Y6, Y4, Y4)
		VHADDPS(Y4, Y0, Y0)
		VEXTRACTF128(U8(1), Y0, X1)
		VADDPS(X1, X0, X0)
		VMOVUPS(X0, Mem{Base: R8})
		ADDQ(U8(16), R8)
		LEAQ(Mem{Base: R12, Index: R9, Scale: 1}, RDI)
	} else {
		// The same order of additions as lane 0 of the 4-row reduction.
		VHADDPS(Y0, Y0, Y0)
		VHADDPS(Y0, Y0, Y0)
		VEXTRACTF128(U8(1), Y0, X1)
		VADDPS(X1, X0, X0)
		VMOVSS(X0, Mem{Base: R8})
		ADDQ(U8(4), R8)
		ADDQ(R9, RDI)
	}
	DECQ(RCX)
	JNZ(LabelRef(name + "_rows"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// tileSpec is the shape and form of a GEMM tile that tile writes.
type tileSpec struct {
	rows   int  // 2, 4 or 8
	lanes  int  // 8: YMM, AVX2+FMA, layout24; 16: ZMM, AVX-512F, layout48
	i8     bool // int8 operands (ZMM only; see tile)
	pf     bool // takes pf and prefetches from it
	sparse bool // with pf: one line every four steps instead of one a step
	ep     bool // with pf: finishes the tile with Linear's epilogue (no activation)
	pair   bool // float32, 2 rows: two consecutive panels at once (see tile)
}

// tile writes a GEMM tile of t.rows rows × 3 vectors of t.lanes float32
// columns or, with t.i8 (ZMM only), int8 (layoutI8: a step is a group of 4
// k, B rows of 48 columns × 4 s8 weights, A values 4 u8 side by side, and
// VPDPBUSD adds the four u8×s8 products of each lane, exactly). See
// tileAVX2, tileAVX512 and tileI8VNNI for the contracts. A tile covers one
// or two consecutive packed strips of 4 rows: strip 0 at SI, strip 1 at R9.
// The B row of a step is in vectors 0-2; A values are broadcast through
// vector 3 (with ZMM also 28-30, so broadcasts do not wait for the FMAs
// that read the last); row i accumulates in vectors 4+3i..6+3i, so the
// 8-row tile keeps 24 accumulators: eight broadcasts and three loads per
// 24 multiply-adds. The loop is unrolled by four steps and fetches A 256
// bytes ahead; the C tile is fetched before the loop, as it is read and
// written after it. Every tile height sums each output in k order, in one
// accumulator, so the 2-row tile (rows 0 and 1 of a strip, for tails)
// gives the bits the taller ones give, though its 6 accumulators cannot
// hide the FMA latency.
//
// With t.pf the routine takes one more argument, pf, and prefetches one
// cache line from it per step (pf advancing 64 bytes a step), or with
// t.sparse one line every four steps: the caller points it at the
// weights it needs next. (A line a step asks for lines from memory faster
// than a core's miss buffers retire them, and the tile's own loads wait
// behind them: see kernels.tilePFSparse.)
//
// With t.pair (float32, 2 rows) the tile covers two consecutive panels
// of a K block, the second right after the first in memory, so 6 vectors
// of columns: 12 accumulators, as many as the 4-row tile's, where one
// panel's 2-row tile has 6 and cannot hide the FMA latency. The second
// panel's B vectors are FMA memory operands with YMM (no register is left
// for them), vectors 16-18 with ZMM. A single image's 50 rows end
// in such a 2-row tail.
//
// With t.ep the tile is the last K block of a Linear call's output: it
// takes y, ldy, bias and flags too (and with t.i8 the dequantization's cs,
// sw, zx and sx: see epilogue) and, instead of storing the sums to c,
// finishes them as the epilogue routines do without an activation (the
// same instructions in the same order, so the same bits) and stores them
// to the rows of y (row stride ldy floats): y = sum + bias, or y += that.
// The accumulators never leave the registers between the last
// multiply-add and y, and no row is read back from c. (With QuickGELU
// fused too, fc1 took the same time as through c: the activation's
// arithmetic, not the round trip, is its epilogue's cost.)
func tile(name string, t tileSpec) {
	rows, lanes, i8, pf := t.rows, t.lanes, t.i8, t.pf
	vecs := 3 // output vectors per row
	if t.pair {
		vecs = 6
	}
	sig, kname := "func(k int, a, b, c *float32, ldc int, add bool", "k"
	switch {
	case i8:
		form := i8Plain
		if t.ep {
			form = i8Ep
		} else if pf {
			form = i8PF
		}
		sig, kname = i8Signature(form), "k4"
	case t.ep:
		sig += ", pf *float32, y *float32, ldy int, bias *float32, flags int)"
	case pf:
		sig += ", pf *float32)"
	default:
		sig += ")"
	}
	TEXT(name, NOSPLIT, sig)
	isa := "AVX2+FMA"
	if lanes == 16 {
		isa = "AVX-512F"
	}
	if i8 {
		isa = "AVX-512 VNNI"
	}
	what := "float32"
	if i8 {
		what = "int32"
	}
	if t.ep {
		isa += " and finishes it into y"
	}
	Doc(fmt.Sprintf("%s computes a %d×%d %s tile with %s (see tile in internal/asmgen).", name, rows, vecs*lanes, what, isa))
	regs, bcast := ys, []VecPhysical{Y3}
	if lanes == 16 {
		regs, bcast = zs, []VecPhysical{Z3, Z28, Z29, Z30}
	}
	vec := 4 * lanes // bytes per vector
	Load(Param(kname), RCX)
	Load(Param("a"), RSI)
	Load(Param("b"), RDI)
	Load(Param("c"), RDX)
	Load(Param("ldc"), R8)
	SHLQ(U8(2), R8)
	if pf {
		Load(Param("pf"), R14)
	}
	if t.pair {
		Comment("The second panel follows the first, k·3 vectors later (R9 bytes).")
		LEAQ(Mem{Base: RCX, Index: RCX, Scale: 2}, R9)
		SHLQ(U8(bits.TrailingZeros(uint(vec))), R9)
	}
	if rows == 8 {
		Comment("Strip 1 follows strip 0, 16 bytes per step later.")
		MOVQ(RCX, R9)
		SHLQ(U8(4), R9)
		ADDQ(RSI, R9)
	}
	// The rows of C (and of y) from DX, R11, R12 and R13, two each.
	rowRegs := func() {
		if rows > 2 {
			LEAQ(Mem{Base: RDX, Index: R8, Scale: 2}, R11)
		}
		if rows == 8 {
			LEAQ(Mem{Base: RDX, Index: R8, Scale: 4}, R12)
			LEAQ(Mem{Base: R12, Index: R8, Scale: 2}, R13)
		}
	}
	rowRegs()
	// Row r of C, off bytes in.
	row := func(r, off int) Mem {
		m := Mem{Base: []GPPhysical{RDX, R11, R12, R13}[r/2], Disp: off}
		if r%2 == 1 {
			m.Index, m.Scale = R8, 1
		}
		return m
	}
	for r := 0; r < rows; r++ {
		for off := 0; off < vecs*vec; off += 64 {
			PREFETCHT0(row(r, off))
		}
	}
	// One accumulator per output vector, summed in k order whatever the
	// tile's height: an output's bits do not depend on how many rows the
	// call computes, so an image's embedding does not depend on its
	// batch-mates (a 2-row tile with two accumulator sets, summed at the
	// end, was faster and broke that).
	acc := func(r, j int) VecPhysical { return regs[4+vecs*r+j] }
	for i := 4; i < 4+vecs*rows; i++ {
		if lanes == 16 {
			VPXORD(regs[i], regs[i], regs[i])
		} else {
			VXORPS(regs[i], regs[i], regs[i])
		}
	}
	step := func(ao, bo int) {
		if t.pair && lanes == 16 {
			for j := 0; j < 3; j++ {
				VMOVUPS(Mem{Base: RDI, Index: R9, Scale: 1, Disp: bo + vec*j}, regs[16+j])
			}
		}
		for j := 0; j < 3; j++ {
			if i8 {
				VMOVDQU32(Mem{Base: RDI, Disp: bo + vec*j}, regs[j])
			} else {
				VMOVUPS(Mem{Base: RDI, Disp: bo + vec*j}, regs[j])
			}
		}
		for r := 0; r < rows; r++ {
			a := Mem{Base: RSI, Disp: ao + 4*(r%4)}
			if r >= 4 {
				a.Base = R9
			}
			b := bcast[r%len(bcast)]
			if i8 {
				VPBROADCASTD(a, b)
			} else {
				VBROADCASTSS(a, b)
			}
			for j := 0; j < 3; j++ {
				if i8 {
					// avo lacks VPDPBUSD; Go's assembler has its EVEX form.
					Instruction(&ir.Instruction{Opcode: "VPDPBUSD", Operands: []Op{regs[j], b, acc(r, j)}})
				} else {
					VFMADD231PS(regs[j], b, acc(r, j))
				}
			}
			for j := 3; j < vecs; j++ {
				if lanes == 16 {
					VFMADD231PS(regs[16+j-3], b, acc(r, j))
				} else {
					VFMADD231PS(Mem{Base: RDI, Index: R9, Scale: 1, Disp: bo + vec*(j-3)}, b, acc(r, j))
				}
			}
		}
	}
	advance := func(steps int) {
		ADDQ(U32(16*steps), RSI)
		if rows == 8 {
			ADDQ(U32(16*steps), R9)
		}
		ADDQ(U32(3*vec*steps), RDI)
	}
	kLoop(name, func() {
		PREFETCHT0(Mem{Base: RSI, Disp: 256})
		if rows == 8 {
			PREFETCHT0(Mem{Base: R9, Disp: 256})
		}
		if pf {
			lines := 4 // one a step
			if t.sparse {
				lines = 1
			}
			for u := 0; u < lines; u++ {
				PREFETCHT1(Mem{Base: R14, Disp: 64 * u})
			}
			ADDQ(U32(64*lines), R14)
		}
	}, func(u int) { step(16*u, 3*vec*u) }, advance)
	Load(Param("add"), R10)
	TESTQ(R10, R10)
	JZ(LabelRef(name + "_put"))
	for r := 0; r < rows; r++ {
		for j := 0; j < vecs; j++ {
			if i8 {
				VPADDD(row(r, vec*j), acc(r, j), acc(r, j))
			} else {
				VADDPS(row(r, vec*j), acc(r, j), acc(r, j))
			}
		}
	}
	Label(name + "_put")
	if t.ep {
		fusedEpilogue(name, rows, vec, i8, acc, [3]VecPhysical{regs[0], regs[1], regs[2]}, rowRegs, row)
	}
	for r := 0; r < rows; r++ {
		for j := 0; j < vecs; j++ {
			if i8 && !t.ep {
				VMOVDQU32(acc(r, j), row(r, vec*j))
			} else {
				VMOVUPS(acc(r, j), row(r, vec*j))
			}
		}
	}
	VZEROUPPER()
	RET()
}

// strided writes the tile of attention's products (MatMulNT and MatMulNN
// in tensor): 6 rows × 2 vectors of lanes (8: gemm6x16s, AVX2+FMA; 16:
// gemm6x32s, AVX-512F) of C = A·B, A read in place (row i at a + i·lda
// floats, k values each), B a packed panel (k steps of 2 vectors), C (row
// stride ldc) stored, or added to when add is set. The B step is in
// vectors 0 and 1, A values are broadcast through vectors 2 and 3, row i
// accumulates in vectors 4+2i and 5+2i; as in tile, each output sums in k
// order in one accumulator, so both widths give the same bits. Rows 0-2 of
// A are addressed from SI and rows 3-5 from R12, lda (R9) scaled by 1 or 2.
func strided(name string, lanes int) {
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b, c *float32, ldc int, add bool)")
	isa := "AVX2+FMA"
	regs := ys
	if lanes == 16 {
		isa, regs = "AVX-512F", zs
	}
	Doc(fmt.Sprintf("%s computes a 6×%d float32 tile of attention with %s (see strided in internal/asmgen).", name, 2*lanes, isa))
	vec := 4 * lanes
	Load(Param("k"), RCX)
	Load(Param("a"), RSI)
	Load(Param("lda"), R9)
	Load(Param("b"), RDI)
	Load(Param("c"), RDX)
	Load(Param("ldc"), R8)
	SHLQ(U8(2), R8)
	SHLQ(U8(2), R9)
	LEAQ(Mem{Base: RSI, Index: R9, Scale: 2}, R12)
	ADDQ(R9, R12)
	acc := func(r, j int) VecPhysical { return regs[4+2*r+j] }
	for i := 4; i < 16; i++ {
		if lanes == 16 {
			VPXORD(regs[i], regs[i], regs[i])
		} else {
			VXORPS(regs[i], regs[i], regs[i])
		}
	}
	aRow := sixRows(RSI, R12, R9)
	step := func(ao, bo int) {
		VMOVUPS(Mem{Base: RDI, Disp: bo}, regs[0])
		VMOVUPS(Mem{Base: RDI, Disp: bo + vec}, regs[1])
		for r := 0; r < 6; r += 2 {
			VBROADCASTSS(aRow(r, ao), regs[2])
			VBROADCASTSS(aRow(r+1, ao), regs[3])
			VFMADD231PS(regs[0], regs[2], acc(r, 0))
			VFMADD231PS(regs[1], regs[2], acc(r, 1))
			VFMADD231PS(regs[0], regs[3], acc(r+1, 0))
			VFMADD231PS(regs[1], regs[3], acc(r+1, 1))
		}
	}
	advance := func(steps int) {
		ADDQ(U8(4*steps), RSI)
		ADDQ(U8(4*steps), R12)
		ADDQ(U32(2*vec*steps), RDI)
	}
	kLoop(name, func() {}, func(u int) { step(4*u, 2*vec*u) }, advance)
	// Rows 0-2 of C from DX, rows 3-5 from R11, ldc (R8) scaled by 1 or 2.
	LEAQ(Mem{Base: RDX, Index: R8, Scale: 2}, R11)
	ADDQ(R8, R11)
	cRow := sixRows(RDX, R11, R8)
	Load(Param("add"), R10)
	TESTQ(R10, R10)
	JZ(LabelRef(name + "_put"))
	for r := 0; r < 6; r++ {
		for j := 0; j < 2; j++ {
			VADDPS(cRow(r, vec*j), acc(r, j), acc(r, j))
		}
	}
	Label(name + "_put")
	for r := 0; r < 6; r++ {
		for j := 0; j < 2; j++ {
			VMOVUPS(acc(r, j), cRow(r, vec*j))
		}
	}
	VZEROUPPER()
	RET()
}

// kLoop writes the k loop of tile and strided: the CX steps (R10 is
// clobbered) unrolled by four, each pass starting with pass() (prefetches)
// and running step(0..3) then advance(4), then the rest one step(0) and
// advance(1) at a time; it ends at the label name_store.
func kLoop(name string, pass func(), step func(u int), advance func(steps int)) {
	MOVQ(RCX, R10)
	SHRQ(U8(2), R10)
	ANDQ(U8(3), RCX)
	TESTQ(R10, R10)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop4")
	pass()
	for u := 0; u < 4; u++ {
		step(u)
	}
	advance(4)
	DECQ(R10)
	JNZ(LabelRef(name + "_loop4"))
	Label(name + "_tail")
	TESTQ(RCX, RCX)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop1")
	step(0)
	advance(1)
	DECQ(RCX)
	JNZ(LabelRef(name + "_loop1"))
	Label(name + "_store")
}

// sixRows returns the address of row r of a 6-row block, off bytes in:
// rows 0-2 from lo, rows 3-5 from hi (lo plus three strides), the stride
// register scaled by 1 or 2.
func sixRows(lo, hi, stride GPPhysical) func(r, off int) Mem {
	return func(r, off int) Mem {
		m := Mem{Base: lo, Disp: off}
		if r >= 3 {
			m.Base = hi
		}
		if s := r % 3; s > 0 {
			m.Index, m.Scale = stride, uint8(s)
		}
		return m
	}
}
