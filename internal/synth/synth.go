// Package synth builds the synthetic CLIP weights of the reference kit's
// WEIGHTS.md: every tensor of a Hugging Face CLIPModel checkpoint filled
// from its name alone (FNV-1a seed, splitmix64 stream), so any language can
// rebuild full-size ViT-B/32 weights bit for bit without downloading any.
// goclip uses them to test parity with the PyTorch reference and to
// benchmark, since no pretrained weights can be fetched where it is built.
package synth

import (
	"fmt"
	"math"
	"regexp"
	"sort"

	"github.com/goclip/goclip/clip"
)

// Weights holds generated tensors; it implements clip.Weights.
type Weights struct {
	Shapes map[string][]int
	Data   map[string][]float32
}

// Tensor implements clip.Weights.
func (w *Weights) Tensor(name string) ([]int, []float32, error) {
	d, ok := w.Data[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", name, clip.ErrTensorNotFound)
	}
	return w.Shapes[name], d, nil
}

// Names lists the tensors, sorted.
func (w *Weights) Names() []string {
	names := make([]string, 0, len(w.Data))
	for n := range w.Data {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Generate builds every tensor of a CLIPModel with config c.
func Generate(c clip.Config) (*Weights, error) {
	w := &Weights{Shapes: clip.TensorShapes(c), Data: map[string][]float32{}}
	for name, shape := range w.Shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		if name == "logit_scale" {
			w.Data[name] = []float32{float32(math.Log(100))}
			continue
		}
		a, offset, err := halfWidth(name, c)
		if err != nil {
			return nil, err
		}
		w.Data[name] = Fill(name, n, a, offset)
	}
	return w, nil
}

// Fill returns the n values of the tensor called name with half-width a;
// offset (0 or 1) is added afterwards, with its own rounding.
func Fill(name string, n int, a float32, offset float32) []float32 {
	seed := fnv1a64(name)
	out := make([]float32, n)
	for i := range out {
		u := splitmix64(seed+uint64(i)) >> 40
		f := float32(float64(u)*(1.0/(1<<23)) - 1) // exact: u < 2^24
		v := float32(f * a)
		if offset != 0 {
			v = float32(v + offset)
		}
		out[i] = v
	}
	return out
}

func fnv1a64(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

func splitmix64(x uint64) uint64 {
	z := x + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

type rule struct {
	re     *regexp.Regexp
	a      func(c clip.Config, d, layers float64) float64
	offset float32
}

var sqrt3 = math.Sqrt(3)

// rules is WEIGHTS.md's table, in order: the first match wins.
var rules = []rule{
	{regexp.MustCompile(`layer_?norm\d?\.weight$|layrnorm\.weight$|final_layer_norm\.weight$`), func(clip.Config, float64, float64) float64 { return 0.1 }, 1},
	{regexp.MustCompile(`layer_?norm\d?\.bias$|layrnorm\.bias$|final_layer_norm\.bias$`), func(clip.Config, float64, float64) float64 { return 0.1 }, 0},
	{regexp.MustCompile(`token_embedding\.weight$`), func(clip.Config, float64, float64) float64 { return 0.02 * sqrt3 }, 0},
	{regexp.MustCompile(`text_model\.embeddings\.position_embedding\.weight$`), func(clip.Config, float64, float64) float64 { return 0.01 * sqrt3 }, 0},
	{regexp.MustCompile(`vision_model\.embeddings\.(class_embedding|position_embedding\.weight)$`), func(_ clip.Config, d, _ float64) float64 { return math.Pow(d, -0.5) * sqrt3 }, 0},
	{regexp.MustCompile(`patch_embedding\.weight$`), func(c clip.Config, _, _ float64) float64 {
		p := float64(c.Vision.PatchSize)
		return math.Pow(3*p*p, -0.5) * sqrt3
	}, 0},
	{regexp.MustCompile(`self_attn\.(q|k|v)_proj\.weight$`), func(_ clip.Config, d, _ float64) float64 { return math.Pow(d, -0.5) * sqrt3 }, 0},
	{regexp.MustCompile(`self_attn\.out_proj\.weight$`), func(_ clip.Config, d, l float64) float64 {
		return math.Pow(d, -0.5) * math.Pow(2*l, -0.5) * sqrt3
	}, 0},
	{regexp.MustCompile(`mlp\.fc1\.weight$`), func(_ clip.Config, d, _ float64) float64 { return math.Pow(2*d, -0.5) * sqrt3 }, 0},
	{regexp.MustCompile(`mlp\.fc2\.weight$`), func(_ clip.Config, d, l float64) float64 {
		return math.Pow(d, -0.5) * math.Pow(2*l, -0.5) * sqrt3
	}, 0},
	{regexp.MustCompile(`\.bias$`), func(clip.Config, float64, float64) float64 { return 0.02 }, 0},
	{regexp.MustCompile(`^visual_projection\.weight$`), func(c clip.Config, _, _ float64) float64 {
		return math.Pow(float64(c.Vision.HiddenSize), -0.5) * sqrt3
	}, 0},
	{regexp.MustCompile(`^text_projection\.weight$`), func(c clip.Config, _, _ float64) float64 {
		return math.Pow(float64(c.Text.HiddenSize), -0.5) * sqrt3
	}, 0},
}

func halfWidth(name string, c clip.Config) (a, offset float32, err error) {
	d, l := float64(c.Vision.HiddenSize), float64(c.Vision.NumHiddenLayers)
	if len(name) >= len("text_model.") && name[:len("text_model.")] == "text_model." {
		d, l = float64(c.Text.HiddenSize), float64(c.Text.NumHiddenLayers)
	}
	for _, r := range rules {
		if r.re.MatchString(name) {
			return float32(r.a(c, d, l)), r.offset, nil
		}
	}
	return 0, 0, fmt.Errorf("synth: no rule for tensor %s", name)
}
