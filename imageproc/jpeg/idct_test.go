package jpeg

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// islowPass is one pass of jidctint.c's islow IDCT before its rounding
// shift, written out for TestIDCTBound.
func islowPass(x [8]int64) [8]int64 {
	z2, z3 := x[2], x[6]
	z1 := (z2 + z3) * fix0_541196100
	tmp2 := z1 - z3*fix1_847759065
	tmp3 := z1 + z2*fix0_765366865
	tmp0 := (x[0] + x[4]) << constBits
	tmp1 := (x[0] - x[4]) << constBits
	tmp10, tmp13, tmp11, tmp12 := tmp0+tmp3, tmp0-tmp3, tmp1+tmp2, tmp1-tmp2
	t0, t1, t2, t3 := x[7], x[5], x[3], x[1]
	z1, z2, z3, z4 := t0+t3, t1+t2, t0+t2, t1+t3
	z5 := (z3 + z4) * fix1_175875602
	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4
	return [8]int64{tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3}
}

// TestIDCTBound is the proof behind idctInputMax: each output of a pass
// before its shift is a linear form in the pass's 8 inputs, so with inputs
// of at most idctInputMax in magnitude it is at most idctInputMax times
// the sum of the form's |coefficients|; with pass 2's rounding (the
// larger) added, that fits in an int32.
func TestIDCTBound(t *testing.T) {
	var gain [8]int64
	for j := range 8 {
		var e [8]int64
		e[j] = 1
		for k, m := range islowPass(e) {
			gain[k] += max(m, -m)
		}
	}
	worst := idctInputMax*slices.Max(gain[:]) + 1<<(constBits+pass1Bits+3-1)
	if worst >= 1<<31 {
		t.Fatalf("a pass's sum may reach %d, beyond an int32", worst)
	}
}

// The SIMD IDCT gives idctIslowGo's samples, writing only the 8×8 of
// them, for blocks like real images' (a DC and small AC coefficients)
// and blocks of large coefficients (whose outputs the range limit
// wraps), which it must take, and blocks at the bound of its second pass;
// beyond the bounds (corrupt
// data) it declines, writing nothing, and idctIslow gives the Go form's
// samples.
func TestIDCTSIMD(t *testing.T) {
	var probe [64]int16
	var q1 [64]int32
	if !idctSIMD(&probe, &q1, make([]uint8, 64), 8) {
		t.Skip("no SIMD IDCT on this CPU")
	}
	r := rand.New(rand.NewPCG(11, 12))
	const stride = 13
	var took [4]int
	for trial := range 20000 {
		var in [64]int16
		var q [64]int32
		for i := range q {
			q[i] = int32(1 + r.IntN(64))
		}
		kind := trial % 4
		switch kind {
		case 0: // like an image: a DC and a few small ACs
			in[0] = int16(r.IntN(2048) - 1024)
			q[0] = 1
			for range r.IntN(12) {
				in[1+r.IntN(63)] = int16(r.IntN(64) - 32)
			}
		case 1: // every coefficient large: samples far out of range
			for i := range in {
				in[i] = int16((r.IntN(2049) - 1024) / int(q[i]))
			}
		case 2: // pass 2 at its bound: a DC of 4·DC = idctInputMax - 4
			in[0], q[0] = idctInputMax/4-1, 1
			if trial%8 == 2 {
				in[0] = -in[0]
			}
			for range r.IntN(4) {
				in[1+r.IntN(63)] = int16(r.IntN(9) - 4)
			}
		case 3: // beyond: corrupt data
			for i := range in {
				in[i] = int16(r.IntN(65536) - 32768)
				q[i] = int32(r.IntN(65536))
			}
		}
		want := bytes.Repeat([]uint8{0xa5}, 8*stride+8)
		idctIslowGo(&in, &q, want, stride)
		got := bytes.Repeat([]uint8{0xa5}, len(want))
		if idctSIMD(&in, &q, got, stride) {
			took[kind]++
		} else if !bytes.Equal(got, bytes.Repeat([]uint8{0xa5}, len(want))) {
			t.Fatalf("trial %d: declined, yet wrote", trial)
		} else {
			idctIslow(&in, &q, got, stride)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d: in %v q %v\n got %v\nwant %v", trial, in, q, got, want)
		}
	}
	// The assembly's bound is idctInputMax: a DC-only block's pass-1
	// outputs are 4·DC.
	for dc, want := range map[int16]bool{idctInputMax / 4: true, idctInputMax/4 + 1: false, -idctInputMax / 4: true, -idctInputMax/4 - 1: false} {
		in := [64]int16{dc}
		q := [64]int32{1}
		if got := idctSIMD(&in, &q, make([]uint8, 64), 8); got != want {
			t.Errorf("DC %d: SIMD took it %v, want %v", dc, got, want)
		}
	}
	if took[0] != 5000 || took[1] != 5000 || took[2] == 0 || took[3] == 5000 {
		t.Fatalf("SIMD took %v of 5000 blocks of each kind: want all image-like and large ones, some at the bound, not all corrupt ones", took)
	}
}
