package imageproc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// format is one container the package reads: how to read its header and
// how to decode it into the RGB bytes PIL would produce.
type format struct {
	name   string
	config func(io.Reader) (image.Config, error)
	// decode decodes the whole file; cfg is what config returned. It may
	// decode into s's memory (nil: its own).
	decode func(data []byte, cfg image.Config, s *scratch) (*RGB, error)
}

// converter turns a decoded image into PIL's RGB; data is the whole file,
// for the details Go's decoders do not report (PNG colour type, GIF
// palettes).
type converter func(m image.Image, data []byte, cfg image.Config) (*RGB, error)

// via builds a format's decode step from a Go decoder and a converter.
func via(dec func(io.Reader) (image.Image, error), conv converter) func([]byte, image.Config, *scratch) (*RGB, error) {
	return func(data []byte, cfg image.Config, _ *scratch) (*RGB, error) {
		m, err := dec(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if b := m.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height {
			return nil, fmt.Errorf("decoded %dx%d, header says %dx%d", b.Dx(), b.Dy(), cfg.Width, cfg.Height)
		}
		return conv(m, data, cfg)
	}
}

// Format names the image format whose signature starts data ("JPEG", "PNG",
// "GIF", "BMP", "TIFF", "WebP"), or returns "" for data goclip cannot
// decode. The first 12 bytes of a file are enough.
func Format(data []byte) string {
	f, _ := sniff(data)
	return f.name
}

// sniff recognises a format from the first bytes of a file, with the magic
// numbers PIL's plugins accept.
func sniff(data []byte) (format, bool) {
	plain := func(m image.Image, _ []byte, _ image.Config) (*RGB, error) { return toRGB(m), nil }
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return format{"JPEG", jpegConfig, jpegDecodeRGB}, true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return format{"PNG", png.DecodeConfig, via(png.Decode, pngToRGB)}, true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return format{"GIF", gif.DecodeConfig, via(gif.Decode, gifToRGB)}, true
	case bytes.HasPrefix(data, []byte("BM")):
		return format{"BMP", bmp.DecodeConfig, via(bmp.Decode, plain)}, true
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return format{"TIFF", tiff.DecodeConfig, via(tiff.Decode, tiffToRGB)}, true
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return format{"WebP", webp.DecodeConfig, via(webp.Decode, webpToRGB)}, true
	}
	return format{}, false
}

// pngToRGB handles the two PNG cases where PIL's modes differ from Go's
// types: 16-bit grey (PIL's I;16, clipped to 255 on the way to RGB, also
// when a tRNS chunk made Go return NRGBA64) and palette indices beyond the
// PLTE chunk (PIL's default palette, a grey ramp, where Go uses black).
func pngToRGB(m image.Image, data []byte, _ image.Config) (*RGB, error) {
	const ihdrEnd = 8 + 8 + 13
	if len(data) < ihdrEnd {
		return nil, fmt.Errorf("PNG header too short")
	}
	depth, colorType := data[24], data[25]
	switch {
	case colorType == 0 && depth == 16:
		if m, ok := m.(*image.NRGBA64); ok {
			b := m.Bounds()
			dst := NewRGB(b.Dx(), b.Dy())
			for y := range dst.H {
				row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
				o := dst.Pix[3*y*dst.W : 3*(y+1)*dst.W]
				for x := range dst.W {
					v := clipI16(row[8*x], row[8*x+1])
					o[3*x], o[3*x+1], o[3*x+2] = v, v, v
				}
			}
			return dst, nil
		}
	case colorType == 3:
		if p, ok := m.(*image.Paletted); ok {
			n := pngPaletteLen(data)
			pal := paletteRGB(p.Palette, &n)
			b := p.Bounds()
			dst := NewRGB(b.Dx(), b.Dy())
			for y := range dst.H {
				row := p.Pix[p.PixOffset(b.Min.X, b.Min.Y+y):][:dst.W]
				o := dst.Pix[3*y*dst.W : 3*(y+1)*dst.W]
				for x, idx := range row {
					c := pal[idx]
					o[3*x], o[3*x+1], o[3*x+2] = c[0], c[1], c[2]
				}
			}
			return dst, nil
		}
	}
	return toRGB(m), nil
}

// pngPaletteLen returns the number of entries of the PLTE chunk (256 if it
// cannot be found, which leaves Go's palette as is).
func pngPaletteLen(data []byte) int {
	p := 8
	for p+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		switch typ {
		case "PLTE":
			return n / 3
		case "IDAT", "IEND":
			return 256
		}
		if n < 0 || n > len(data) {
			break
		}
		p += 12 + n
	}
	return 256
}

// tiffToRGB undoes associated (premultiplied) alpha the way Pillow's RGBa
// unpacker does, c*255/a with integer division; Go's TIFF decoder returns
// such files as *image.RGBA, and opaque RGB files too (where this is a copy).
func tiffToRGB(m image.Image, _ []byte, _ image.Config) (*RGB, error) {
	rgba, ok := m.(*image.RGBA)
	if !ok {
		return toRGB(m), nil
	}
	b := rgba.Bounds()
	dst := NewRGB(b.Dx(), b.Dy())
	for y := range dst.H {
		row := rgba.Pix[rgba.PixOffset(b.Min.X, b.Min.Y+y):][:4*dst.W]
		o := dst.Pix[3*y*dst.W : 3*(y+1)*dst.W]
		for x := range dst.W {
			a := int(row[4*x+3])
			for c := range 3 {
				v := int(row[4*x+c])
				switch a {
				case 0:
					v = 0
				case 255:
				default:
					v = min(v*255/a, 255)
				}
				o[3*x+c] = uint8(v)
			}
		}
	}
	return dst, nil
}

// webpToRGB converts lossy frames with libwebp's upsampling and colour
// conversion; lossless frames are already RGB(A).
func webpToRGB(m image.Image, _ []byte, _ image.Config) (*RGB, error) {
	switch m := m.(type) {
	case *image.YCbCr:
		return webpYCbCrToRGB(m), nil
	case *image.NYCbCrA:
		return webpYCbCrToRGB(&m.YCbCr), nil
	}
	return toRGB(m), nil
}

// imageExts are the file name extensions of the formats the pipeline
// decodes.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true, ".gif": true,
	".bmp": true, ".dib": true, ".tif": true, ".tiff": true, ".webp": true,
}

// HasImageExt reports whether name ends in the extension of a format the
// pipeline decodes (in any letter case): what a folder walk takes as an
// image without looking inside.
func HasImageExt(name string) bool {
	return imageExts[strings.ToLower(filepath.Ext(name))]
}
