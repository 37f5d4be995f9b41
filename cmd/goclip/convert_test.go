package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// binFolder makes a model folder of the kit's tiny model with its weights
// only as the pytorch_model.bin torch.save wrote.
func binFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		copyTo(t, kit+"models/tiny-synth/"+f, filepath.Join(dir, f))
	}
	copyTo(t, "../../testdata/checkpoint/tiny-synth/pytorch_model.bin", filepath.Join(dir, "pytorch_model.bin"))
	return dir
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// embedSome returns a model's embeddings of a few kit images and prompts.
func embedSome(t *testing.T, dir string) (*clip.Model, [][]float32) {
	t.Helper()
	m, err := clip.Load(dir, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	var rgbs []*imageproc.RGB
	for _, name := range []string{"chelsea.png", "astronaut.png", "coffee.png"} {
		img, err := imageproc.DecodeFile(kit+"images/"+name, imageproc.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		rgbs = append(rgbs, img)
	}
	img, err := m.EncodeRGB(ctx, rgbs)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := m.EncodeTexts(ctx, []string{"a photo of a cat", "a photo of an astronaut", "coffee"})
	if err != nil {
		t.Fatal(err)
	}
	return m, append(img, txt...)
}

func maxAbsDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			x := float64(a[i][j] - b[i][j])
			d = max(d, x, -x)
		}
	}
	return d
}

// TestConvert converts the tiny model's torch .bin to a safetensors folder
// and checks the result loads to identical embeddings (F32) or close ones
// (F16, BF16), with configs that parse back to the same values.
func TestConvert(t *testing.T) {
	src := binFolder(t)
	ref, want := embedSome(t, src)
	for _, c := range []struct {
		dtype string
		want  checkpoint.DType
		limit float64
	}{{"f32", checkpoint.F32, 0}, {"f16", checkpoint.F16, 0.02}, {"bf16", checkpoint.BF16, 0.2}} {
		t.Run(c.dtype, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "converted")
			stdout, stderr, code := goclip(t, "convert", "--model", src, "--out", out, "--dtype", c.dtype)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			t.Log(strings.TrimSpace(stdout))
			st, err := checkpoint.Open(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			names := st.Names()
			if len(names) != len(clip.TensorNames(ref.Config())) {
				t.Errorf("%d tensors, want %d", len(names), len(clip.TensorNames(ref.Config())))
			}
			if tn, _ := st.Tensor(names[0]); tn.DType != c.want {
				t.Errorf("dtype %v, want %v", tn.DType, c.want)
			}
			if st.Metadata()["format"] != "pt" {
				t.Errorf("metadata %v: want format pt (transformers needs it)", st.Metadata())
			}
			st.Close()
			for _, f := range []string{"vocab.json", "merges.txt", "pytorch_model.bin"} {
				_, err := os.Stat(filepath.Join(out, f))
				if exists := err == nil; exists != (f != "pytorch_model.bin") {
					t.Errorf("%s exists: %v", f, exists)
				}
			}
			m, got := embedSome(t, out)
			if m.Config() != ref.Config() {
				t.Errorf("config %+v, want %+v", m.Config(), ref.Config())
			}
			if m.ImageConfig() != ref.ImageConfig() {
				t.Errorf("image config %+v, want %+v", m.ImageConfig(), ref.ImageConfig())
			}
			d := maxAbsDiff(got, want)
			if c.limit == 0 && d != 0 || d > c.limit {
				t.Errorf("max |Δ| %g to the .bin model, want ≤ %g", d, c.limit)
			}
			t.Logf("%s: max |Δ| %g", c.dtype, d)
		})
	}
}

