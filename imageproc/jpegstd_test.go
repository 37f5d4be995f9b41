package imageproc

import (
	"bytes"
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
