// Package pipeline is goclip's embed and eval as Apache Beam pipelines:
// the same model, image pipeline and batched encoder as the goclip
// command (packages clip, imageproc, batch), spread over shards that any
// Beam runner can hand to many workers.
//
// A run is planned on the machine that launches it: the input is listed
// and cut into shards (ListInput, ListDataset), each shard an element. A
// worker loads the model once per process (DoFn Setup) and embeds a whole
// shard with its own decode goroutines and batched encoder, so it keeps
// its cores busy on any runner; Beam spreads the shards across machines.
// Each shard writes its own output files, atomically and under names
// fixed by its number, so a retried or repeated shard replaces them
// whole. The shards' Parts meet in one last step that writes the
// summary: errors.jsonl, and for eval report.txt and report.json.
//
//	embed: OUT/img_emb/img_emb_N.npy, OUT/metadata/metadata_N.parquet (clip-retrieval's layout), OUT/errors.jsonl
//	eval:  OUT/predictions/predictions_N.parquet, OUT/report.txt, OUT/report.json, OUT/errors.jsonl
package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/npy"
)

func init() {
	register.DoFn3x1[context.Context, Shard, func(Part), error](&embedFn{})
	register.DoFn3x1[context.Context, Shard, func(Part), error](&evalFn{})
	register.DoFn3x1[context.Context, int, func(*Part) bool, error](&summaryFn{})
	register.Emitter1[Part]()
	register.Iter1[Part]()
	beam.RegisterType(reflect.TypeOf((*Shard)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Part)(nil)).Elem())
}

// EmbedConfig says what goclip-beam embed does.
type EmbedConfig struct {
	Worker
	Output string
	DType  npy.DType
	// Unlisted is what listing the input could not look into (ListInput):
	// written to errors.jsonl, as shard -1.
	Unlisted []Failure
}

// Embed adds the embed pipeline over shards to s.
func Embed(s beam.Scope, cfg EmbedConfig, shards []Shard) {
	s = s.Scope("goclip.Embed")
	parts := beam.ParDo(s, &embedFn{Worker: cfg.Worker, Output: cfg.Output, DType: string(cfg.DType)}, beam.Reshuffle(s, beam.CreateList(s, shards)))
	summarize(s, parts, &summaryFn{Output: cfg.Output, Unlisted: cfg.Unlisted})
}

// EvalConfig says what goclip-beam eval does.
type EvalConfig struct {
	Worker
	Output   string
	Classes  []clip.Class // in report order: the dataset's classes, when it has folders
	Ensemble clip.Ensemble
	Digits   int // of the classification report
	// Dataset and Unreadable are what report.json says of the dataset:
	// its name and the entries the listing could not read.
	Dataset    string
	Unreadable []eval.Failure
}

// Eval adds the eval pipeline over shards to s.
func Eval(s beam.Scope, cfg EvalConfig, shards []Shard) error {
	for _, c := range cfg.Classes {
		switch c.Label {
		case "path", "true", "pred", "score":
			return fmt.Errorf("class label %q is the name of a predictions column: rename the class", c.Label)
		}
	}
	s = s.Scope("goclip.Eval")
	parts := beam.ParDo(s, &evalFn{Worker: cfg.Worker, Output: cfg.Output, Classes: cfg.Classes, Ensemble: cfg.Ensemble.String()},
		beam.Reshuffle(s, beam.CreateList(s, shards)))
	sum := &summaryFn{Output: cfg.Output, Eval: true, Model: cfg.Model.Ref, Dataset: cfg.Dataset,
		Classes: cfg.Classes, Ensemble: cfg.Ensemble.String(), Digits: cfg.Digits}
	for _, u := range cfg.Unreadable {
		sum.Unlisted = append(sum.Unlisted, Failure{Shard: -1, Path: u.Path, Reason: u.Reason})
	}
	summarize(s, parts, sum)
	return nil
}

// summarize brings every Part to one summaryFn.
func summarize(s beam.Scope, parts beam.PCollection, fn *summaryFn) {
	beam.ParDo0(s, fn, beam.GroupByKey(s, beam.AddFixedKey(s, parts)))
}

// summaryFn writes a run's summary from all its shards' Parts.
type summaryFn struct {
	Output   string
	Unlisted []Failure // from listing the input, before any shard
	Eval     bool
	// eval's report.json
	Model, Dataset, Ensemble string
	Classes                  []clip.Class
	Digits                   int
}

func (f *summaryFn) ProcessElement(ctx context.Context, _ int, next func(*Part) bool) error {
	var parts []Part
	var p Part
	for next(&p) {
		parts = append(parts, p)
		p = Part{}
	}
	slices.SortFunc(parts, func(a, b Part) int { return a.Shard - b.Shard })
	failures := slices.Clone(f.Unlisted)
	for _, p := range parts {
		failures = append(failures, p.Failures...)
	}
	if err := writeFile(ctx, f.Output, "errors.jsonl", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, fl := range failures {
			if err := enc.Encode(fl); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if !f.Eval {
		return nil
	}
	return f.writeReport(ctx, parts, failures)
}

// writeReport writes report.txt (what goclip eval prints) and report.json
// (goclip eval's, less timings and cache) from the merged counts.
func (f *summaryFn) writeReport(ctx context.Context, parts []Part, failures []Failure) error {
	labels := make([]string, len(f.Classes))
	for i, c := range f.Classes {
		labels[i] = c.Label
	}
	counts := eval.NewConfusion(labels)
	images, rows := 0, 0
	for i := range parts {
		counts.Merge(parts[i].confusion())
		images += parts[i].Images
		rows += parts[i].Rows
	}
	ens, err := clip.ParseEnsemble(f.Ensemble)
	if err != nil {
		return err
	}
	res := &eval.Result{Classes: labels, Prompts: f.Classes, Ensemble: ens, Counts: counts, Stats: eval.Stats{Images: images}}
	for _, fl := range failures {
		res.Failures = append(res.Failures, eval.Failure{Path: fl.Path, Reason: fl.Reason})
	}
	text := "no image could be read: no report\n"
	if rows > 0 {
		res.Metrics = counts.Metrics()
		text = res.Metrics.Text(f.Digits)
	}
	if err := writeFile(ctx, f.Output, "report.txt", func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	}); err != nil {
		return err
	}
	fingerprint := ""
	if len(parts) > 0 {
		fingerprint = parts[0].Fingerprint
	}
	j := res.JSON(f.Model, fingerprint, f.Dataset)
	j.Evaluated = rows
	j.TimingsSeconds = nil
	return writeFile(ctx, f.Output, "report.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(j)
	})
}
