package imageproc

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func benchFile(b *testing.B, name string) []byte {
	data, err := os.ReadFile(filepath.Join(kitDir, "images", name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodePreprocessJPEG512 is the whole per-image path for a
// 512x512 JPEG: decode, resize to 224, crop, normalise.
func BenchmarkDecodePreprocessJPEG512(b *testing.B) {
	data := benchFile(b, "chelsea_512.jpg")
	cfg := DefaultConfig()
	dst := make([]float32, 3*224*224)
	b.ReportAllocs()
	for b.Loop() {
		img, err := DecodeBytes(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if err := cfg.PreprocessInto(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJPEG512(b *testing.B) {
	data := benchFile(b, "chelsea_512.jpg")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBytes(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocess512 is resize 512x512 -> 224x224 plus normalisation.
func BenchmarkPreprocess512(b *testing.B) {
	img, err := DecodeBytes(benchFile(b, "chelsea_512.jpg"), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	dst := make([]float32, 3*224*224)
	b.ReportAllocs()
	for b.Loop() {
		if err := cfg.PreprocessInto(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocessLarge is the 1411x1411 retina.jpg: long kernels.
func BenchmarkPreprocessLarge(b *testing.B) {
	img, err := DecodeBytes(benchFile(b, "retina.jpg"), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	dst := make([]float32, 3*224*224)
	for b.Loop() {
		if err := cfg.PreprocessInto(dst, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineLarge is the whole per-image path of a Pipeline, as
// goclip eval runs it (scratch memory reused), for the 1411x1411
// retina.jpg: compare python3 bench/pil_preprocess.py on a folder holding
// that file.
func BenchmarkPipelineLarge(b *testing.B) {
	p, err := NewPipeline(DefaultConfig(), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	in, err := p.FromBytes("retina.jpg", benchFile(b, "retina.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 3*224*224)
	for b.Loop() {
		if _, err := p.PixelsInto(context.Background(), in, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResize512To224(b *testing.B) {
	img, err := DecodeBytes(benchFile(b, "chelsea_512.jpg"), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Resize(img, 224, 224, Bicubic); err != nil {
			b.Fatal(err)
		}
	}
}
