package bench

import (
	"testing"

	"github.com/goclip/goclip/clip"
)

func TestVisionGFLOP(t *testing.T) {
	// ViT-B/32's count, as the issue gives it.
	if g := VisionGFLOP(clip.DefaultConfig()); g < 8.81 || g > 8.83 {
		t.Errorf("ViT-B/32: %.3f GFLOP per image, want 8.82", g)
	}
}

func TestJPEGs(t *testing.T) {
	js, err := JPEGs(2)
	if err != nil || len(js) != 2 || len(js[0]) < 10000 || string(js[0][:2]) != "\xff\xd8" {
		t.Fatalf("%d JPEGs, %v", len(js), err)
	}
	if string(js[0]) == string(js[1]) {
		t.Error("two generated JPEGs are the same")
	}
}
