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
// jpegToRGB(jpegdec.Decode(bytes.NewReader(data))), jpegToRGB being the
// libjpeg colour conversion jpegstd_test.go checks that swap with.) With
// a scratch, the image is the scratch's memory.
func jpegDecodeRGB(data []byte, _ image.Config, s *scratch) (*RGB, error) {
	b := new(jpegdec.Buffers)
	if s != nil {
		b = &s.jpeg
	}
	w, h, pix, err := b.DecodeRGBBytesLimit(data, 0)
	if err != nil {
		return nil, err
	}
	return &RGB{W: w, H: h, Pix: pix}, nil
}
