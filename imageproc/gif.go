package imageproc

import (
	"fmt"
	"image"
)

// gifToRGB renders the first frame of a GIF as PIL 9.4 does: a canvas of the
// logical screen's size filled with the frame's transparent index (or index
// 0), the frame drawn at its offset, then every index looked up in the
// frame's colour table. Go's decoder blanks the transparent entry of the
// palette, so the colour table is read again from the file.
func gifToRGB(m image.Image, data []byte, cfg image.Config) (*RGB, error) {
	p, ok := m.(*image.Paletted)
	if !ok {
		return toRGB(m), nil
	}
	table, trans, err := gifFirstFrame(data)
	if err != nil {
		return nil, err
	}
	var pal [256][3]uint8
	for i := range pal {
		v := uint8(i)
		pal[i] = [3]uint8{v, v, v} // PIL's default palette beyond the table
		if 3*i+2 < len(table) {
			pal[i] = [3]uint8{table[3*i], table[3*i+1], table[3*i+2]}
		}
	}
	fill := uint8(0)
	if trans >= 0 {
		fill = uint8(trans)
	}
	w, h := cfg.Width, cfg.Height
	dst := NewRGB(w, h)
	fr := p.Bounds().Intersect(image.Rect(0, 0, w, h))
	for y := range h {
		o := dst.Pix[3*y*w : 3*(y+1)*w]
		for x := range w {
			idx := fill
			if (image.Point{x, y}).In(fr) {
				idx = p.Pix[p.PixOffset(x, y)]
			}
			c := pal[idx]
			o[3*x], o[3*x+1], o[3*x+2] = c[0], c[1], c[2]
		}
	}
	return dst, nil
}

// gifFirstFrame returns the colour table (RGB triples) that applies to the
// first image of a GIF file, and the transparent index set by the graphic
// control extension before it (-1 if none).
func gifFirstFrame(data []byte) (table []byte, trans int, err error) {
	bad := fmt.Errorf("GIF structure is truncated")
	if len(data) < 13 {
		return nil, -1, bad
	}
	p := 13
	if flags := data[10]; flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if p+n > len(data) {
			return nil, -1, bad
		}
		table = data[p : p+n]
		p += n
	}
	trans = -1
	for p < len(data) {
		switch data[p] {
		case 0x21: // extension: label, then data sub-blocks
			if p+2 > len(data) {
				return nil, -1, bad
			}
			if data[p+1] == 0xf9 && p+7 <= len(data) && data[p+2] >= 4 {
				trans = -1
				if data[p+3]&1 != 0 {
					trans = int(data[p+6])
				}
			}
			p += 2
			for {
				if p >= len(data) {
					return nil, -1, bad
				}
				n := int(data[p])
				p += 1 + n
				if n == 0 {
					break
				}
			}
		case 0x2c: // image descriptor
			if p+10 > len(data) {
				return nil, -1, bad
			}
			if flags := data[p+9]; flags&0x80 != 0 {
				n := 3 << ((flags & 7) + 1)
				if p+10+n > len(data) {
					return nil, -1, bad
				}
				table = data[p+10 : p+10+n]
			}
			return table, trans, nil
		default:
			return nil, -1, fmt.Errorf("GIF block 0x%02x before the first image", data[p])
		}
	}
	return nil, -1, bad
}
