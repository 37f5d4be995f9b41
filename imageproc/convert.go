package imageproc

import (
	"image"
	"image/color"
)

// toRGB converts a decoded image to packed RGB with the rules of PIL's
// Image.convert("RGB") for the modes PIL would have opened it in:
//
//   - alpha is dropped, never composited (RGBA -> RGB keeps the colour bytes;
//     Go's non-premultiplied types store exactly those);
//   - 16-bit colour keeps the high byte (PIL reads 16-bit RGB as 8-bit RGB);
//   - 16-bit grey clips to 255 (PIL 9.4 reads it as mode I;16, whose only
//     route to RGB goes through L by clipping);
//   - palettes are looked up; CMYK uses Pillow's cmyk2rgb.
//
// YCbCr uses Go's conversion here; JPEG and WebP have their own (see
// formats.go), matching libjpeg and libwebp.
func toRGB(m image.Image) *RGB {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := NewRGB(w, h)
	d := dst.Pix
	switch m := m.(type) {
	case *image.RGBA:
		for y := range h {
			copyRGBX(d[3*y*w:3*(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.NRGBA:
		for y := range h {
			copyRGBX(d[3*y*w:3*(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.RGBA64:
		for y := range h {
			highBytes(d[3*y*w:3*(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.NRGBA64:
		for y := range h {
			highBytes(d[3*y*w:3*(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			o := d[3*y*w : 3*(y+1)*w]
			for x, v := range row {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			o := d[3*y*w : 3*(y+1)*w]
			for x := range w {
				v := clipI16(row[2*x], row[2*x+1])
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.Paletted:
		pal := paletteRGB(m.Palette, nil)
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			o := d[3*y*w : 3*(y+1)*w]
			for x, idx := range row {
				c := pal[idx]
				o[3*x], o[3*x+1], o[3*x+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			o := d[3*y*w : 3*(y+1)*w]
			for x := range w {
				o[3*x], o[3*x+1], o[3*x+2] = cmykToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
			}
		}
	case *image.NYCbCrA:
		return toRGB(&m.YCbCr)
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
				d[i], d[i+1], d[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
	return dst
}

// copyRGBX copies the first three bytes of each 4-byte pixel of src to dst.
func copyRGBX(dst, src []uint8) {
	n := len(dst) / 3
	src = src[:4*n]
	for x := range n {
		s := src[4*x : 4*x+3 : 4*x+3]
		o := dst[3*x : 3*x+3 : 3*x+3]
		o[0], o[1], o[2] = s[0], s[1], s[2]
	}
}

// highBytes copies the high (first, big-endian) byte of the first three
// 16-bit samples of each 8-byte pixel of src to dst.
func highBytes(dst, src []uint8) {
	n := len(dst) / 3
	src = src[:8*n]
	for x := range n {
		s := src[8*x : 8*x+6 : 8*x+6]
		o := dst[3*x : 3*x+3 : 3*x+3]
		o[0], o[1], o[2] = s[0], s[2], s[4]
	}
}

// clipI16 is Pillow's I;16 -> L conversion of a big-endian 16-bit sample:
// values above 255 become 255.
func clipI16(hi, lo uint8) uint8 {
	if hi != 0 {
		return 255
	}
	return lo
}

// cmykToRGB is Pillow's cmyk2rgb: r = nk - c*nk/255 (rounded), nk = 255-k.
func cmykToRGB(c, m, y, k uint8) (r, g, b uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return f(c), f(m), f(y)
}

// paletteRGB returns a 256-entry lookup table for pal. The colour bytes of
// each entry are kept whatever its alpha (PIL ignores a palette's
// transparency when converting to RGB). Entries at or beyond n (when n is
// not nil) or beyond the palette take PIL's default palette, a grey ramp.
func paletteRGB(pal color.Palette, n *int) *[256][3]uint8 {
	var t [256][3]uint8
	limit := len(pal)
	if n != nil && *n < limit {
		limit = *n
	}
	for i := range t {
		v := uint8(i)
		t[i] = [3]uint8{v, v, v}
		if i >= limit {
			continue
		}
		switch c := pal[i].(type) {
		case color.RGBA:
			if c.A == 0xff {
				t[i] = [3]uint8{c.R, c.G, c.B}
				continue
			}
		case color.NRGBA:
			t[i] = [3]uint8{c.R, c.G, c.B}
			continue
		}
		c := color.NRGBAModel.Convert(pal[i]).(color.NRGBA)
		t[i] = [3]uint8{c.R, c.G, c.B}
	}
	return &t
}
