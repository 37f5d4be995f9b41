package jpeg

import (
	"bytes"
	stdjpeg "image/jpeg"
	"os"
	"testing"
)

func benchFile(b *testing.B, name string, std bool) {
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if std {
			if _, err := stdjpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		} else if _, _, _, err := DecodeRGBBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

const kit = "../../testdata/kit/images/"

// BenchmarkDecode512 is the eval pipeline's case: a 512x512 4:2:0 baseline JPEG.
func BenchmarkDecode512(b *testing.B)         { benchFile(b, kit+"chelsea_512.jpg", false) }
func BenchmarkStdlibDecode512(b *testing.B)   { benchFile(b, kit+"chelsea_512.jpg", true) }
func BenchmarkDecodeProgressive(b *testing.B) { benchFile(b, kit+"chelsea_progressive.jpg", false) }
func BenchmarkStdlibProgressive(b *testing.B) { benchFile(b, kit+"chelsea_progressive.jpg", true) }
func BenchmarkDecode444(b *testing.B)         { benchFile(b, kit+"coffee_444.jpg", false) }
func BenchmarkStdlibDecode444(b *testing.B)   { benchFile(b, kit+"coffee_444.jpg", true) }
