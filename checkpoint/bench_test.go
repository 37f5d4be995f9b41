package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bigTensors returns tensors shaped like CLIP ViT-B/32 (151 M float32, 605 MB),
// all sharing one backing array so that writing them needs little memory.
func bigTensors() []NamedTensor {
	backing := make([]float32, 49408*512)
	for i := range backing {
		backing[i] = float32(i%1000) / 1000
	}
	var ts []NamedTensor
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		ts = append(ts, NamedTensor{Name: name, Shape: shape, Data: backing[:n]})
	}
	add("text_model.embeddings.token_embedding.weight", 49408, 512)
	add("vision_model.embeddings.patch_embedding.weight", 768, 3, 32, 32)
	for _, tower := range []struct {
		name  string
		width int
	}{{"text_model", 512}, {"vision_model", 768}} {
		w := tower.width
		for l := range 12 {
			p := fmt.Sprintf("%s.encoder.layers.%d.", tower.name, l)
			for _, proj := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
				add(p+"self_attn."+proj+".weight", w, w)
				add(p+"self_attn."+proj+".bias", w)
			}
			add(p+"mlp.fc1.weight", 4*w, w)
			add(p+"mlp.fc1.bias", 4*w)
			add(p+"mlp.fc2.weight", w, 4*w)
			add(p+"mlp.fc2.bias", w)
			for _, ln := range []string{"layer_norm1", "layer_norm2"} {
				add(p+ln+".weight", w)
				add(p+ln+".bias", w)
			}
		}
	}
	add("visual_projection.weight", 512, 768)
	add("text_projection.weight", 512, 512)
	add("logit_scale")
	return ts
}

// bigFile writes (once; it is kept in the system temp directory between
// runs) a 605 MB F32 checkpoint in the given format and returns its path.
func bigFile(b *testing.B, name string, write func(string, []NamedTensor) error) string {
	dir := filepath.Join(os.TempDir(), "goclip-checkpoint-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if st, err := os.Stat(path); err == nil && st.Size() > 600e6 {
		return path
	}
	start := time.Now()
	if err := write(path, bigTensors()); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.Logf("wrote %s: %d MB in %v", path, st.Size()>>20, time.Since(start))
	return path
}

// benchmarkOpen measures opening a 605 MB checkpoint and getting a float32
// view of every tensor (no data is read: the views are of the mapping).
func benchmarkOpen(b *testing.B, path string) {
	for b.Loop() {
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range s.Names() {
			if _, err := Float32(s, name); err != nil {
				b.Fatal(err)
			}
		}
		s.Close()
	}
}

func BenchmarkOpenSafetensors605MB(b *testing.B) {
	benchmarkOpen(b, bigFile(b, "model.safetensors", func(p string, ts []NamedTensor) error {
		return WriteSafetensors(p, ts, F32, map[string]string{"format": "pt"})
	}))
}

func BenchmarkOpenPyTorch605MB(b *testing.B) {
	benchmarkOpen(b, bigFile(b, "pytorch_model.bin", func(p string, ts []NamedTensor) error {
		return WritePyTorch(p, ts, F32)
	}))
}

// BenchmarkSumSafetensors605MB reads every float of the big file through the
// views, which is what loading a model costs once the file is in the page
// cache.
func BenchmarkSumSafetensors605MB(b *testing.B) {
	path := bigFile(b, "model.safetensors", func(p string, ts []NamedTensor) error {
		return WriteSafetensors(p, ts, F32, nil)
	})
	b.SetBytes(605e6)
	for b.Loop() {
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var sum float32
		for _, name := range s.Names() {
			v, _ := Float32(s, name)
			for _, x := range v {
				sum += x
			}
		}
		s.Close()
	}
}
