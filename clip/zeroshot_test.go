package clip_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
)

// promptSet is a golden prompt set: class labels and (class, prompt) pairs
// in the golden tensors' column order.
type promptSet struct {
	classes []string
	prompts []struct {
		class int
		text  string
	}
}

func (s promptSet) build() (classes []clip.Class, column []int) {
	classes = make([]clip.Class, len(s.classes))
	for i, l := range s.classes {
		classes[i].Label = l
	}
	for _, p := range s.prompts {
		classes[p.class].Prompts = append(classes[p.class].Prompts, p.text)
	}
	// The classifier lists prompts class by class; map golden columns to them.
	for _, p := range s.prompts {
		k := 0
		for c := 0; c < p.class; c++ {
			k += len(classes[c].Prompts)
		}
		for j, t := range classes[p.class].Prompts {
			if t == p.text {
				column = append(column, k+j)
				break
			}
		}
	}
	return classes, column
}

func goldenSets(in goldenInputs, model string) map[string]promptSet {
	sets := map[string]promptSet{}
	for tag, list := range map[string][][2]any{"seed3": in.Seed3, "seed8": in.Seed8} {
		s := promptSet{classes: []string{"dog", "cat", "wild"}}
		for _, p := range list {
			s.prompts = append(s.prompts, struct {
				class int
				text  string
			}{int(p[1].(float64)), p[0].(string)})
		}
		sets[tag] = s
	}
	v := in.Varied[model]
	s := promptSet{classes: v.Classes}
	for _, p := range v.Prompts {
		for k, c := range v.Classes {
			if c == p[0] {
				s.prompts = append(s.prompts, struct {
					class int
					text  string
				}{k, p[1]})
			}
		}
	}
	sets["varied"] = s
	return sets
}

// TestGoldenZeroShot checks logits, probabilities and both ensembles'
// predictions against the reference, for the seed's prompt sets and the
// varied set (whose winners differ from image to image).
func TestGoldenZeroShot(t *testing.T) {
	in := readInputs(t)
	for _, name := range []string{"tiny-synth", "vit-b-32-synth"} {
		t.Run(name, func(t *testing.T) {
			if name == "vit-b-32-synth" && testing.Short() {
				t.Skip("full-size model in -short mode")
			}
			m, img := synthImageEmbeds(t, name)
			gold := readGolden(t, kit+"golden/"+name+".safetensors")
			ctx := context.Background()
			for tag, set := range goldenSets(in, name) {
				classes, column := set.build()
				distinct := map[int]bool{}
				for _, ens := range []clip.Ensemble{clip.EnsembleMax, clip.EnsembleMean} {
					cl, err := m.NewClassifier(ctx, classes, ens)
					if err != nil {
						t.Fatal(err)
					}
					predKey, logitKey := tag+".pred_max", tag+".logits"
					if ens == clip.EnsembleMean {
						predKey, logitKey = tag+".pred_mean", tag+".logits_mean"
					}
					want, logits := gold[predKey].i64, gold[logitKey].f32
					probs := gold[tag+".probs"].f32
					np := len(set.prompts)
					for i, e := range img {
						p, err := cl.Classify(e)
						if err != nil {
							t.Fatal(err)
						}
						distinct[p.Class] = true
						if int64(p.Class) != want[i] {
							t.Errorf("%s %s image %s: class %d (%s), reference %d", tag, ens, in.Images[i], p.Class, p.Label, want[i])
						}
						if ens == clip.EnsembleMean {
							for k := range classes {
								if d := math.Abs(p.ClassLogits[k] - float64(logits[i*len(classes)+k])); d > 2e-3 {
									t.Errorf("%s mean image %d class %d: logit %.5f, reference %.5f", tag, i, k, p.ClassLogits[k], logits[i*len(classes)+k])
								}
							}
							continue
						}
						for g, c := range column {
							if d := math.Abs(p.PromptLogits[c] - float64(logits[i*np+g])); d > 2e-3 {
								t.Errorf("%s image %d prompt %d: logit %.5f, reference %.5f", tag, i, g, p.PromptLogits[c], logits[i*np+g])
							}
							if d := math.Abs(p.PromptProbs[c] - float64(probs[i*np+g])); d > 1e-4 {
								t.Errorf("%s image %d prompt %d: probability %.6f, reference %.6f", tag, i, g, p.PromptProbs[c], probs[i*np+g])
							}
						}
					}
				}
				if tag == "varied" && len(distinct) < 2 {
					t.Errorf("varied prompts predicted a single class for every image: the test would not catch a swap")
				}
			}
		})
	}
}

