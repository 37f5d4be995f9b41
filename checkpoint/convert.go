package checkpoint

import "math"

// This file converts between float32 and the 16-bit float formats. The
// narrowing conversions round to nearest, ties to even, exactly like
// PyTorch's Tensor.half() and Tensor.bfloat16(); the widening ones are exact.

// F32ToF16 returns the IEEE 754 binary16 bits nearest to f (ties to even).
// Values of magnitude 65520 or more become infinities; NaNs stay NaNs
// (quiet, sign and top payload bits kept).
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00 | uint16(abs>>13)&0x1ff
	case abs >= 0x477ff000: // ≥ 65520, halfway to 2^16: rounds to infinity
		return sign | 0x7c00
	case abs >= 0x38800000: // ≥ 2^-14: a normal half
		v := abs - (127-15)<<23 // rebias the exponent
		v += 0xfff + (v>>13)&1  // round the 13 dropped bits, ties to even
		return sign | uint16(v>>13)
	case abs >= 0x33000000: // ≥ 2^-25: a subnormal half (or 2^-14 after rounding)
		e := abs >> 23
		m := abs&0x7fffff | 0x800000
		shift := 126 - e // 14..24
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	default: // below half the smallest subnormal: zero
		return sign
	}
}

// F16ToF32 returns the float32 equal to the binary16 bits h.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // zero
		return math.Float32frombits(sign)
	default: // subnormal: mant · 2^-24, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
}

// F32ToBF16 returns the bfloat16 bits nearest to f (ties to even). NaNs
// become the quiet NaN 0x7FC0, as PyTorch's scalar conversion gives (its
// vectorised CPU path gives 0xFFFF, another NaN).
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return 0x7fc0
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToF32 returns the float32 equal to the bfloat16 bits h.
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
