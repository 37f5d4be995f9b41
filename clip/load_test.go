package clip_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// modelFolder makes a temporary model folder with the kit folder's
// config, preprocessor and tokenizer files, and returns its path.
func modelFolder(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		b, err := os.ReadFile(filepath.Join(kit, "models", name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// encodeSome encodes the first n golden images and a few prompts.
func encodeSome(t *testing.T, m *clip.Model, n int) (img, txt [][]float32) {
	t.Helper()
	in := readInputs(t)
	ctx := context.Background()
	img, err := m.EncodeImages(ctx, goldenPixels(t, in)[:n])
	if err != nil {
		t.Fatal(err)
	}
	txt, err = m.EncodeTexts(ctx, in.Prompts[:n])
	if err != nil {
		t.Fatal(err)
	}
	return img, txt
}

// encodeFolder loads the model folder dir and encodes the first n golden
// images and prompts with it.
func encodeFolder(t *testing.T, dir string, n int) (img, txt [][]float32) {
	t.Helper()
	m, err := clip.Load(dir, clip.Options{TruncateTexts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	return encodeSome(t, m, n)
}

func maxDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = max(d, float64(abs32(a[i][j]-b[i][j])))
		}
	}
	return d
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// TestLoadTinyFolders loads the tiny model from the kit's safetensors
// folder and from a pytorch_model.bin written by real torch.save (F32, F16
// and BF16), and checks the embeddings against the golden ones / the same
// weights in memory.
func TestLoadTinyFolders(t *testing.T) {
	in := readInputs(t)
	gold := readGolden(t, kit+"golden/tiny-synth.safetensors")
	ctx := context.Background()
	// The kit's prompts include one of more than 77 tokens: refused by
	// default, as OpenAI's clip.tokenize refuses it...
	strict, err := clip.Load(kit+"models/tiny-synth", clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	if _, err := strict.EncodeTexts(ctx, in.Prompts); !errors.Is(err, clip.ErrTextTooLong) {
		t.Errorf("a prompt of more than 77 tokens: err = %v, want ErrTextTooLong", err)
	}
	// ...and cut when asked, as the kit's reference cuts it.
	m, err := clip.Load(kit+"models/tiny-synth", clip.Options{TruncateTexts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img, err := m.EncodeImages(ctx, goldenPixels(t, in))
	if err != nil {
		t.Fatal(err)
	}
	compareEmbeddings(t, "safetensors image_embeds", img, gold["image_embeds"].f32, m.EmbedDim())
	txt, err := m.EncodeTexts(ctx, in.Prompts)
	if err != nil {
		t.Fatal(err)
	}
	compareEmbeddings(t, "safetensors text_embeds", txt, gold["text_embeds"].f32, m.EmbedDim())

	want, wantTxt := encodeSome(t, m, 4)
	t.Run("torch.save pytorch_model.bin", func(t *testing.T) {
		dir := modelFolder(t, "tiny-synth")
		copyFile(t, "../testdata/checkpoint/tiny-synth/pytorch_model.bin", filepath.Join(dir, "pytorch_model.bin"))
		got, gotTxt := encodeFolder(t, dir, 4)
		if d := max(maxDiff(got, want), maxDiff(gotTxt, wantTxt)); d != 0 {
			t.Errorf("max |Δ| %g to the safetensors model, want identical outputs", d)
		}
	})
	// The F16 and BF16 fixtures leave out the token embedding (to stay
	// small): it comes from the F32 file.
	for _, c := range []struct {
		file  string
		limit float64
	}{{"tiny-synth-f16.bin", 0.02}, {"tiny-synth-bf16.bin", 0.2}} {
		t.Run(c.file, func(t *testing.T) {
			half, err := checkpoint.Open("../testdata/checkpoint/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer half.Close()
			full, err := checkpoint.Open(kit + "models/tiny-synth/model.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			m2, err := clip.New(m.Config(), fallbackWeights{clip.StoreWeights{Store: half}, clip.StoreWeights{Store: full}}, clip.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m2.Close()
			got, gotTxt := encodeSome(t, m2, 4)
			d := max(maxDiff(got, want), maxDiff(gotTxt, wantTxt))
			if d > c.limit || d == 0 {
				t.Errorf("max |Δ| %g to the F32 model, want in (0, %g]", d, c.limit)
			}
			t.Logf("max |Δ| %g to the F32 model", d)
		})
	}
}

type fallbackWeights struct{ first, second clip.Weights }

func (f fallbackWeights) Tensor(name string) ([]int, []float32, error) {
	s, d, err := f.first.Tensor(name)
	if errors.Is(err, clip.ErrTensorNotFound) {
		return f.second.Tensor(name)
	}
	return s, d, err
}

// TestLoadFullSizeFormats writes the full-size synthetic ViT-B/32 as F16
// safetensors and as an F32 pytorch_model.bin, loads each folder, and
// checks the outputs against the same weights in memory: identical for the
// .bin, identical to F16-rounded weights for the F16 file.
func TestLoadFullSizeFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size model in -short mode")
	}
	ref, w := synthModelWeights(t, "vit-b-32-synth")
	var tensors []checkpoint.NamedTensor
	for _, n := range w.Names() {
		tensors = append(tensors, checkpoint.NamedTensor{Name: n, Shape: w.Shapes[n], Data: w.Data[n]})
	}
	want, wantTxt := encodeSome(t, ref, 3)

	t.Run("pytorch_model.bin", func(t *testing.T) {
		dir := modelFolder(t, "vit-b-32-synth")
		if err := checkpoint.WritePyTorch(filepath.Join(dir, "pytorch_model.bin"), tensors, checkpoint.F32); err != nil {
			t.Fatal(err)
		}
		got, gotTxt := encodeFolder(t, dir, 3)
		if d := max(maxDiff(got, want), maxDiff(gotTxt, wantTxt)); d != 0 {
			t.Errorf("max |Δ| %g, want identical outputs", d)
		}
	})
	t.Run("model.safetensors F16", func(t *testing.T) {
		dir := modelFolder(t, "vit-b-32-synth")
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, checkpoint.F16, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		got, gotTxt := encodeFolder(t, dir, 3)
		// The same computation on weights rounded to F16 in memory.
		rounded := &roundedWeights{w}
		cfg := ref.Config()
		m16, err := clip.New(cfg, rounded, clip.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m16.Close()
		want16, wantTxt16 := encodeSome(t, m16, 3)
		if d := max(maxDiff(got, want16), maxDiff(gotTxt, wantTxt16)); d != 0 {
			t.Errorf("max |Δ| %g to F16-rounded weights, want identical outputs", d)
		}
		t.Logf("F16 vs F32 weights: max |Δ| %g", max(maxDiff(got, want), maxDiff(gotTxt, wantTxt)))
	})
}

type roundedWeights struct{ clip.Weights }

func (r *roundedWeights) Tensor(name string) ([]int, []float32, error) {
	s, d, err := r.Weights.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, len(d))
	for i, v := range d {
		out[i] = checkpoint.F16ToF32(checkpoint.F32ToF16(v))
	}
	return s, out, nil
}

// TestLoadErrors checks that broken model folders fail with messages that
// name the problem.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"no weights", func(t *testing.T, dir string) {}, "no weights"},
		{"no config", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "config.json"))
		}, "config.json"},
		{"bad config", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"vision_config": {"hidden_act": "swish"}}`), 0o644)
		}, "hidden_act"},
		{"shape mismatch", func(t *testing.T, dir string) {
			copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"projection_dim": 24, "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2}, "vision_config": {"hidden_size": 48, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2}}`), 0o644)
		}, "the config needs [128"},
		{"missing tensor", func(t *testing.T, dir string) {
			copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"projection_dim": 24, "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 3}, "vision_config": {"hidden_size": 48, "intermediate_size": 96, "num_attention_heads": 4, "num_hidden_layers": 2}}`), 0o644)
		}, "text_model.encoder.layers.2."},
		{"preprocessor size", func(t *testing.T, dir string) {
			copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
			os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"crop_size": 256, "size": 256}`), 0o644)
		}, "256"},
	}
	for _, c := range cases {
		for _, lazy := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lazy=%v", c.name, lazy), func(t *testing.T) {
				dir := modelFolder(t, "tiny-synth")
				c.setup(t, dir)
				m, err := clip.Load(dir, clip.Options{Lazy: lazy})
				if err == nil {
					m.Close()
					t.Fatal("loaded")
				}
				if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
					t.Errorf("error %q does not name %q and the folder", err, c.want)
				}
			})
		}
	}
}

// TestBatchEqualsSingle checks that an image's embedding does not depend on
// the batch it is encoded in, nor a prompt's on the other prompts.
func TestBatchEqualsSingle(t *testing.T) {
	for _, name := range []string{"tiny-synth", "vit-b-32-synth"} {
		t.Run(name, func(t *testing.T) {
			if name == "vit-b-32-synth" && testing.Short() {
				t.Skip("full-size model in -short mode")
			}
			m := synthModel(t, name)
			in := readInputs(t)
			px := goldenPixels(t, in)[:5]
			ctx := context.Background()
			batch, err := m.EncodeImages(ctx, px)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := m.EncodeTexts(ctx, in.Prompts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range px {
				one, err := m.EncodeImages(ctx, px[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				// Every GEMM tile sums in k order whatever its height: the
				// same bits alone as among others.
				if d := maxDiff(one, batch[i:i+1]); d != 0 {
					t.Errorf("image %d: batch vs single max |Δ| %g", i, d)
				}
			}
			for i := range in.Prompts {
				one, err := m.EncodeTexts(ctx, in.Prompts[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(one, tb[i:i+1]); d != 0 {
					t.Errorf("prompt %d: batch vs single max |Δ| %g", i, d)
				}
			}
			// Passes reuse their activation memory (workspace): the batch
			// again, after smaller image and text passes, is unchanged.
			again, err := m.EncodeImages(ctx, px)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(again, batch); d > 1e-5 {
				t.Errorf("the batch again, after other passes: max |Δ| %g", d)
			}
		})
	}
}

// TestWarmPassAllocations checks that a warm pass allocates little beyond
// its outputs: activations come from the workspace, packed rows from the
// GEMM jobs, attention scores from the encoder's buffers, all reused. (A
// score buffer made per pass cost the tiny model 20 KB a pass, ViT-B/32
// 110 KB an image.)
func TestWarmPassAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	m := synthModel(t, "tiny-synth")
	in := readInputs(t)
	px := goldenPixels(t, in)[:3]
	ctx := context.Background()
	// No collection while measuring: it would empty the sync.Pools.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// Bytes per pass, the least of several windows of passes: a sync.Pool
	// keeps an object per P, so a pass on a P it has not run on before
	// still makes (and grows) a GEMM job there once; what every pass
	// allocates shows in every window.
	perPass := func(f func() error) uint64 {
		least := uint64(math.MaxUint64)
		for range 5 {
			var before, after runtime.MemStats
			const passes = 10
			runtime.ReadMemStats(&before)
			for range passes {
				if err := f(); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			least = min(least, (after.TotalAlloc-before.TotalAlloc)/passes)
		}
		return least
	}
	const most = 4 << 10
	for _, n := range []int{1, 3} {
		b := perPass(func() error { _, err := m.EncodeImages(ctx, px[:n]); return err })
		if b > most {
			t.Errorf("a warm pass over %d images allocated %d bytes, want at most %d", n, b, most)
		}
	}
	b := perPass(func() error { _, err := m.EncodeTexts(ctx, in.Prompts); return err })
	if b > most+uint64(len(in.Prompts))<<10 {
		t.Errorf("a warm pass over %d prompts allocated %d bytes, want at most %d", len(in.Prompts), b, most+len(in.Prompts)<<10)
	}
}

// TestEncodeFiles runs the whole path from image files (every decodable
// kit image: PNG, BMP, TIFF, GIF, WebP and JPEG, whose decoded pixels match
// Pillow/libjpeg-turbo exactly) to embeddings, on the tiny and the
// full-size model, against the reference's embeddings of its own pixels.
func TestEncodeFiles(t *testing.T) {
	in := readInputs(t)
	var imgs []*imageproc.RGB
	for _, name := range in.Images {
		img, err := imageproc.DecodeFile(kit+"images/"+name, imageproc.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	for _, name := range []string{"tiny-synth", "vit-b-32-synth"} {
		t.Run(name, func(t *testing.T) {
			if name == "vit-b-32-synth" && testing.Short() {
				t.Skip("full-size model in -short mode")
			}
			m := synthModel(t, name)
			gold := readGolden(t, kit+"golden/"+name+".safetensors")
			got, err := m.EncodeRGB(context.Background(), imgs)
			if err != nil {
				t.Fatal(err)
			}
			compareEmbeddings(t, "image_embeds from files", got, gold["image_embeds"].f32, m.EmbedDim())
			p := m.EmbedDim()
			for i, n := range in.Images {
				if strings.HasSuffix(n, ".jpg") || strings.HasSuffix(n, ".webp") {
					w := gold["image_embeds"].f32[i*p : (i+1)*p]
					t.Logf("%s: max |Δ| %.3g", n, maxDiff(got[i:i+1], [][]float32{w}))
				}
			}
		})
	}
}

// TestLazy checks that a lazily loaded model gives the same embeddings,
// building each tower on first use, also from concurrent first uses.
func TestLazy(t *testing.T) {
	eager, err := clip.Load(kit+"models/tiny-synth", clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eager.Close()
	lazy, err := clip.Load(kit+"models/tiny-synth", clip.Options{Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	if lazy.Fingerprint() != eager.Fingerprint() {
		t.Error("fingerprints differ")
	}
	want, wantTxt := encodeSome(t, eager, 3)
	in := readInputs(t)
	pixels, prompts := goldenPixels(t, in)[:3], in.Prompts[:3]
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { // t.Error only: t.Fatal belongs to the test's goroutine
			defer wg.Done()
			ctx := context.Background()
			got, err := lazy.EncodeImages(ctx, pixels)
			if err != nil {
				t.Error(err)
				return
			}
			gotTxt, err := lazy.EncodeTexts(ctx, prompts)
			if err != nil {
				t.Error(err)
				return
			}
			if d := max(maxDiff(got, want), maxDiff(gotTxt, wantTxt)); d != 0 {
				t.Errorf("lazy model: max |Δ| %g", d)
			}
		}()
	}
	wg.Wait()
}

func TestFingerprint(t *testing.T) {
	a, err := clip.Load(kit+"models/tiny-synth", clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dir := modelFolder(t, "tiny-synth")
	copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
	b, err := clip.Load(dir, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Fingerprint() != b.Fingerprint() || len(a.Fingerprint()) != 64 {
		t.Errorf("same files, fingerprints %q and %q", a.Fingerprint(), b.Fingerprint())
	}
	os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"resample": 2}`), 0o644)
	c, err := clip.Load(dir, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Fingerprint() == a.Fingerprint() {
		t.Error("another preprocessing, same fingerprint")
	}
	if s := synthModel(t, "tiny-synth"); s.Fingerprint() == "" || s.Fingerprint() == a.Fingerprint() {
		t.Errorf("generated model fingerprint %q", s.Fingerprint())
	}
}
