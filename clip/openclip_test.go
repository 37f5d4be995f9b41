package clip_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/synth"
)

// openAINamed renames Hugging Face CLIPModel weights the way OpenAI's CLIP
// and OpenCLIP save them: q/k/v fused into in_proj, the projections
// transposed to x @ W form. It is written independently of the package's
// mapping table so that the table is tested against it. prefix goes before
// every name ("module."), text before the text tower's ("text.").
func openAINamed(t testing.TB, c clip.Config, w *synth.Weights, prefix, text string) []checkpoint.NamedTensor {
	t.Helper()
	var out []checkpoint.NamedTensor
	add := func(name string, shape []int, data []float32) {
		out = append(out, checkpoint.NamedTensor{Name: prefix + name, Shape: shape, Data: data})
	}
	get := func(name string) ([]int, []float32) {
		s, ok := w.Shapes[name]
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		return s, w.Data[name]
	}
	same := func(src, hf string) {
		s, d := get(hf)
		add(src, s, d)
	}
	transposed := func(src, hf string) {
		s, d := get(hf) // [p, d]
		out := make([]float32, len(d))
		for i := 0; i < s[0]; i++ {
			for j := 0; j < s[1]; j++ {
				out[j*s[0]+i] = d[i*s[1]+j]
			}
		}
		add(src, []int{s[1], s[0]}, out)
	}
	same("logit_scale", "logit_scale")
	same(text+"token_embedding.weight", "text_model.embeddings.token_embedding.weight")
	same(text+"positional_embedding", "text_model.embeddings.position_embedding.weight")
	same(text+"ln_final.weight", "text_model.final_layer_norm.weight")
	same(text+"ln_final.bias", "text_model.final_layer_norm.bias")
	transposed(text+"text_projection", "text_projection.weight")
	same("visual.class_embedding", "vision_model.embeddings.class_embedding")
	same("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight")
	same("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight")
	same("visual.ln_pre.weight", "vision_model.pre_layrnorm.weight")
	same("visual.ln_pre.bias", "vision_model.pre_layrnorm.bias")
	same("visual.ln_post.weight", "vision_model.post_layernorm.weight")
	same("visual.ln_post.bias", "vision_model.post_layernorm.bias")
	transposed("visual.proj", "visual_projection.weight")
	towers := []struct {
		hf, src string
		n       int
	}{
		{"text_model.encoder.layers.", text + "transformer.resblocks.", c.Text.NumHiddenLayers},
		{"vision_model.encoder.layers.", "visual.transformer.resblocks.", c.Vision.NumHiddenLayers},
	}
	for _, tw := range towers {
		for l := 0; l < tw.n; l++ {
			hf, src := fmt.Sprintf("%s%d.", tw.hf, l), fmt.Sprintf("%s%d.", tw.src, l)
			for _, kind := range []string{"weight", "bias"} {
				var fused []float32
				var shape []int
				for _, p := range []string{"q", "k", "v"} {
					s, d := get(hf + "self_attn." + p + "_proj." + kind)
					fused = append(fused, d...)
					shape = append([]int{3 * s[0]}, s[1:]...)
				}
				add(src+"attn.in_proj_"+kind, shape, fused)
				same(src+"attn.out_proj."+kind, hf+"self_attn.out_proj."+kind)
				same(src+"ln_1."+kind, hf+"layer_norm1."+kind)
				same(src+"ln_2."+kind, hf+"layer_norm2."+kind)
				same(src+"mlp.c_fc."+kind, hf+"mlp.fc1."+kind)
				same(src+"mlp.c_proj."+kind, hf+"mlp.fc2."+kind)
			}
		}
	}
	// Buffers OpenCLIP and OpenAI's TorchScript models carry.
	n := c.Text.MaxPositionEmbeddings
	add(text+"attn_mask", []int{n, n}, make([]float32, n*n))
	add("input_resolution", []int{}, []float32{float32(c.Vision.ImageSize)})
	return out
}

