package clip_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/synth"
)

// vitB32GFLOP is the work of one image through ViT-B/32's image tower:
// 2 × the multiply-adds of the patch embedding, 12 layers of q/k/v/out,
// MLP and attention products, and the projection.
const vitB32GFLOP = 8.817

// BenchmarkImageTower times the full-size ViT-B/32 image tower with the
// kit's synthetic weights (built in memory, a few seconds), at batch 1 and
// 8, and reports ms/image and GFLOP/s besides ns/op (one op is one batch).
//
//	go test -run '^$' -bench ImageTower ./clip
func BenchmarkImageTower(b *testing.B) { benchImageTower(b, clip.FP32) }

// BenchmarkImageTowerInt8 is BenchmarkImageTower with Int8 encoder blocks
// (the int8 kernel of this CPU; GOCLIP_INT8_KERNEL picks another).
func BenchmarkImageTowerInt8(b *testing.B) { benchImageTower(b, clip.Int8) }

func benchImageTower(b *testing.B, prec clip.Precision) {
	cfg := clip.DefaultConfig() // exactly ViT-B/32
	w, err := synth.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := clip.New(cfg, w, clip.Options{Precision: prec})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	v := cfg.Vision
	n := v.NumChannels * v.ImageSize * v.ImageSize
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for _, batch := range []int{1, 8} {
		pixels := make([][]float32, batch)
		for i := range pixels {
			pixels[i] = make([]float32, n)
			for j := range pixels[i] {
				pixels[i][j] = float32(rng.NormFloat64())
			}
		}
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			if _, err := m.EncodeImages(ctx, pixels); err != nil { // warm-up
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := m.EncodeImages(ctx, pixels); err != nil {
					b.Fatal(err)
				}
			}
			perImage := b.Elapsed().Seconds() / float64(b.N*batch)
			b.ReportMetric(perImage*1e3, "ms/image")
			b.ReportMetric(vitB32GFLOP/perImage, "GFLOP/s")
		})
	}
}
