package imageproc

import "image"

// webpYCbCrToRGB converts a decoded lossy WebP frame (4:2:0 YCbCr) to RGB the
// way libwebp does when PIL asks it for RGB(A): "fancy" upsampling of the
// chroma planes (libwebp's UpsampleRgbLinePair, a 9-3-3-1 bilinear filter
// evaluated in packed 16-bit lanes) and its 14-bit fixed-point BT.601
// conversion (VP8YuvToRgb).
func webpYCbCrToRGB(m *image.YCbCr) *RGB {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || w == 0 || h == 0 {
		return toRGB(m) // not something VP8 produces
	}
	dst := NewRGB(w, h)
	yRow := func(y int) []uint8 { return m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w] }
	cRow := func(cy int) (u, v []uint8) {
		o := m.COffset(b.Min.X, b.Min.Y+2*cy)
		n := (w + 1) / 2
		return m.Cb[o:][:n], m.Cr[o:][:n]
	}
	row := func(y int) []uint8 { return dst.Pix[3*y*w : 3*(y+1)*w] }

	// libwebp's EmitFancyRGB: the first row uses chroma row 0 alone; then rows
	// (2k-1, 2k) are interpolated between chroma rows k-1 and k; the last row
	// of an even-height picture uses the last chroma row alone.
	u0, v0 := cRow(0)
	upsampleLinePair(yRow(0), nil, u0, v0, u0, v0, row(0), nil)
	for k := 1; 2*k < h; k++ {
		tu, tv := cRow(k - 1)
		cu, cv := cRow(k)
		upsampleLinePair(yRow(2*k-1), yRow(2*k), tu, tv, cu, cv, row(2*k-1), row(2*k))
	}
	if h%2 == 0 && h > 1 {
		u, v := cRow(h/2 - 1)
		upsampleLinePair(yRow(h-1), nil, u, v, u, v, row(h-1), nil)
	}
	return dst
}

// upsampleLinePair is libwebp's UPSAMPLE_FUNC: it converts one or two luma
// rows, interpolating chroma between the row above (top) and below (cur).
// U and V travel together as u | v<<16 so that the rounding is libwebp's.
func upsampleLinePair(topY, botY, topU, topV, curU, curV, topDst, botDst []uint8) {
	n := len(topY)
	load := func(u, v uint8) uint32 { return uint32(u) | uint32(v)<<16 }
	put := func(dst []uint8, x int, y uint8, uv uint32) {
		r, g, b := yuvToRGB(int(y), int(uv&0xff), int((uv>>16)&0xff))
		dst[3*x], dst[3*x+1], dst[3*x+2] = r, g, b
	}
	lastPair := (n - 1) >> 1
	tl := load(topU[0], topV[0])
	l := load(curU[0], curV[0])
	put(topDst, 0, topY[0], (3*tl+l+0x00020002)>>2)
	if botY != nil {
		put(botDst, 0, botY[0], (3*l+tl+0x00020002)>>2)
	}
	for x := 1; x <= lastPair; x++ {
		t := load(topU[x], topV[x])
		uv := load(curU[x], curV[x])
		avg := tl + t + l + uv + 0x00080008
		diag12 := (avg + 2*(t+l)) >> 3
		diag03 := (avg + 2*(tl+uv)) >> 3
		put(topDst, 2*x-1, topY[2*x-1], (diag12+tl)>>1)
		put(topDst, 2*x, topY[2*x], (diag03+t)>>1)
		if botY != nil {
			put(botDst, 2*x-1, botY[2*x-1], (diag03+l)>>1)
			put(botDst, 2*x, botY[2*x], (diag12+uv)>>1)
		}
		tl, l = t, uv
	}
	if n&1 == 0 {
		put(topDst, n-1, topY[n-1], (3*tl+l+0x00020002)>>2)
		if botY != nil {
			put(botDst, n-1, botY[n-1], (3*l+tl+0x00020002)>>2)
		}
	}
}

// yuvToRGB is libwebp's VP8YuvToRgb (dsp/yuv.h): 14-bit coefficients applied
// with a 16x16->high-16 multiply, 6 fractional bits, clipped.
func yuvToRGB(y, u, v int) (r, g, b uint8) {
	mulHi := func(v, c int) int { return (v * c) >> 8 }
	clip := func(v int) uint8 {
		const mask = (256 << 6) - 1
		if v&^mask == 0 {
			return uint8(v >> 6)
		}
		if v < 0 {
			return 0
		}
		return 255
	}
	yy := mulHi(y, 19077)
	return clip(yy + mulHi(v, 26149) - 14234),
		clip(yy - mulHi(u, 6419) - mulHi(v, 13320) + 8708),
		clip(yy + mulHi(u, 33050) - 17685)
}