// tinyOpenCLIPConfig is an open_clip_config.json describing the kit's tiny
// model (head_width 12 → 4 heads, mlp_ratio 2 → intermediate 96 and 64).
const tinyOpenCLIPConfig = `{
  "model_cfg": {
    "embed_dim": 24,
    "quick_gelu": true,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 48, "head_width": 12, "mlp_ratio": 2.0, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 4, "layers": 2, "mlp_ratio": 2.0}
  },
  "preprocess_cfg": {
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "shortest"
  }
}`

// vitB32OpenCLIPConfig is OpenCLIP's ViT-B-32 model config with quick_gelu
// (the OpenAI-pretrained variant, ViT-B-32-quickgelu), as the Hub's
// open_clip_config.json files wrap it.
const vitB32OpenCLIPConfig = `{
  "model_cfg": {
    "embed_dim": 512,
    "quick_gelu": true,
    "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}
  },
  "preprocess_cfg": {
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711]
  }
}`

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadSame loads dir and checks that its embeddings of the first n golden
// images and prompts are identical to want/wantTxt.
func loadSame(t *testing.T, dir string, ref *clip.Model, n int) *clip.Model {
	t.Helper()
	m, err := clip.Load(dir, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if !reflect.DeepEqual(m.Config(), ref.Config()) {
		t.Errorf("config %+v\nwant   %+v", m.Config(), ref.Config())
	}
	want, wantTxt := encodeSome(t, ref, n)
	got, gotTxt := encodeSome(t, m, n)
	if d := max(maxDiff(got, want), maxDiff(gotTxt, wantTxt)); d != 0 {
		t.Errorf("max |Δ| %g to the Hugging Face-named model, want identical embeddings", d)
	}
	return m
}

// TestOpenCLIPTiny loads the tiny synthetic model saved under OpenAI and
// OpenCLIP names, in every file and folder form, and checks the
// embeddings are identical to the Hugging Face-named model's.
func TestOpenCLIPTiny(t *testing.T) {
	ref, w := synthModelWeights(t, "tiny-synth")
	cfg := ref.Config()
	kitPre, err := imageproc.LoadConfig(kit + "models/tiny-synth/preprocessor_config.json")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("open_clip_model.safetensors", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), tinyOpenCLIPConfig)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), openAINamed(t, cfg, w, "", ""), checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		m := loadSame(t, dir, ref, 4)
		if got := m.ImageConfig(); got != kitPre {
			t.Errorf("image config %+v, want the kit's preprocessor_config.json %+v", got, kitPre)
		}
	})
	t.Run("open_clip_pytorch_model.bin with module. prefix", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), tinyOpenCLIPConfig)
		if err := checkpoint.WritePyTorch(filepath.Join(dir, "open_clip_pytorch_model.bin"), openAINamed(t, cfg, w, "module.", ""), checkpoint.F32); err != nil {
			t.Fatal(err)
		}
		loadSame(t, dir, ref, 4)
	})
	t.Run("CustomTextCLIP text. prefix", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), strings.Replace(tinyOpenCLIPConfig, `"quick_gelu": true,`, `"quick_gelu": true, "custom_text": true,`, 1))
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), openAINamed(t, cfg, w, "", "text."), checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		loadSame(t, dir, ref, 4)
	})
	t.Run("OpenAI names in model.safetensors next to config.json", func(t *testing.T) {
		dir := modelFolder(t, "tiny-synth")
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), openAINamed(t, cfg, w, "", ""), checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		m := loadSame(t, dir, ref, 4)
		hf, err := clip.Load(kit+"models/tiny-synth", clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer hf.Close()
		if m.Fingerprint() == hf.Fingerprint() {
			t.Error("same fingerprint for different weight files")
		}
	})
	t.Run("F16 open_clip_model.safetensors", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), tinyOpenCLIPConfig)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), openAINamed(t, cfg, w, "", ""), checkpoint.F16, nil); err != nil {
			t.Fatal(err)
		}
		ref16, err := clip.New(cfg, &roundedWeights{w}, clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer ref16.Close()
		loadSame(t, dir, ref16, 4)
	})
	t.Run("open_clip_config.json only for preprocessing", func(t *testing.T) {
		// A Hugging Face config.json, no preprocessor_config.json: the
		// image recipe comes from open_clip_config.json (here: squash).
		dir := t.TempDir()
		copyFile(t, kit+"models/tiny-synth/config.json", filepath.Join(dir, "config.json"))
		copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), strings.Replace(tinyOpenCLIPConfig, `"shortest"`, `"squash"`, 1))
		m, err := clip.Load(dir, clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		want := kitPre
		want.Size, want.DoCenterCrop = imageproc.Size{Height: 224, Width: 224}, false
		want.CropSize = imageproc.Size{Height: 224, Width: 224}
		if got := m.ImageConfig(); got != want {
			t.Errorf("image config %+v, want %+v", got, want)
		}
	})
}

