package eval

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/goclip/goclip/internal/atomicfile"
)

// WriteCSV writes predictions.csv: a header "path,true,pred,score" and one
// probability column per class, then one row per readable image.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := append([]string{"path", "true", "pred", "score"}, r.Classes...)
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	for _, row := range r.Rows {
		rec := []string{row.Path, r.Classes[row.True], r.Classes[row.Pred], f(row.Score)}
		for _, p := range row.Probs {
			rec = append(rec, f(p))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ClassReport is one class's line of the report.
type ClassReport struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1-score"`
	Support   int     `json:"support"`
}

// JSONReport is the content of report.json.
type JSONReport struct {
	Model            string                 `json:"model"`
	ModelFingerprint string                 `json:"model_fingerprint"`
	Dataset          string                 `json:"dataset"`
	Ensemble         string                 `json:"ensemble"`
	Prompts          map[string][]string    `json:"prompts"`
	Classes          []string               `json:"classes"`
	PerClass         map[string]ClassReport `json:"per_class"`
	Accuracy         float64                `json:"accuracy"`
	MacroAvg         ClassReport            `json:"macro avg"`
	WeightedAvg      ClassReport            `json:"weighted avg"`
	ConfusionMatrix  [][]int                `json:"confusion_matrix"`
	Images           int                    `json:"images"`
	Evaluated        int                    `json:"evaluated"`
	Unreadable       []Failure              `json:"unreadable"`
	Warnings         []string               `json:"warnings,omitempty"`
	Cache            Stats                  `json:"cache"`
	TimingsSeconds   map[string]float64     `json:"timings_seconds"`
}

// JSON builds the report.json content. model names the model as the user gave it.
func (r *Result) JSON(model, fingerprint, dataset string) JSONReport {
	j := JSONReport{
		Model: model, ModelFingerprint: fingerprint, Dataset: dataset, Ensemble: r.Ensemble.String(),
		Prompts: map[string][]string{}, Classes: r.Classes, PerClass: map[string]ClassReport{},
		Images: r.Stats.Images, Evaluated: len(r.Rows), Unreadable: r.Failures, Cache: r.Stats,
		TimingsSeconds: map[string]float64{
			"total":       r.Stats.TotalTime.Seconds(),
			"text":        r.Stats.TextTime.Seconds(),
			"images":      r.Stats.ImageTime.Seconds(),
			"image_tower": r.Stats.EncodeTime.Seconds(),
		},
	}
	if j.Unreadable == nil {
		j.Unreadable = []Failure{}
	}
	for _, c := range r.Prompts {
		j.Prompts[c.Label] = c.Prompts
	}
	if m := r.Metrics; m != nil {
		for i, l := range m.Labels {
			j.PerClass[l] = ClassReport{m.Precision[i], m.Recall[i], m.F1[i], m.Support[i]}
		}
		j.Accuracy = m.Accuracy
		j.MacroAvg = ClassReport{m.MacroPrecision, m.MacroRecall, m.MacroF1, m.TotalSupport}
		j.WeightedAvg = ClassReport{m.WeightedPrecision, m.WeightedRecall, m.WeightedF1, m.TotalSupport}
		j.ConfusionMatrix = m.Confusion
		j.Warnings = m.Warnings
	}
	return j
}

// WriteFiles writes predictions.csv, report.json and report.html into dir,
// each replaced atomically (package atomicfile), so a crash never leaves a
// half-written report.
func (r *Result) WriteFiles(ctx context.Context, dir, model, dataset string, fingerprint string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j := r.JSON(model, fingerprint, dataset)
	for name, write := range map[string]func(io.Writer) error{
		"predictions.csv": r.WriteCSV,
		"report.json": func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(j)
		},
		"report.html": func(w io.Writer) error { return r.WriteHTML(ctx, w, j) },
	} {
		if err := atomicfile.Write(filepath.Join(dir, name), 0o644, write); err != nil {
			return err
		}
	}
	return nil
}
