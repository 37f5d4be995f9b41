package pipeline

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/clipretrieval"
	"github.com/goclip/goclip/eval"
)

// evalFn classifies one shard's images zero-shot and writes
// predictions/predictions_N.parquet (path, true, pred, score and one
// probability column per class, as goclip eval's predictions.csv); its
// Part carries the shard's confusion counts.
type evalFn struct {
	Worker
	Output   string
	Classes  []clip.Class // in report order
	Ensemble string

	classifier *clip.Classifier
}

func (f *evalFn) Setup(ctx context.Context) error {
	if err := f.setup(ctx); err != nil {
		return err
	}
	ens, err := clip.ParseEnsemble(f.Ensemble)
	if err == nil {
		f.classifier, err = f.model.NewClassifier(ctx, f.Classes, ens)
	}
	if err != nil {
		f.teardown()
		return err
	}
	return nil
}

func (f *evalFn) Teardown() { f.teardown() }

// PredictionsFile is shard n's predictions, relative to the output folder.
func PredictionsFile(n, count int) string {
	return "predictions/predictions_" + clipretrieval.ShardID(n, count) + ".parquet"
}

func (f *evalFn) ProcessElement(ctx context.Context, s Shard, emit func(Part)) error {
	// The shard's images are embedded in this process's turn; its files
	// are written while the next shard's images are.
	done, err := f.wait(ctx)
	if err != nil {
		return err
	}
	labels := make([]string, len(f.Classes))
	index := map[string]int{}
	for i, c := range f.Classes {
		labels[i] = c.Label
		index[c.Label] = i
	}
	part := Part{Shard: s.N, Labels: labels}
	counts := eval.NewConfusion(labels)
	table := clipretrieval.NewTable(append([]string{"path", "true", "pred", "score"}, labels...)...)
	err = f.embed(ctx, s, &part, func(in *input, emb []float32) error {
		t, ok := index[in.label]
		if !ok {
			part.Rows--
			reason := fmt.Sprintf("class %q is not one of the prompts' labels %v", in.label, labels)
			if in.label == "" {
				reason = "no class (a cls member, or label in the JSON)"
			}
			part.Failures = append(part.Failures, Failure{Shard: s.N, Path: in.name, Reason: reason})
			return nil
		}
		p, err := eval.Predict(f.classifier, counts, in.name, t, emb)
		if err != nil {
			return err
		}
		row := map[string]any{"path": in.name, "true": in.label, "pred": labels[p.Pred], "score": p.Score}
		for i, l := range labels {
			row[l] = p.Probs[i]
		}
		table.Add(row)
		return nil
	})
	done()
	if err != nil {
		return err
	}
	part.setConfusion(counts)
	if err := writeFile(ctx, f.Output, PredictionsFile(s.N, s.Count), table.WriteParquet); err != nil {
		return err
	}
	emit(part)
	return nil
}

// setConfusion keeps counts in the part, flat (Beam encodes Parts).
func (p *Part) setConfusion(c *eval.Confusion) {
	n := len(p.Labels)
	p.Counts = make([]int64, n*n)
	for t := range n {
		for q := range n {
			p.Counts[t*n+q] = int64(c.Counts[t][q])
		}
	}
}

// confusion turns a part's counts back into eval's type.
func (p *Part) confusion() *eval.Confusion {
	c := eval.NewConfusion(p.Labels)
	n := len(p.Labels)
	for t := range n {
		for q := range n {
			c.Counts[t][q] += int(p.Counts[t*n+q])
		}
	}
	return c
}