// TestOpenCLIPFullSize is the acceptance test: the synthetic
// full-size ViT-B/32 renamed to OpenCLIP names, with OpenCLIP's
// ViT-B-32-quickgelu config, gives the Hugging Face-named model's
// embeddings exactly; so does the same checkpoint under OpenAI names in a
// Hugging Face folder.
func TestOpenCLIPFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size model in -short mode")
	}
	ref, w := synthModelWeights(t, "vit-b-32-synth")
	named := openAINamed(t, ref.Config(), w, "", "")
	t.Run("open_clip_model.safetensors", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), vitB32OpenCLIPConfig)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), named, checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		loadSame(t, dir, ref, 3)
	})
	t.Run("OpenAI names in model.safetensors", func(t *testing.T) {
		dir := modelFolder(t, "vit-b-32-synth")
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), named, checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		loadSame(t, dir, ref, 3)
	})
}

// TestGELUConfig runs the tiny model with exact GELU (hidden_act "gelu",
// as LAION's models in Hugging Face format and OpenCLIP's default
// quick_gelu=false configs have) and compares it with the PyTorch
// reference's embeddings (testdata/gen_gelu.py).
func TestGELUConfig(t *testing.T) {
	in := readInputs(t)
	gold := readGolden(t, "testdata/tiny-synth-gelu.safetensors")
	ctx := context.Background()
	check := func(t *testing.T, m *clip.Model) {
		img, err := m.EncodeImages(ctx, goldenPixels(t, in))
		if err != nil {
			t.Fatal(err)
		}
		compareEmbeddings(t, "image_embeds", img, gold["image_embeds"].f32, m.EmbedDim())
		txt, err := m.EncodeTokens(ctx, in.PromptIDs)
		if err != nil {
			t.Fatal(err)
		}
		compareEmbeddings(t, "text_embeds", txt, gold["text_embeds"].f32, m.EmbedDim())
		quick := synthModel(t, "tiny-synth")
		qimg, err := quick.EncodeImages(ctx, goldenPixels(t, in)[:4])
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(img[:4], qimg); d < 1e-3 {
			t.Errorf("gelu and quick_gelu embeddings differ by %g only", d)
		}
	}
	t.Run("config.json", func(t *testing.T) {
		dir := modelFolder(t, "tiny-synth")
		b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		writeFile(t, filepath.Join(dir, "config.json"), strings.ReplaceAll(string(b), `"quick_gelu"`, `"gelu"`))
		copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
		m, err := clip.Load(dir, clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if m.Config().Text.HiddenAct != "gelu" || m.Config().Vision.HiddenAct != "gelu" {
			t.Fatalf("hidden_act %q/%q", m.Config().Text.HiddenAct, m.Config().Vision.HiddenAct)
		}
		check(t, m)
	})
	t.Run("open_clip_config.json without quick_gelu", func(t *testing.T) {
		_, w := synthModelWeights(t, "tiny-synth")
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), strings.Replace(tinyOpenCLIPConfig, `"quick_gelu": true,`, "", 1))
		cfg, _, err := clip.ParseOpenCLIPConfig([]byte(tinyOpenCLIPConfig))
		if err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), openAINamed(t, cfg, w, "", ""), checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		m, err := clip.Load(dir, clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		check(t, m)
	})
}

