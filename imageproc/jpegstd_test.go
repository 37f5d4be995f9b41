package imageproc

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"strings"
	"testing"
)

// exactJPEG records that jpeg.go uses the libjpeg-turbo-exact decoder.
const exactJPEG = true

// TestStdlibJPEGFallback measures the standard library's image/jpeg (with
// jpegToRGB's libjpeg colour conversion) against the golden pixels: the
// fallback jpeg.go documents. Its IDCT and chroma upsampling differ from
// libjpeg-turbo's, so it is a few levels off on JPEG files.
func TestStdlibJPEGFallback(t *testing.T) {
	isJPEG := func(name string) bool { return strings.HasSuffix(name, ".jpg") }
	table, stats := goldenTable(t, isJPEG, func(path string) (*RGB, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		m, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return jpegToRGB(m), nil
	})
	t.Log("image/jpeg instead of imageproc/jpeg:" + table)
	for name, s := range stats {
		// A few levels at most after resizing, and well under one on average.
		if s.maxLevels > 10 || s.mean > 0.01 {
			t.Errorf("%s: max %.2f levels, mean |Δ| %.3g", name, s.maxLevels, s.mean)
		}
	}
}

// jpegToRGB converts a decoded JPEG to RGB. A YCbCr result (what a decoder
// that does not convert colour returns) uses libjpeg's fixed-point
// conversion (jdcolor.c) with each pixel's own chroma sample; CMYK follows
// Pillow (its CMYK values are the Adobe-inverted samples, which is also what
// Go's decoders return). Everything else is converted as in toRGB.
func jpegToRGB(m image.Image) *RGB {
	ycc, ok := m.(*image.YCbCr)
	if !ok {
		return toRGB(m)
	}
	const (
		scaleBits = 16
		oneHalf   = 1 << (scaleBits - 1)
	)
	fix := func(x float64) int { return int(x*(1<<scaleBits) + 0.5) }
	var crR, cbB, crG, cbG [256]int
	for i := range 256 {
		x := i - 128
		crR[i] = (fix(1.40200)*x + oneHalf) >> scaleBits
		cbB[i] = (fix(1.77200)*x + oneHalf) >> scaleBits
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + oneHalf
	}
	clamp := func(v int) uint8 { return uint8(min(max(v, 0), 255)) }

	b := ycc.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := NewRGB(w, h)
	for y := range h {
		o := dst.Pix[3*y*w : 3*(y+1)*w]
		for x := range w {
			px, py := b.Min.X+x, b.Min.Y+y
			yy := int(ycc.Y[ycc.YOffset(px, py)])
			ci := ycc.COffset(px, py)
			cb, cr := ycc.Cb[ci], ycc.Cr[ci]
			o[3*x] = clamp(yy + crR[cr])
			o[3*x+1] = clamp(yy + ((cbG[cb] + crG[cr]) >> scaleBits))
			o[3*x+2] = clamp(yy + cbB[cb])
		}
	}
	return dst
}
