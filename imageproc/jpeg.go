package imageproc

import (
	"image"
	"io"

	// The JPEG decoder behind jpegConfig and jpegDecode, the only place that
	// names it: imageproc/jpeg reproduces libjpeg-turbo, where PIL's JPEG
	// pixels come from. The standard library's image/jpeg has the same API
	// and can be swapped in here; its pixels then differ from PIL's by a few
	// levels (another IDCT, no fancy upsampling).
	jpegdec "github.com/goclip/goclip/imageproc/jpeg"
)

func jpegConfig(r io.Reader) (image.Config, error) { return jpegdec.DecodeConfig(r) }

// jpegDecodeRGB decodes a JPEG file straight to packed RGB, with no pixel
// cap of the decoder's own: the caller has checked the header against its
// Limits. (With image/jpeg, which has no such function, this would be
// jpegToRGB(jpegdec.Decode(bytes.NewReader(data))).)
func jpegDecodeRGB(data []byte, _ image.Config) (*RGB, error) {
	w, h, pix, err := jpegdec.DecodeRGBBytesLimit(data, 0)
	if err != nil {
		return nil, err
	}
	return &RGB{W: w, H: h, Pix: pix}, nil
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