// TestParseOpenCLIPConfig checks OpenCLIP's defaults and model configs
// (model_configs/*.json as of 2025) against the Hugging Face configs of
// the same models.
func TestParseOpenCLIPConfig(t *testing.T) {
	vitB32 := clip.DefaultConfig()
	vitB32.Text.HiddenAct, vitB32.Vision.HiddenAct = "gelu", "gelu"
	vitL14336 := vitB32
	vitL14336.ProjectionDim = 768
	vitL14336.Text.HiddenSize, vitL14336.Text.IntermediateSize, vitL14336.Text.NumAttentionHeads = 768, 3072, 12
	vitL14336.Vision = clip.VisionConfig{HiddenSize: 1024, IntermediateSize: 4096, NumHiddenLayers: 24, NumAttentionHeads: 16,
		NumChannels: 3, ImageSize: 336, PatchSize: 14, HiddenAct: "gelu", LayerNormEps: 1e-5}
	vitH14 := vitB32
	vitH14.ProjectionDim = 1024
	vitH14.Text.HiddenSize, vitH14.Text.IntermediateSize, vitH14.Text.NumAttentionHeads, vitH14.Text.NumHiddenLayers = 1024, 4096, 16, 24
	vitH14.Vision = clip.VisionConfig{HiddenSize: 1280, IntermediateSize: 5120, NumHiddenLayers: 32, NumAttentionHeads: 16,
		NumChannels: 3, ImageSize: 224, PatchSize: 14, HiddenAct: "gelu", LayerNormEps: 1e-5}
	quick := vitB32
	quick.Text.HiddenAct, quick.Vision.HiddenAct = "quick_gelu", "quick_gelu"
	eps := vitB32
	eps.Text.LayerNormEps = 1e-6

	pre := func(size int) imageproc.Config {
		c := imageproc.DefaultConfig()
		c.Size = imageproc.Size{ShortestEdge: size}
		c.CropSize = imageproc.Size{Height: size, Width: size}
		return c
	}
	squash := pre(224)
	squash.Size, squash.DoCenterCrop, squash.Resample = imageproc.Size{Height: 224, Width: 224}, false, imageproc.Bilinear
	squash.Mean, squash.Std = [3]float64{0.5, 0.5, 0.5}, [3]float64{0.5, 0.5, 0.5}

	for _, c := range []struct {
		name, json string
		cfg        clip.Config
		pre        imageproc.Config
	}{
		{"ViT-B-32 (bare model config)", `{"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
			"text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}}`, vitB32, pre(224)},
		{"ViT-B-32 defaults", `{"model_cfg": {"embed_dim": 512, "vision_cfg": {"patch_size": 32}}}`, vitB32, pre(224)},
		{"ViT-B-32-quickgelu", `{"model_cfg": {"embed_dim": 512, "quick_gelu": true, "vision_cfg": {"patch_size": [32, 32], "image_size": [224, 224]}}}`, quick, pre(224)},
		{"ViT-L-14-336", `{"model_cfg": {"embed_dim": 768, "vision_cfg": {"image_size": 336, "layers": 24, "width": 1024, "patch_size": 14},
			"text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 768, "heads": 12, "layers": 12}}, "preprocess_cfg": {"size": 224}}`, vitL14336, pre(336)},
		{"ViT-H-14", `{"model_cfg": {"embed_dim": 1024, "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
			"text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24}}}`, vitH14, pre(224)},
		{"norm eps, squash, bilinear, inception mean", `{"model_cfg": {"embed_dim": 512, "vision_cfg": {"patch_size": 32, "final_ln_after_pool": false},
			"text_cfg": {"norm_kwargs": {"eps": 1e-6}, "pool_type": "argmax"}},
			"preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bilinear", "resize_mode": "squash"}}`, eps, squash},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, p, err := clip.ParseOpenCLIPConfig([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if cfg != c.cfg {
				t.Errorf("config\n%+v\nwant\n%+v", cfg, c.cfg)
			}
			if p != c.pre {
				t.Errorf("preprocessing\n%+v\nwant\n%+v", p, c.pre)
			}
		})
	}

	for _, c := range []struct{ json, want string }{
		{`{"model_cfg": {"vision_cfg": {"patch_size": 32}}}`, "embed_dim"},
		{`{"model_cfg": {"embed_dim": 1024, "vision_cfg": {"layers": [3, 4, 6, 3], "width": 64}}}`, "ResNet"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"timm_model_name": "vit_base_patch16_siglip_224"}}}`, "timm_model_name"},
		{`{"model_cfg": {"embed_dim": 512, "text_cfg": {"hf_model_name": "xlm-roberta-base"}}}`, "hf_model_name"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"ls_init_value": 1e-5}}}`, "ls_init_value"},
		{`{"model_cfg": {"embed_dim": 512, "init_logit_bias": -10}}`, "logit bias"},
		{`{"model_cfg": {"embed_dim": 512, "text_cfg": {"pool_type": "last"}}}`, "pool_type"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"image_size": [224, 256]}}}`, "square"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"act_kwargs": {"approximate": "tanh"}}}}`, "act_kwargs"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"patch_size": 32}}, "preprocess_cfg": {"resize_mode": "longest"}}`, "resize_mode"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"patch_size": 32}}, "preprocess_cfg": {"mean": [0.5]}}`, "mean"},
		{`{"model_cfg": {"embed_dim": 512, "vision_cfg": {"width": 768, "head_width": 0}}}`, "head_width"},
		{`[1, 2]`, "the JSON is an array, want an object"},
	} {
		_, _, err := clip.ParseOpenCLIPConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.json, err, c.want)
		}
	}
}

