package clip_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/synth"
)

const kit = "../testdata/kit/"

// goldenTensor is one tensor of a golden safetensors file.
type goldenTensor struct {
	shape []int
	f32   []float32
	i64   []int64
}

// readGolden reads a small F32/I64 safetensors file of the kit, copying
// the values out so the file can be closed.
func readGolden(t testing.TB, path string) map[string]goldenTensor {
	t.Helper()
	st, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]goldenTensor{}
	for _, name := range st.Names() {
		tn, _ := st.Tensor(name)
		g := goldenTensor{shape: tn.Shape}
		switch tn.DType {
		case checkpoint.F32:
			v, err := tn.Float32()
			if err != nil {
				t.Fatal(err)
			}
			g.f32 = append([]float32(nil), v...)
		case checkpoint.I64:
			if g.i64, err = tn.Int64(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: dtype %s", name, tn.DType)
		}
		out[name] = g
	}
	return out
}

type goldenInputs struct {
	Images    []string `json:"images"`
	Prompts   []string `json:"prompts"`
	PromptIDs [][]int  `json:"prompt_ids"`
	Seed3     [][2]any `json:"seed3"`
	Seed8     [][2]any `json:"seed8"`
	Varied    map[string]struct {
		Classes []string    `json:"classes"`
		Prompts [][2]string `json:"prompts"`
	} `json:"varied"`
}

func readInputs(t testing.TB) goldenInputs {
	t.Helper()
	b, err := os.ReadFile(kit + "golden/inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	var in goldenInputs
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// goldenPixels returns the kit's preprocessed pixels in inputs.json order.
func goldenPixels(t testing.TB, in goldenInputs) [][]float32 {
	px := readGolden(t, kit+"golden/pixels.safetensors")
	out := make([][]float32, len(in.Images))
	for i, name := range in.Images {
		out[i] = px[name].f32
	}
	return out
}

// compareEmbeddings checks got against want (rows of width p) with the
// kit's tolerances: max |Δ| ≤ 1e-3, and cosine ≥ 0.9999 after subtracting
// each side's mean row (a random model's embeddings share a large common
// component, which would hide errors in a plain cosine).
func compareEmbeddings(t *testing.T, what string, got [][]float32, want []float32, p int) {
	t.Helper()
	if len(got)*p != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want)/p)
	}
	wantRows := make([][]float32, len(got))
	maxd := 0.0
	for i := range got {
		wantRows[i] = want[i*p : (i+1)*p]
		for j := 0; j < p; j++ {
			maxd = math.Max(maxd, math.Abs(float64(got[i][j]-want[i*p+j])))
		}
	}
	worst := 1.0
	for i, c := range centredCosines(got, wantRows) {
		worst = math.Min(worst, c)
		if c < 0.9999 {
			t.Errorf("%s row %d: centred cosine %.6f < 0.9999", what, i, c)
		}
	}
	if maxd > 1e-3 {
		t.Errorf("%s: max |Δ| = %.3g > 1e-3", what, maxd)
	}
	t.Logf("%s: max |Δ| %.3g, worst centred cosine %.7f", what, maxd, worst)
}

// centredCosines returns, per row, the cosine of a and b after subtracting
// each side's mean row (see compareEmbeddings).
func centredCosines(a, b [][]float32) []float64 {
	n, p := len(a), len(a[0])
	ma, mb := make([]float64, p), make([]float64, p)
	for i := range a {
		for j := 0; j < p; j++ {
			ma[j] += float64(a[i][j]) / float64(n)
			mb[j] += float64(b[i][j]) / float64(n)
		}
	}
	cos := make([]float64, n)
	for i := range a {
		var ab, aa, bb float64
		for j := 0; j < p; j++ {
			x, y := float64(a[i][j])-ma[j], float64(b[i][j])-mb[j]
			ab += x * y
			aa += x * x
			bb += y * y
		}
		cos[i] = ab / math.Sqrt(aa*bb)
	}
	return cos
}

// synthModels caches the synthetic models across tests: building the
// full-size one takes seconds. Tests never close them; the process ends.
var synthModels sync.Map // name → *synthEntry

type synthEntry struct {
	once    sync.Once
	model   *clip.Model
	weights *synth.Weights
	err     error

	embedOnce sync.Once
	images    [][]float32 // image embeddings of the golden pixels
	embedErr  error
}

// synthImageEmbeds returns the kit model's image embeddings of the golden
// pixels, computed once per test run (several tests compare them).
func synthImageEmbeds(t testing.TB, name string) (*clip.Model, [][]float32) {
	t.Helper()
	m := synthModel(t, name)
	v, _ := synthModels.Load(name)
	e := v.(*synthEntry)
	e.embedOnce.Do(func() {
		e.images, e.embedErr = m.EncodeImages(context.Background(), goldenPixels(t, readInputs(t)))
	})
	if e.embedErr != nil {
		t.Fatal(e.embedErr)
	}
	return m, e.images
}

// synthModel returns the kit model called name, built from WEIGHTS.md.
func synthModel(t testing.TB, name string) *clip.Model {
	m, _ := synthModelWeights(t, name)
	return m
}

func synthModelWeights(t testing.TB, name string) (*clip.Model, *synth.Weights) {
	t.Helper()
	v, _ := synthModels.LoadOrStore(name, &synthEntry{})
	e := v.(*synthEntry)
	e.once.Do(func() {
		cfg, err := clip.LoadConfig(kit + "models/" + name + "/config.json")
		if err != nil {
			e.err = err
			return
		}
		if e.weights, e.err = synth.Generate(cfg); e.err != nil {
			return
		}
		e.model, e.err = clip.New(cfg, e.weights, clip.Options{TruncateTexts: true}) // the kit truncates its longest prompt, as its reference does
	})
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.model, e.weights
}

func TestGoldenEmbeddings(t *testing.T) {
	in := readInputs(t)
	for _, name := range []string{"tiny-synth", "vit-b-32-synth"} {
		t.Run(name, func(t *testing.T) {
			if name == "vit-b-32-synth" && testing.Short() {
				t.Skip("full-size model in -short mode")
			}
			m, img := synthImageEmbeds(t, name)
			gold := readGolden(t, kit+"golden/"+name+".safetensors")
			ctx := context.Background()
			compareEmbeddings(t, "image_embeds", img, gold["image_embeds"].f32, m.EmbedDim())
			txt, err := m.EncodeTokens(ctx, in.PromptIDs)
			if err != nil {
				t.Fatal(err)
			}
			compareEmbeddings(t, "text_embeds", txt, gold["text_embeds"].f32, m.EmbedDim())
		})
	}
}
