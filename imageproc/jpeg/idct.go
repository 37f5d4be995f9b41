package jpeg

// Fixed-point constants of libjpeg's jidctint.c ("islow"), CONST_BITS = 13.
const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// rangeLimit reproduces libjpeg's post-IDCT range-limit table, indexed by
// the descaled output masked to 10 bits (RANGE_MASK): values -128..127 map
// to 0..255, 128..511 saturate to 255, and -512..-129 to 0; anything
// further out wraps around modulo 1024 exactly as in libjpeg.
var rangeLimit = func() (t [1024]uint8) {
	for i := range t {
		v := i
		if v >= 512 {
			v -= 1024
		}
		v += 128
		t[i] = uint8(min(max(v, 0), 255))
	}
	return t
}()

// idctIslow dequantises the natural-order coefficients in, applies the
// islow inverse DCT (bit-exact with jpeg_idct_islow) and writes the 8x8
// samples to out with the given row stride.
func idctIslow(in *[64]int16, q *[64]int32, out []uint8, stride int) {
	if idctSIMD(in, q, out, stride) {
		return
	}
	idctIslowGo(in, q, out, stride)
}

// idctInputMax bounds the dequantized coefficients and the pass-1 outputs
// the SIMD IDCT takes. A pass is a linear map followed by a rounding
// shift; 32-bit arithmetic wraps like a ring, so a sum whose true value
// fits in an int32 comes out exact however its terms overflowed on the
// way, and with inputs of at most 2^15 in magnitude each sum stays below
// 2^31 (TestIDCTBound). Real images stay far below it (a dequantized DC
// is at most 1024); corrupt data beyond it takes the Go form.
const idctInputMax = 1 << 15

// idctIslowGo is idctIslow in portable Go, in 64-bit arithmetic as
// libjpeg's JLONG on 64-bit systems, for any input.
func idctIslowGo(in *[64]int16, q *[64]int32, out []uint8, stride int) {
	var ws [64]int32
	_ = out[7*stride+7]

	// Pass 1: columns.
	for c := 0; c < 8; c++ {
		if in[8+c] == 0 && in[16+c] == 0 && in[24+c] == 0 && in[32+c] == 0 &&
			in[40+c] == 0 && in[48+c] == 0 && in[56+c] == 0 {
			dc := int32(in[c]) * q[c] << pass1Bits
			ws[c], ws[8+c], ws[16+c], ws[24+c] = dc, dc, dc, dc
			ws[32+c], ws[40+c], ws[48+c], ws[56+c] = dc, dc, dc, dc
			continue
		}
		z2 := int64(in[16+c]) * int64(q[16+c])
		z3 := int64(in[48+c]) * int64(q[48+c])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865

		z2 = int64(in[c]) * int64(q[c])
		z3 = int64(in[32+c]) * int64(q[32+c])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits

		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		tmp0 = int64(in[56+c]) * int64(q[56+c])
		tmp1 = int64(in[40+c]) * int64(q[40+c])
		tmp2 = int64(in[24+c]) * int64(q[24+c])
		tmp3 = int64(in[8+c]) * int64(q[8+c])

		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602

		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644

		z3 += z5
		z4 += z5

		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const sh = constBits - pass1Bits
		const rnd = 1 << (sh - 1)
		ws[c] = int32((tmp10 + tmp3 + rnd) >> sh)
		ws[56+c] = int32((tmp10 - tmp3 + rnd) >> sh)
		ws[8+c] = int32((tmp11 + tmp2 + rnd) >> sh)
		ws[48+c] = int32((tmp11 - tmp2 + rnd) >> sh)
		ws[16+c] = int32((tmp12 + tmp1 + rnd) >> sh)
		ws[40+c] = int32((tmp12 - tmp1 + rnd) >> sh)
		ws[24+c] = int32((tmp13 + tmp0 + rnd) >> sh)
		ws[32+c] = int32((tmp13 - tmp0 + rnd) >> sh)
	}

	// Pass 2: rows.
	for r := 0; r < 8; r++ {
		w := (*[8]int32)(ws[r*8:])
		o := (*[8]uint8)(out[r*stride:])
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 &&
			w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit[((int64(w[0])+(1<<(pass1Bits+2)))>>(pass1Bits+3))&1023]
			o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v, v, v, v, v, v, v, v
			continue
		}
		z2 := int64(w[2])
		z3 := int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865

		tmp0 := (int64(w[0]) + int64(w[4])) << constBits
		tmp1 := (int64(w[0]) - int64(w[4])) << constBits

		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2

		tmp0 = int64(w[7])
		tmp1 = int64(w[5])
		tmp2 = int64(w[3])
		tmp3 = int64(w[1])

		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602

		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644

		z3 += z5
		z4 += z5

		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const sh = constBits + pass1Bits + 3
		const rnd = 1 << (sh - 1)
		o[0] = rangeLimit[((tmp10+tmp3+rnd)>>sh)&1023]
		o[7] = rangeLimit[((tmp10-tmp3+rnd)>>sh)&1023]
		o[1] = rangeLimit[((tmp11+tmp2+rnd)>>sh)&1023]
		o[6] = rangeLimit[((tmp11-tmp2+rnd)>>sh)&1023]
		o[2] = rangeLimit[((tmp12+tmp1+rnd)>>sh)&1023]
		o[5] = rangeLimit[((tmp12-tmp1+rnd)>>sh)&1023]
		o[3] = rangeLimit[((tmp13+tmp0+rnd)>>sh)&1023]
		o[4] = rangeLimit[((tmp13-tmp0+rnd)>>sh)&1023]
	}
}

// idctDC is idctIslow for a block whose AC coefficients are all zero: the
// two passes' DC shortcuts reduce to one value, (dc*q<<2 + 16) >> 5.
func idctDC(dc int16, q int32, out []uint8, stride int) {
	v := rangeLimit[((int64(int32(dc)*q<<pass1Bits)+(1<<(pass1Bits+2)))>>(pass1Bits+3))&1023]
	_ = out[7*stride+7]
	for r := 0; r < 8; r++ {
		o := (*[8]uint8)(out[r*stride:])
		o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = v, v, v, v, v, v, v, v
	}
}
