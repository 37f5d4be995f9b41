package clip

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Ensemble says how the prompts of one class combine into a decision.
type Ensemble int

const (
	// EnsembleMax picks the class of the single best-matching prompt: the
	// softmax runs over all prompts, as the user's reference write-up does.
	EnsembleMax Ensemble = iota
	// EnsembleMean averages each class's normalised prompt embeddings into
	// one class embedding, as OpenAI's ImageNet prompt-engineering notebook does.
	EnsembleMean
)

// ParseEnsemble reads "max" or "mean".
func ParseEnsemble(s string) (Ensemble, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "max", "":
		return EnsembleMax, nil
	case "mean":
		return EnsembleMean, nil
	}
	return EnsembleMax, fmt.Errorf("unknown ensemble %q (want max or mean)", s)
}

func (e Ensemble) String() string {
	if e == EnsembleMean {
		return "mean"
	}
	return "max"
}

// Class is one zero-shot class: its label and the prompts that describe it.
type Class struct {
	Label   string
	Prompts []string
}

// Prompt is one prompt of a classifier, with the class it belongs to.
type Prompt struct {
	Class int
	Text  string
}

// Classifier turns image embeddings into zero-shot predictions over a fixed
// set of classes. It holds the normalised prompt embeddings, so classifying
// costs one dot product per prompt. It is safe for concurrent use.
type Classifier struct {
	classes  []Class
	prompts  []Prompt
	ensemble Ensemble
	scale    float64
	prompt   [][]float32 // normalised prompt embeddings, in Prompts order
	class    [][]float32 // normalised mean embedding per class (EnsembleMean)
}

// Classes returns the classifier's classes, in the order Prediction's
// class indexes refer to.
func (c *Classifier) Classes() []Class { return slices.Clone(c.classes) }

// Prompts returns every prompt with its class, in the order of
// Prediction.PromptProbs.
func (c *Classifier) Prompts() []Prompt { return slices.Clone(c.prompts) }

// Ensemble returns how the classifier combines a class's prompts.
func (c *Classifier) Ensemble() Ensemble { return c.ensemble }

// Prediction is the zero-shot result for one image.
type Prediction struct {
	Class int    // index into Classifier.Classes()
	Label string // Classes()[Class].Label
	// Score is the probability of the predicted class (ClassProbs[Class]).
	Score float64
	// ClassProbs sums to 1 over the classes. With EnsembleMax it is the
	// softmax of each class's best prompt logit (so its argmax is the class
	// of the best prompt); with EnsembleMean the softmax of the class logits.
	ClassProbs  []float64
	ClassLogits []float64
	// PromptProbs is the softmax over all prompts' logits
	// (logit = exp(logit_scale) · cosine), in Classifier.Prompts() order.
	PromptProbs  []float64
	PromptLogits []float64
}

// Validate checks a class list: at least one class, labels unique and not
// empty, every class with at least one non-empty prompt.
func ValidateClasses(classes []Class) error {
	if len(classes) == 0 {
		return fmt.Errorf("no classes")
	}
	seen := map[string]bool{}
	for _, c := range classes {
		if strings.TrimSpace(c.Label) == "" {
			return fmt.Errorf("a class has an empty label")
		}
		if seen[c.Label] {
			return fmt.Errorf("class %q is listed twice", c.Label)
		}
		seen[c.Label] = true
		if len(c.Prompts) == 0 {
			return fmt.Errorf("class %q has no prompt", c.Label)
		}
		for _, p := range c.Prompts {
			if strings.TrimSpace(p) == "" {
				return fmt.Errorf("class %q has an empty prompt", c.Label)
			}
		}
	}
	return nil
}

// NewClassifier encodes every prompt of classes with m's text tower.
func (m *Model) NewClassifier(ctx context.Context, classes []Class, ens Ensemble) (*Classifier, error) {
	if err := ValidateClasses(classes); err != nil {
		return nil, err
	}
	var texts []string
	for _, c := range classes {
		texts = append(texts, c.Prompts...)
	}
	emb, err := m.EncodeTexts(ctx, texts)
	if err != nil {
		return nil, err
	}
	return NewClassifierFromEmbeddings(classes, emb, m.LogitScale(), ens)
}

// NewClassifierFromEmbeddings builds a classifier from prompt embeddings
// computed earlier (e.g. read from a cache), one per prompt, in the order
// the classes list them. logitScale is exp(logit_scale) (Model.LogitScale).
func NewClassifierFromEmbeddings(classes []Class, promptEmbeds [][]float32, logitScale float32, ens Ensemble) (*Classifier, error) {
	if err := ValidateClasses(classes); err != nil {
		return nil, err
	}
	c := &Classifier{classes: slices.Clone(classes), ensemble: ens, scale: float64(logitScale)}
	for i, cl := range classes {
		for _, p := range cl.Prompts {
			c.prompts = append(c.prompts, Prompt{Class: i, Text: p})
		}
	}
	if len(promptEmbeds) != len(c.prompts) {
		return nil, fmt.Errorf("%d prompt embeddings for %d prompts", len(promptEmbeds), len(c.prompts))
	}
	for _, e := range promptEmbeds {
		if len(e) != len(promptEmbeds[0]) {
			return nil, fmt.Errorf("prompt embeddings of different lengths")
		}
		c.prompt = append(c.prompt, Normalize(e))
	}
	dim := len(promptEmbeds[0])
	c.class = make([][]float32, len(classes))
	for k := range classes {
		sum := make([]float64, dim)
		n := 0
		for i, p := range c.prompts {
			if p.Class == k {
				for j, v := range c.prompt[i] {
					sum[j] += float64(v)
				}
				n++
			}
		}
		mean := make([]float32, dim)
		for j := range mean {
			mean[j] = float32(sum[j] / float64(n))
		}
		c.class[k] = Normalize(mean)
	}
	return c, nil
}

// Classify scores one image embedding (normalised or not) against the
// classes. An embedding of another length than the prompts' (another
// model's), or with a NaN or infinite value, is refused.
func (c *Classifier) Classify(image []float32) (Prediction, error) {
	if len(image) != len(c.prompt[0]) {
		return Prediction{}, fmt.Errorf("classify: image embedding has %d values, the prompt embeddings %d (another model's?)", len(image), len(c.prompt[0]))
	}
	for _, v := range image {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Prediction{}, fmt.Errorf("classify: image embedding holds %v", v)
		}
	}
	img := Normalize(image)
	p := Prediction{
		PromptLogits: make([]float64, len(c.prompts)),
		ClassLogits:  make([]float64, len(c.classes)),
	}
	for i, e := range c.prompt {
		p.PromptLogits[i] = c.scale * dot64(img, e)
	}
	p.PromptProbs = softmax64(p.PromptLogits)
	if c.ensemble == EnsembleMean {
		for k, e := range c.class {
			p.ClassLogits[k] = c.scale * dot64(img, e)
		}
	} else {
		for k := range p.ClassLogits {
			p.ClassLogits[k] = math.Inf(-1)
		}
		for i, pr := range c.prompts {
			p.ClassLogits[pr.Class] = math.Max(p.ClassLogits[pr.Class], p.PromptLogits[i])
		}
	}
	p.ClassProbs = softmax64(p.ClassLogits)
	for k, v := range p.ClassLogits {
		if v > p.ClassLogits[p.Class] {
			p.Class = k
		}
	}
	p.Label = c.classes[p.Class].Label
	p.Score = p.ClassProbs[p.Class]
	return p, nil
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func softmax64(x []float64) []float64 {
	out := make([]float64, len(x))
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	var s float64
	for i, v := range x {
		out[i] = math.Exp(v - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}
