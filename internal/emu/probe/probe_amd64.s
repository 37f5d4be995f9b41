//go:build linux && amd64

#include "textflag.h"

// func fmaBroadcast(x, y *[16]float32, s float32, dst *[16]float32)
// dst = x*s + y, with s broadcast to all 16 lanes.
TEXT ·fmaBroadcast(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         dst+24(FP), DX
	VBROADCASTSS s+16(FP), Z0
	VMOVUPS      (SI), Z1
	VMOVUPS      (DI), Z2
	VFMADD231PS  Z0, Z1, Z2
	VMOVUPS      Z2, (DX)
	VZEROUPPER
	RET

// func dpbusd(acc *[16]int32, a *[64]uint8, b *[64]int8, dst *[16]int32)
// dst[i] = acc[i] + sum_{j<4} a[4i+j]*b[4i+j] (AVX-512 VNNI).
TEXT ·dpbusd(SB), NOSPLIT, $0-32
	MOVQ      acc+0(FP), AX
	MOVQ      a+8(FP), SI
	MOVQ      b+16(FP), DI
	MOVQ      dst+24(FP), DX
	VMOVDQU32 (AX), Z0
	VMOVDQU32 (SI), Z1
	VMOVDQU32 (DI), Z2
	VPDPBUSD  Z2, Z1, Z0
	VMOVDQU32 Z0, (DX)
	VZEROUPPER
	RET

// func maskedOps(a, b, merged, zeroed *[16]float32, k uint16) (gt uint16)
// merged: lanes in k get a+b, the others keep their value (merge-masked store).
// zeroed: lanes in k get a+b, the others 0 (zero-masking).
// gt: bit i set when a[i] > b[i] (compare into an opmask register).
TEXT ·maskedOps(SB), NOSPLIT, $0-42
	MOVQ     a+0(FP), AX
	MOVQ     b+8(FP), BX
	MOVQ     merged+16(FP), CX
	MOVQ     zeroed+24(FP), DX
	KMOVW    k+32(FP), K1
	VMOVUPS  (AX), Z1
	VMOVUPS  (BX), Z2
	VADDPS   Z1, Z2, Z3
	VMOVUPS  Z3, K1, (CX)
	VADDPS.Z Z1, Z2, K1, Z4
	VMOVUPS  Z4, (DX)
	VCMPPS   $0x1e, Z2, Z1, K2
	KMOVW    K2, AX
	MOVW     AX, gt+40(FP)
	VZEROUPPER
	RET

// func xgetbv0() (eax, edx uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL   $0, CX
	XGETBV
	MOVL   AX, eax+0(FP)
	MOVL   DX, edx+4(FP)
	RET

// func zmmAcrossSleep(pattern, out *[16]uint32, ts *[2]int64) (k uint16)
// Loads pattern into Z31 and 0xa5c3 into K3, sleeps in nanosleep(ts) so the
// kernel switches to other threads, then returns what Z31 and K3 hold.
TEXT ·zmmAcrossSleep(SB), NOSPLIT, $0-26
	MOVQ      pattern+0(FP), AX
	VMOVDQU32 (AX), Z31
	MOVW      $0xa5c3, BX
	KMOVW     BX, K3
	MOVQ      ts+16(FP), DI
	MOVQ      $0, SI
	MOVQ      $35, AX // SYS_nanosleep
	SYSCALL
	MOVQ      out+8(FP), AX
	VMOVDQU32 Z31, (AX)
	KMOVW     K3, BX
	MOVW      BX, k+24(FP)
	VZEROUPPER
	RET

// func zmmClobber(n int)
// Writes other values into Z31 and K3, n times.
TEXT ·zmmClobber(SB), NOSPLIT, $0-8
	MOVQ         n+0(FP), CX
	MOVL         $0xdeadbeef, AX
	MOVW         $0x1234, BX

clobber:
	VPBROADCASTD AX, Z31
	KMOVW        BX, K3
	DECQ         CX
	JNZ          clobber
	VZEROUPPER
	RET

// func fmaLoop(n int)
// n iterations of 4 independent 16-lane FMAs, for timing.
TEXT ·fmaLoop(SB), NOSPLIT, $0-8
	MOVQ        n+0(FP), CX
	VPXORD      Z0, Z0, Z0
	VPXORD      Z1, Z1, Z1
	VPXORD      Z2, Z2, Z2
	VPXORD      Z3, Z3, Z3
	VPXORD      Z4, Z4, Z4

fma:
	VFMADD231PS Z4, Z4, Z0
	VFMADD231PS Z4, Z4, Z1
	VFMADD231PS Z4, Z4, Z2
	VFMADD231PS Z4, Z4, Z3
	DECQ        CX
	JNZ         fma
	VZEROUPPER
	RET