// TestConvertOpenCLIP converts an OpenCLIP folder (open_clip_config.json,
// OpenAI tensor names) and checks the result is a plain Hugging Face
// folder giving the same embeddings.
func TestConvertOpenCLIP(t *testing.T) {
	src := t.TempDir()
	hf, err := checkpoint.Open(kit + "models/tiny-synth/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	get := func(name string) ([]int, []float32) {
		tn, _ := hf.Tensor(name)
		d, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		return tn.Shape, d
	}
	// The tiny model under OpenAI names: enough of the renaming to make
	// the folder (the mapping itself is tested in package clip).
	var tensors []checkpoint.NamedTensor
	add := func(name string, shape []int, data []float32) {
		tensors = append(tensors, checkpoint.NamedTensor{Name: name, Shape: shape, Data: data})
	}
	for _, n := range hf.Names() {
		s, d := get(n)
		switch {
		case n == "text_projection.weight" || n == "visual_projection.weight":
			tr := make([]float32, len(d))
			for i := 0; i < s[0]; i++ {
				for j := 0; j < s[1]; j++ {
					tr[j*s[0]+i] = d[i*s[1]+j]
				}
			}
			name := map[string]string{"text_projection.weight": "text_projection", "visual_projection.weight": "visual.proj"}[n]
			add(name, []int{s[1], s[0]}, tr)
		case strings.Contains(n, ".self_attn.q_proj."):
			_, k := get(strings.Replace(n, "q_proj", "k_proj", 1))
			_, v := get(strings.Replace(n, "q_proj", "v_proj", 1))
			fused := append(append(append([]float32{}, d...), k...), v...)
			name := openAIBlockName(n, "self_attn.q_proj.", "attn.in_proj_")
			add(name, append([]int{3 * s[0]}, s[1:]...), fused)
		case strings.Contains(n, ".self_attn.k_proj."), strings.Contains(n, ".self_attn.v_proj."), strings.HasSuffix(n, "position_ids"):
		default:
			name, ok := openAIOther[n]
			if !ok {
				for hfPart, oaPart := range openAIBlockParts {
					if strings.Contains(n, hfPart) {
						name = openAIBlockName(n, hfPart, oaPart)
						ok = true
					}
				}
			}
			if !ok {
				t.Fatalf("no OpenAI name for %s", n)
			}
			add(name, s, d)
		}
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(src, "open_clip_model.safetensors"), tensors, checkpoint.F32, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, clip.OpenCLIPConfigFile), []byte(`{"model_cfg": {"embed_dim": 24, "quick_gelu": true,
		"vision_cfg": {"image_size": 224, "layers": 2, "width": 48, "head_width": 12, "mlp_ratio": 2.0, "patch_size": 32},
		"text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 2, "mlp_ratio": 2.0}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, want := embedSome(t, kit+"models/tiny-synth")
	out := filepath.Join(t.TempDir(), "hf")
	if _, stderr, code := goclip(t, "convert", "--model", src, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"config.json", "preprocessor_config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	_, got := embedSome(t, out)
	if d := maxAbsDiff(got, want); d != 0 {
		t.Errorf("max |Δ| %g, want identical embeddings", d)
	}
}

// openAIOther and openAIBlockParts name the tiny model's tensors the
// OpenAI way for TestConvertOpenCLIP.
var openAIOther = map[string]string{
	"logit_scale": "logit_scale",
	"text_model.embeddings.token_embedding.weight":      "token_embedding.weight",
	"text_model.embeddings.position_embedding.weight":   "positional_embedding",
	"text_model.final_layer_norm.weight":                "ln_final.weight",
	"text_model.final_layer_norm.bias":                  "ln_final.bias",
	"vision_model.embeddings.class_embedding":           "visual.class_embedding",
	"vision_model.embeddings.patch_embedding.weight":    "visual.conv1.weight",
	"vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
	"vision_model.pre_layrnorm.weight":                  "visual.ln_pre.weight",
	"vision_model.pre_layrnorm.bias":                    "visual.ln_pre.bias",
	"vision_model.post_layernorm.weight":                "visual.ln_post.weight",
	"vision_model.post_layernorm.bias":                  "visual.ln_post.bias",
}

var openAIBlockParts = map[string]string{
	"self_attn.out_proj.": "attn.out_proj.", "layer_norm1.": "ln_1.", "layer_norm2.": "ln_2.",
	"mlp.fc1.": "mlp.c_fc.", "mlp.fc2.": "mlp.c_proj.",
}

// openAIBlockName renames a block tensor: the tower prefix, then part.
func openAIBlockName(n, hfPart, oaPart string) string {
	n = strings.Replace(n, "text_model.encoder.layers.", "transformer.resblocks.", 1)
	n = strings.Replace(n, "vision_model.encoder.layers.", "visual.transformer.resblocks.", 1)
	return strings.Replace(n, hfPart, oaPart, 1)
}

// TestConvertRefusals checks the cases convert must not write.
func TestConvertRefusals(t *testing.T) {
	src := binFolder(t)
	out := t.TempDir()
	copyTo(t, kit+"models/tiny-synth/config.json", filepath.Join(out, "model.safetensors")) // any file
	before, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
	_, stderr, code := goclip(t, "convert", "--model", src, "--out", out)
	if code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("existing model.safetensors: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); string(after) != string(before) {
		t.Error("model.safetensors was overwritten without --force")
	}
	if _, stderr, code := goclip(t, "convert", "--model", src, "--out", out, "--force"); code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	if _, stderr, code := goclip(t, "convert", "--model", src, "--out", src); code != 1 || !strings.Contains(stderr, "new folder") {
		t.Errorf("--out = --model: exit %d, %q", code, stderr)
	}
	if _, _, code := goclip(t, "convert", "--model", src, "--out", out, "--dtype", "int8"); code != 2 {
		t.Errorf("--dtype int8: exit %d, want 2", code)
	}
	if _, _, code := goclip(t, "convert", "--model", src); code != 2 {
		t.Errorf("no --out: exit %d, want 2", code)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s in the output folder", e.Name())
		}
	}
}