func TestParsePrompts(t *testing.T) {
	text := "# the write-up's second run\n\ndog: a photo of a dog\ncat: a photo of a cat\nwild: a photo of a wild animal\nwild: a photo of a wolf\n"
	classes, err := clip.ParsePrompts(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(classes) != 3 || classes[2].Label != "wild" || len(classes[2].Prompts) != 2 || classes[2].Prompts[1] != "a photo of a wolf" {
		t.Fatalf("got %+v", classes)
	}
	j, err := clip.ParsePrompts(strings.NewReader(`{"dog": ["a photo of a dog"], "wild": ["a photo of a wolf", "a photo of a fox"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 2 || j[0].Label != "dog" || len(j[1].Prompts) != 2 {
		t.Fatalf("got %+v", j)
	}
	for _, bad := range []string{
		"", "# only a comment\n", "dog a photo of a dog\n", ": a photo\n", "dog:\n", "dog:   \n",
		`{"dog": "a photo"}`, `{"dog": []}`, `{"dog": [""]}`, `{"dog": ["x"], "dog": ["y"]}`, `{"dog": ["x"]} extra`, `{"dog": [1]}`,
	} {
		if _, err := clip.ParsePrompts(strings.NewReader(bad)); err == nil {
			t.Errorf("ParsePrompts(%q) accepted", bad)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := clip.ParseConfig([]byte(`{"text_config": {"eos_token_id": 2}, "vision_config": {"hidden_act": "gelu", "image_size": 336, "patch_size": 14}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Text.HiddenSize != 512 || c.Vision.HiddenSize != 768 || c.Vision.ImageSize != 336 || c.Vision.NumPatches() != 576 || c.ProjectionDim != 512 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	c, err = clip.ParseConfig([]byte(`{"text_config_dict": {"hidden_size": 768, "num_attention_heads": 12}, "projection_dim": 768}`))
	if err != nil || c.Text.HiddenSize != 768 || c.ProjectionDim != 768 {
		t.Fatalf("text_config_dict not read: %+v %v", c, err)
	}
	for _, bad := range []string{`{`, `{"vision_config": {"hidden_act": "relu"}}`, `{"vision_config": {"patch_size": 0}}`,
		`{"text_config": {"hidden_size": 100, "num_attention_heads": 8}}`, `{"vision_config": {"image_size": 225}}`, `{"projection_dim": "x"}`} {
		if _, err := clip.ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) accepted", bad)
		}
	}
}

// One rule for labels and templates, whoever calls: a blank label, a
// repeated one, an empty list item or a template without {} is an error.
func TestLabelClassesRefusals(t *testing.T) {
	good, err := clip.LabelClasses([]string{"cat", "wild animal"}, "a photo of a {}.", "a {} in the wild")
	if err != nil || len(good) != 2 || good[1].Prompts[1] != "a wild animal in the wild" {
		t.Fatalf("%+v, %v", good, err)
	}
	if c, err := clip.LabelClasses([]string{"cat"}); err != nil || c[0].Prompts[0] != "a photo of a cat." {
		t.Errorf("default template: %+v, %v", c, err)
	}
	for _, c := range []struct {
		labels    []string
		templates []string
		says      string
	}{
		{[]string{"cat"}, []string{"a photo"}, "no {}"},
		{[]string{"cat"}, []string{"nobraces"}, "no {}"},
		{[]string{"cat"}, []string{" "}, "empty template"},
		{[]string{"cat", " "}, nil, "label 2 is empty"},
		{[]string{"cat", "cat"}, nil, "twice"},
		{nil, nil, "no classes"},
	} {
		if _, err := clip.LabelClasses(c.labels, c.templates...); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("labels %q, templates %q: err = %v, want %q", c.labels, c.templates, err, c.says)
		}
	}
	if ls, err := clip.SplitLabels(" cat, dog ,wild animal"); err != nil || !slices.Equal(ls, []string{"cat", "dog", "wild animal"}) {
		t.Errorf("SplitLabels: %q, %v", ls, err)
	}
	for _, s := range []string{"cat,,dog", "cat,dog,", "", " , "} {
		if _, err := clip.SplitLabels(s); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("SplitLabels(%q): err = %v", s, err)
		}
	}
}

// An embedding of another length (another model's) or with a NaN is an
// error, not a panic or a silent score.
func TestClassifyRefusesForeignEmbeddings(t *testing.T) {
	classes, err := clip.LabelClasses([]string{"cat", "dog"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := clip.NewClassifierFromEmbeddings(classes, [][]float32{{1, 0, 0}, {0, 1, 0}}, 100, clip.EnsembleMax)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := cl.Classify([]float32{0.9, 0.1, 0}); err != nil || p.Label != "cat" {
		t.Errorf("%+v, %v", p, err)
	}
	for _, e := range [][]float32{{1, 0}, {1, 0, 0, 0}, nil, {float32(math.NaN()), 0, 0}, {float32(math.Inf(1)), 0, 0}} {
		if _, err := cl.Classify(e); err == nil {
			t.Errorf("embedding %v accepted", e)
		}
	}
}

// A config.json that cannot describe a model is refused with a message in
// the file's own terms: the JSON path of the field and what it should be.
func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"text_config": {"hidden_size": "32"}}`, "text_config.hidden_size is a string, want a whole number"},
		{`{"vision_config": {"layer_norm_eps": "small"}}`, "vision_config.layer_norm_eps is a string, want a number"},
		{`{"projection_dim": [512]}`, "projection_dim is an array, want a whole number"},
		{`{"vision_config": "x"}`, `vision_config is "x", want an object`},
		{`{"text_config": {"hidden_size": 1000000000}}`, "above goclip's limit"},
		{`{"text_config": {"hidden_size": 0}}`, "want a positive size"},
		{`{"text_config": {`, "not valid JSON"},
	} {
		_, err := clip.ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.json, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "clip.")) {
			t.Errorf("%s: error %q speaks Go", c.json, err)
		}
	}
}
