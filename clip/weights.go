package clip

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// ErrTensorNotFound is returned (wrapped) by a Weights source that lacks a tensor.
var ErrTensorNotFound = errors.New("tensor not found")

// Weights is where a model's tensors come from: a checkpoint on disk
// (package checkpoint) or weights generated in memory. Tensor returns the
// tensor's shape and its values as float32 in row-major order; the slice may
// alias a memory-mapped file and must not be modified.
type Weights interface {
	Tensor(name string) (shape []int, data []float32, err error)
}

// TensorShapes lists every tensor of a Hugging Face CLIPModel checkpoint for
// config c, with its shape, under the names modeling_clip.py gives them.
// logit_scale is a 0-d tensor (shape []).
func TensorShapes(c Config) map[string][]int {
	t, v, p := c.Text, c.Vision, c.ProjectionDim
	s := map[string][]int{
		"logit_scale": {},
		"text_model.embeddings.token_embedding.weight":      {t.VocabSize, t.HiddenSize},
		"text_model.embeddings.position_embedding.weight":   {t.MaxPositionEmbeddings, t.HiddenSize},
		"text_model.final_layer_norm.weight":                {t.HiddenSize},
		"text_model.final_layer_norm.bias":                  {t.HiddenSize},
		"vision_model.embeddings.class_embedding":           {v.HiddenSize},
		"vision_model.embeddings.patch_embedding.weight":    {v.HiddenSize, v.NumChannels, v.PatchSize, v.PatchSize},
		"vision_model.embeddings.position_embedding.weight": {v.NumPatches() + 1, v.HiddenSize},
		"vision_model.pre_layrnorm.weight":                  {v.HiddenSize},
		"vision_model.pre_layrnorm.bias":                    {v.HiddenSize},
		"vision_model.post_layernorm.weight":                {v.HiddenSize},
		"vision_model.post_layernorm.bias":                  {v.HiddenSize},
		"visual_projection.weight":                          {p, v.HiddenSize},
		"text_projection.weight":                            {p, t.HiddenSize},
	}
	layers := func(prefix string, n, d, ff int) {
		for i := 0; i < n; i++ {
			l := fmt.Sprintf("%s.encoder.layers.%d.", prefix, i)
			for _, q := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
				s[l+"self_attn."+q+".weight"] = []int{d, d}
				s[l+"self_attn."+q+".bias"] = []int{d}
			}
			for _, ln := range []string{"layer_norm1", "layer_norm2"} {
				s[l+ln+".weight"] = []int{d}
				s[l+ln+".bias"] = []int{d}
			}
			s[l+"mlp.fc1.weight"] = []int{ff, d}
			s[l+"mlp.fc1.bias"] = []int{ff}
			s[l+"mlp.fc2.weight"] = []int{d, ff}
			s[l+"mlp.fc2.bias"] = []int{d}
		}
	}
	layers("text_model", t.NumHiddenLayers, t.HiddenSize, t.IntermediateSize)
	layers("vision_model", v.NumHiddenLayers, v.HiddenSize, v.IntermediateSize)
	return s
}

// TensorNames returns the names of TensorShapes(c), sorted.
func TensorNames(c Config) []string {
	s := TensorShapes(c)
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// pageReleaser is implemented by Weights backed by a memory-mapped file:
// New calls ReleasePages after packing each layer, so the file's pages do
// not stay resident next to their packed copies (peak memory ≈ packed
// weights, not twice that).
type pageReleaser interface {
	ReleasePages() error
}

// fetcher reads tensors from a Weights source and checks each shape against
// the one the config implies, so a wrong checkpoint fails with a message that
// names the tensor and both shapes.
type fetcher struct {
	w      Weights
	shapes map[string][]int
	err    error // the first error of take
}

// take is get for a run of tensors: after the first error it returns nil
// and keeps that error in f.err, so a loader checks once at the end.
func (f *fetcher) take(name string) []float32 { return f.taking(f.get, name) }

// takeUnscanned is take for unscanned.
func (f *fetcher) takeUnscanned(name string) []float32 { return f.taking(f.unscanned, name) }

func (f *fetcher) taking(get func(string) ([]float32, error), name string) []float32 {
	if f.err != nil {
		return nil
	}
	var x []float32
	x, f.err = get(name)
	return x
}

// shaper is implemented by Weights that can tell a tensor's shape without
// producing its values (a checkpoint's header says it).
type shaper interface {
	TensorShape(name string) ([]int, error)
}

// checkShapes checks that every tensor the config needs is there with the
// right shape, reading values only from sources that cannot tell shapes
// alone.
func (f *fetcher) checkShapes() error {
	names := make([]string, 0, len(f.shapes))
	for n := range f.shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := f.shapes[name]
		if s, ok := f.w.(shaper); ok {
			shape, err := s.TensorShape(name)
			if err != nil {
				return fmt.Errorf("tensor %s: %w", name, err)
			}
			if !sameShape(shape, want) {
				return fmt.Errorf("tensor %s has shape %s, the config needs %s", name, shapeString(shape), shapeString(want))
			}
			continue
		}
		if _, err := f.get(name); err != nil {
			return err
		}
	}
	return nil
}

// release lets go of the source's resident pages (see pageReleaser).
func (f *fetcher) release() {
	if r, ok := f.w.(pageReleaser); ok {
		r.ReleasePages()
	}
}

// get returns a tensor checked for its shape and for NaN and infinite
// values (a damaged or diverged checkpoint), which are refused naming the
// tensor.
func (f *fetcher) get(name string) ([]float32, error) {
	data, err := f.unscanned(name)
	if err != nil {
		return nil, err
	}
	if i := nonFinite(data); i >= 0 {
		return nil, fmt.Errorf("tensor %s holds %v at index %d: the weights are damaged (or were saved after a training run diverged)", name, data[i], i)
	}
	return data, nil
}

// unscanned is get without the scan for non-finite values, for a tensor
// the caller checks as it reads it anyway: weights tensor.Pack copies (and
// refuses a non-finite value in), rows of the token embedding.
func (f *fetcher) unscanned(name string) ([]float32, error) {
	want, ok := f.shapes[name]
	if !ok {
		return nil, fmt.Errorf("internal error: no expected shape for %s", name)
	}
	shape, data, err := f.w.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	if !sameShape(shape, want) {
		return nil, fmt.Errorf("tensor %s has shape %s, the config needs %s", name, shapeString(shape), shapeString(want))
	}
	if n := numel(want); len(data) != n {
		return nil, fmt.Errorf("tensor %s has %d values, want %d", name, len(data), n)
	}
	return data, nil
}

// nonFinite returns the index of the first NaN or infinity in x, or -1.
func nonFinite(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

func sameShape(got, want []int) bool {
	// A scalar may be stored as [] or [1] (older checkpoints save logit_scale as [1]).
	if numel(want) == 1 && len(want) == 0 {
		return numel(got) == 1
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