// TestOpenCLIPErrors checks the messages of checkpoints that do not fit.
func TestOpenCLIPErrors(t *testing.T) {
	ref, w := synthModelWeights(t, "tiny-synth")
	named := openAINamed(t, ref.Config(), w, "", "")
	var without []checkpoint.NamedTensor
	for _, nt := range named {
		if nt.Name != "visual.transformer.resblocks.1.attn.in_proj_weight" {
			without = append(without, nt)
		}
	}
	extra := append(named[:len(named):len(named)], checkpoint.NamedTensor{Name: "visual.head.weight", Shape: []int{2}, Data: []float32{1, 2}})
	cases := []struct {
		name    string
		tensors []checkpoint.NamedTensor
		want    []string
	}{
		{"missing", without, []string{"vision_model.encoder.layers.1.self_attn.q_proj.weight", `"visual.transformer.resblocks.1.attn.in_proj_weight"`}},
		{"foreign names", []checkpoint.NamedTensor{{Name: "trunk.weight", Shape: []int{1}, Data: []float32{1}}}, []string{"neither", "trunk.weight"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), tinyOpenCLIPConfig)
			if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), c.tensors, checkpoint.F32, nil); err != nil {
				t.Fatal(err)
			}
			m, err := clip.Load(dir, clip.Options{})
			if err == nil {
				m.Close()
				t.Fatal("loaded")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
		})
	}
	t.Run("extra tensors are logged", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, clip.OpenCLIPConfigFile), tinyOpenCLIPConfig)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "open_clip_model.safetensors"), extra, checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		old := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
		defer slog.SetDefault(old)
		m, err := clip.Load(dir, clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		if log := buf.String(); !strings.Contains(log, "visual.head.weight") || strings.Contains(log, "attn_mask") || strings.Contains(log, "input_resolution") {
			t.Errorf("debug log %q: want visual.head.weight, not the known buffers", log)
		}
	})
}
