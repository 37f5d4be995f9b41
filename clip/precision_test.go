package clip_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/tensor"
)

// TestInt8Precision builds each kit model with Precision Int8 and checks
// its image and text embeddings against the float32 model's: a centred
// cosine of at least 0.99 per row (the bar), a fingerprint of its
// own, and a zero-shot prediction that agrees on most of the kit images.
func TestInt8Precision(t *testing.T) {
	in := readInputs(t)
	ctx := context.Background()
	for _, name := range []string{"tiny-synth", "vit-b-32-synth"} {
		t.Run(name, func(t *testing.T) {
			images := len(in.Images)
			if name == "vit-b-32-synth" {
				if testing.Short() {
					t.Skip("full-size model in -short mode")
				}
				// Where the CPU lacks VNNI, int8 runs the portable kernel
				// (about 3 s an image here): two images keep the test quick.
				if tensor.Int8KernelName() == "go" {
					images = 2
				}
			}
			ref, refImg := synthImageEmbeds(t, name)
			_, w := synthModelWeights(t, name)
			m, err := clip.New(ref.Config(), w, clip.Options{Precision: clip.Int8, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Precision() != clip.Int8 || ref.Precision() != clip.FP32 {
				t.Errorf("precisions %q, %q", m.Precision(), ref.Precision())
			}
			if m.Fingerprint() == ref.Fingerprint() {
				t.Error("int8 and fp32 models share a fingerprint (and so cache entries)")
			}
			img, err := m.EncodeImages(ctx, goldenPixels(t, in)[:images])
			if err != nil {
				t.Fatal(err)
			}
			worst := 1.0
			for i, c := range centredCosines(img, refImg[:images]) {
				worst = math.Min(worst, c)
				if c < 0.99 {
					t.Errorf("image %s: centred cosine int8/fp32 %.5f < 0.99", in.Images[i], c)
				}
			}
			txt, err := m.EncodeTokens(ctx, in.PromptIDs)
			if err != nil {
				t.Fatal(err)
			}
			refTxt, err := ref.EncodeTokens(ctx, in.PromptIDs)
			if err != nil {
				t.Fatal(err)
			}
			worstTxt := 1.0
			for i, c := range centredCosines(txt, refTxt) {
				worstTxt = math.Min(worstTxt, c)
				if c < 0.99 {
					t.Errorf("prompt %d: centred cosine int8/fp32 %.5f < 0.99", i, c)
				}
			}
			classes, _ := goldenSets(in, name)["varied"].build()
			cl, err := m.NewClassifier(ctx, classes, clip.EnsembleMax)
			if err != nil {
				t.Fatal(err)
			}
			refCl, err := ref.NewClassifier(ctx, classes, clip.EnsembleMax)
			if err != nil {
				t.Fatal(err)
			}
			agree := 0
			for i := range img {
				p, err := cl.Classify(img[i])
				if err != nil {
					t.Fatal(err)
				}
				q, err := refCl.Classify(refImg[i])
				if err != nil {
					t.Fatal(err)
				}
				if p.Class == q.Class {
					agree++
				}
			}
			if agree < images*3/4 {
				t.Errorf("varied prompts: int8 agrees with fp32 on %d of %d images", agree, images)
			}
			t.Logf("worst centred cosine int8/fp32: images %.5f, prompts %.5f; varied predictions agree on %d/%d", worst, worstTxt, agree, images)
		})
	}
	if _, err := clip.ParsePrecision("fp16"); err == nil {
		t.Error("ParsePrecision accepted fp16")
	}
}

// nanWeights serves w with one value of one tensor replaced by NaN.
type nanWeights struct {
	clip.Weights
	name string
}

func (n nanWeights) Tensor(name string) ([]int, []float32, error) {
	s, d, err := n.Weights.Tensor(name)
	if err == nil && name == n.name {
		d = append([]float32(nil), d...)
		d[3] = float32(math.NaN())
	}
	return s, d, err
}

// TestInt8BadWeights: int8 cannot scale a row holding NaN; the model is
// refused with the tensor's name rather than quantized into garbage.
func TestInt8BadWeights(t *testing.T) {
	ref, w := synthModelWeights(t, "tiny-synth")
	bad := "vision_model.encoder.layers.1.mlp.fc1.weight"
	_, err := clip.New(ref.Config(), nanWeights{w, bad}, clip.Options{Precision: clip.Int8})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("int8 model with a NaN weight: %v", err)
	}
	if _, err := clip.New(ref.Config(), w, clip.Options{Precision: "fp16"}); err == nil || !strings.Contains(err.Error(), "fp16") {
		t.Errorf("precision fp16: %v", err)
	}
}
