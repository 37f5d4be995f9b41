package jpeg

// Colour conversion constants of libjpeg's jdcolor.c.
const (
	scaleBits = 16
	oneHalf   = 1 << (scaleBits - 1)
)

func fix(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }

// yccTables are jdcolor.c's build_ycc_rgb_table.
type yccTables struct {
	crR [256]int32
	cbB [256]int32
	crG [256]int32
	cbG [256]int32
}

var ycc = func() (t yccTables) {
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + oneHalf) >> scaleBits
		t.cbB[i] = (fix(1.77200)*x + oneHalf) >> scaleBits
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + oneHalf
	}
	return t
}()

// clamp is libjpeg's sample_range_limit for the index range colour
// conversion can produce.
var clampTab = func() (t [1024]uint8) {
	for i := range t {
		t[i] = uint8(min(max(i-384, 0), 255))
	}
	return t
}()

func clamp(v int32) uint8 { return clampTab[(v+384)&1023] }

// Upsampling methods (jdsample.c).
const (
	upFull = iota
	upH2V1Fancy
	upH1V2Fancy
	upH2V2Fancy
	upBox // int_upsample, h2v1_upsample, h2v2_upsample
)

// upsampler produces full-resolution rows of one component.
type upsampler struct {
	c        *component
	kind     int
	hr, vr   int
	buf      []uint8 // output row
	rowWidth int
}

func newUpsampler(d *decoder, c *component) *upsampler {
	u := &upsampler{c: c, hr: d.maxH / c.h, vr: d.maxV / c.v}
	switch {
	case u.hr == 1 && u.vr == 1:
		u.kind = upFull
	case u.hr == 2 && u.vr == 1 && c.dsW > 2:
		u.kind = upH2V1Fancy
	case u.hr == 1 && u.vr == 2:
		u.kind = upH1V2Fancy
	case u.hr == 2 && u.vr == 2 && c.dsW > 2:
		u.kind = upH2V2Fancy
	default:
		u.kind = upBox
	}
	u.rowWidth = c.dsW * u.hr
	u.buf = make([]uint8, max(u.rowWidth, d.width)+8)
	return u
}

// row returns output row y of the component, at least width samples.
func (u *upsampler) row(y int) []uint8 {
	c := u.c
	switch u.kind {
	case upFull:
		return c.plane[y*c.stride:]
	case upH2V1Fancy:
		in := c.plane[y*c.stride : y*c.stride+c.dsW]
		u.h2Fancy(in, in, 4, 8)
		return u.buf
	case upH1V2Fancy, upH2V2Fancy:
		near := y >> 1
		far := near + 1
		bias := int32(2)
		if y&1 == 0 {
			far = near - 1
			bias = 1
		}
		far = min(max(far, 0), c.dsH-1)
		in0 := c.plane[near*c.stride : near*c.stride+c.dsW]
		in1 := c.plane[far*c.stride : far*c.stride+c.dsW]
		if u.kind == upH1V2Fancy {
			out := u.buf[:len(in0)]
			for i := range out {
				out[i] = uint8((int32(in0[i])*3 + int32(in1[i]) + bias) >> 2)
			}
			return u.buf
		}
		u.h2Fancy(in0, in1, 8, 7)
		return u.buf
	default:
		r := y / u.vr
		in := c.plane[r*c.stride:]
		out := u.buf[:u.rowWidth]
		for i := range out {
			out[i] = in[i/u.hr]
		}
		return u.buf
	}
}

// h2Fancy writes to u.buf a row of jdsample.c's fancy upsampling by 2
// across (see h2FancyGo): the middle with SIMD where the CPU has it, the
// rest in Go.
func (u *upsampler) h2Fancy(in0, in1 []uint8, even, odd int32) {
	k := h2FancySIMD(u.buf, in0, in1, even, odd)
	h2FancyGo(u.buf, in0, in1, even, odd, 0, 1)
	h2FancyGo(u.buf, in0, in1, even, odd, 1+k, len(in0))
}

// h2FancyGo computes output samples 2i and 2i+1 of jdsample.c's fancy
// upsampling by 2 across for the input samples i in [from, to): with
// c(j) = 3·in0[j] + in1[j], (3·c(i) + c(i-1) + even) >> 4 and
// (3·c(i) + c(i+1) + odd) >> 4, where the edges take c(i) for their
// missing neighbour. h2v2_fancy_upsample, whose in0 is the nearer input
// row, is even, odd = 8, 7; h2v1_fancy_upsample ((3·in[i] + in[i∓1] +
// 1 or 2) >> 2) is in0 = in1 with 4, 8, the same values times 4.
func h2FancyGo(out, in0, in1 []uint8, even, odd int32, from, to int) {
	n := len(in0)
	in1 = in1[:n]
	out = out[:2*n]
	c := func(j int) int32 {
		j = min(max(j, 0), n-1)
		return int32(in0[j])*3 + int32(in1[j])
	}
	l, m := c(from-1), c(from)
	for i := from; i < to; i++ {
		r := c(i + 1)
		out[2*i] = uint8((m*3 + l + even) >> 4)
		out[2*i+1] = uint8((m*3 + r + odd) >> 4)
		l, m = m, r
	}
}

