package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/clip"
)

func runClassify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "classify", "[--model DIR|ID] (--labels a,b,c | --prompts FILE) [--ensemble max|mean] [--json] IMAGE...")
	model := fs.String("model", defaultModel, modelFlagHelp)
	labels := fs.String("labels", "", "comma-separated class labels, each turned into a prompt with --template")
	prompts := fs.String("prompts", "", "prompts file: lines \"label: prompt\", or JSON {\"label\": [\"prompt\", ...]}")
	var templates listFlag
	fs.Var(&templates, "template", "prompt template for --labels, {} is the label (repeatable; default \"a photo of a {}.\")")
	ensemble := fs.String("ensemble", "max", "how a class's prompts combine: max (class of the best prompt) or mean (averaged prompt embeddings)")
	asJSON := fs.Bool("json", false, "print one JSON object per image")
	top := fs.Int("top", 3, "classes to show per image in text output (0: all)")
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	truncate := fs.Bool("truncate", false, truncateFlagHelp)
	var imf imageFlags
	imf.register(fs)
	images, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(images) == 0 || (*labels == "") == (*prompts == "") {
		switch {
		case *labels != "" && *prompts != "":
			fmt.Fprintln(e.stderr, "goclip classify: give --labels or --prompts, not both")
		case *labels == "" && *prompts == "":
			fmt.Fprintln(e.stderr, "goclip classify: no classes: give --labels a,b,c or --prompts FILE")
		default:
			fmt.Fprintln(e.stderr, "goclip classify: no images to classify")
		}
		fs.Usage()
		return errUsage
	}
	if err := imf.check(); err != nil {
		return badFlag(e, "classify", err)
	}
	if *top < 0 {
		return badFlag(e, "classify", fmt.Errorf("--top %d: want a number of classes, or 0 for all", *top))
	}
	ens, err := clip.ParseEnsemble(*ensemble)
	if err != nil {
		return err
	}
	var classes []clip.Class
	if *prompts != "" {
		if len(templates) > 0 {
			return fmt.Errorf("--template applies to --labels, not to --prompts")
		}
		if classes, err = clip.LoadPrompts(*prompts); err != nil {
			return err
		}
	} else {
		ls, err := clip.SplitLabels(*labels)
		if err != nil {
			return fmt.Errorf("--labels: %w", err)
		}
		if classes, err = clip.LabelClasses(ls, templates...); err != nil {
			return fmt.Errorf("--labels/--template: %w", err)
		}
	}
	opt, err := withPrecision(e, "classify", *precision, withModelCaches("", clip.Options{TruncateTexts: *truncate}))
	if err != nil {
		return err
	}
	m, _, err := loadModelWith(ctx, e, *model, opt)
	if err != nil {
		return err
	}
	limitHeap(m, false)
	defer m.Close()
	cl, err := m.NewClassifier(ctx, classes, ens)
	if err != nil {
		return err
	}
	if err := m.ReleaseTextPages(); err != nil { // the prompts are all the text this run encodes
		slog.Debug("classify: the text tower's pages stay resident", "err", err)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	err = embedFiles(ctx, m, images, imf, func(r batch.Result) error {
		if r.Err != nil {
			failed++
			reportError(e, r.Name, r.Err)
			return nil
		}
		p, err := cl.Classify(r.Embedding)
		if err != nil {
			return err
		}
		if *asJSON {
			return enc.Encode(jsonPrediction(r.Name, cl, p))
		}
		_, err = fmt.Fprintf(e.stdout, "%s\t%s\t%.4f\t%s\n", r.Name, p.Label, p.Score, topClasses(cl, p, *top))
		return err
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "goclip classify: %d of %d images could not be read\n", failed, len(images))
		return errSilent
	}
	return nil
}

// topClasses formats the n most probable classes as "cat=0.91 dog=0.06".
func topClasses(cl *clip.Classifier, p clip.Prediction, n int) string {
	idx := make([]int, len(p.ClassProbs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.ClassProbs[idx[a]] > p.ClassProbs[idx[b]] })
	if n > 0 && n < len(idx) {
		idx = idx[:n]
	}
	classes := cl.Classes()
	parts := make([]string, len(idx))
	for i, k := range idx {
		parts[i] = fmt.Sprintf("%s=%.4f", classes[k].Label, p.ClassProbs[k])
	}
	return strings.Join(parts, " ")
}

type promptJSON struct {
	Label       string  `json:"label"`
	Prompt      string  `json:"prompt"`
	Probability float64 `json:"probability"`
}

type predictionJSON struct {
	Input         string             `json:"input"`
	Label         string             `json:"label"`
	Score         float64            `json:"score"`
	Probabilities map[string]float64 `json:"probabilities"`
	Prompts       []promptJSON       `json:"prompts"`
}

func jsonPrediction(path string, cl *clip.Classifier, p clip.Prediction) predictionJSON {
	out := predictionJSON{Input: path, Label: p.Label, Score: p.Score, Probabilities: map[string]float64{}}
	classes := cl.Classes()
	for k, c := range classes {
		out.Probabilities[c.Label] = p.ClassProbs[k]
	}
	for i, pr := range cl.Prompts() {
		out.Prompts = append(out.Prompts, promptJSON{classes[pr.Class].Label, pr.Text, p.PromptProbs[i]})
	}
	return out
}