// colorSpace is the JPEG colour space libjpeg infers (default_decompress_parms).
const (
	csGray = iota
	csYCbCr
	csRGB
	csCMYK
	csYCCK
)

func (d *decoder) colorSpace() int {
	switch d.ncomp {
	case 1:
		return csGray
	case 3:
		if d.jfif {
			return csYCbCr
		}
		if d.adobe {
			if d.adobeTransform == 0 {
				return csRGB
			}
			return csYCbCr
		}
		id0, id1, id2 := d.comp[0].id, d.comp[1].id, d.comp[2].id
		if id0 == 'R' && id1 == 'G' && id2 == 'B' {
			return csRGB
		}
		return csYCbCr
	default:
		if d.adobe && d.adobeTransform != 0 {
			return csYCCK
		}
		return csCMYK
	}
}

// convert writes the image to dst with bpp bytes per pixel: 1 (gray, only
// for one-component images), 3 (RGB) or 4 (RGBA, alpha 255).
func (d *decoder) convert(dst []uint8, bpp int) {
	w := d.width
	var ups [4]*upsampler
	for i := 0; i < d.ncomp; i++ {
		ups[i] = newUpsampler(d, &d.comp[i])
	}
	cs := d.colorSpace()
	for y := 0; y < d.height; y++ {
		out := dst[y*w*bpp : (y+1)*w*bpp]
		switch cs {
		case csGray:
			in := ups[0].row(y)[:w]
			switch bpp {
			case 1:
				copy(out, in)
			case 3:
				for x, v := range in {
					o := out[x*3 : x*3+3 : x*3+3]
					o[0], o[1], o[2] = v, v, v
				}
			default:
				for x, v := range in {
					o := out[x*4 : x*4+4 : x*4+4]
					o[0], o[1], o[2], o[3] = v, v, v, 255
				}
			}
		case csYCbCr:
			yccRow(out, ups[0].row(y)[:w], ups[1].row(y)[:w], ups[2].row(y)[:w], bpp)
		case csRGB:
			r := ups[0].row(y)[:w]
			g := ups[1].row(y)[:w]
			b := ups[2].row(y)[:w]
			for x := range r {
				o := out[x*bpp : x*bpp+3 : x*bpp+3]
				o[0], o[1], o[2] = r[x], g[x], b[x]
			}
		case csCMYK, csYCCK:
			c0 := ups[0].row(y)[:w]
			c1 := ups[1].row(y)[:w]
			c2 := ups[2].row(y)[:w]
			c3 := ups[3].row(y)[:w]
			for x := range c0 {
				var cc, m, ye uint8
				k := c3[x]
				if cs == csYCCK {
					Y := int32(c0[x])
					b, r := c1[x], c2[x]
					cc = clamp(255 - (Y + ycc.crR[r]))
					m = clamp(255 - (Y + (ycc.cbG[b]+ycc.crG[r])>>scaleBits))
					ye = clamp(255 - (Y + ycc.cbB[b]))
				} else {
					cc, m, ye = c0[x], c1[x], c2[x]
				}
				o := out[x*bpp : x*bpp+3 : x*bpp+3]
				o[0], o[1], o[2] = cmykToRGB(cc, k), cmykToRGB(m, k), cmykToRGB(ye, k)
			}
		}
		if bpp == 4 && cs != csGray {
			for x := 0; x < w; x++ {
				out[x*4+3] = 255
			}
		}
	}
}

// cmykToRGB maps one libjpeg CMYK output channel v with black k to the RGB
// value Pillow produces: Pillow reads JPEG CMYK as "CMYK;I" (inverted,
// Adobe convention), then Convert.c's cmyk2rgb computes
// CLIP8(nk - MULDIV255(c, nk)) with nk = 255 - K. After the inversion
// c = 255 - v and nk = k.
func cmykToRGB(v, k uint8) uint8 {
	nk := int32(k)
	t := (255-int32(v))*nk + 128
	r := nk - ((t>>8)+t)>>8
	return uint8(min(max(r, 0), 255))
}

// yccRow converts one row of YCbCr samples to RGB (jdcolext.c
// ycc_rgb_convert_internal), writing bpp (3 or 4) bytes per pixel; a
// fourth byte is left for the caller.
func yccRow(out, yr, cb, cr []uint8, bpp int) {
	if bpp == 3 {
		done := yccRowSIMD(out, yr, cb, cr)
		out, yr, cb, cr = out[3*done:], yr[done:], cb[done:], cr[done:]
	}
	yccRowGo(out, yr, cb, cr, bpp)
}

// yccRowGo is yccRow in portable Go.
func yccRowGo(out, yr, cb, cr []uint8, bpp int) {
	cb = cb[:len(yr)]
	cr = cr[:len(yr)]
	t := &ycc
	for x, yv := range yr {
		if len(out) < 3 {
			return
		}
		Y := int32(yv)
		b, r := cb[x], cr[x]
		R := Y + t.crR[r]
		G := Y + (t.cbG[b]+t.crG[r])>>scaleBits
		B := Y + t.cbB[b]
		out[0] = uint8(min(max(R, 0), 255))
		out[1] = uint8(min(max(G, 0), 255))
		out[2] = uint8(min(max(B, 0), 255))
		out = out[min(bpp, len(out)):]
	}
}
