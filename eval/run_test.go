package eval

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
)

const kit = "../testdata/kit/"

type kitInputs struct {
	Images []string `json:"images"`
	Varied map[string]struct {
		Classes []string    `json:"classes"`
		Prompts [][2]string `json:"prompts"`
	} `json:"varied"`
}

func readKitInputs(t *testing.T) kitInputs {
	t.Helper()
	b, err := os.ReadFile(kit + "golden/inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	var in kitInputs
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// goldenPreds reads varied.pred_max / varied.pred_mean (I64) from a golden file.
func goldenPreds(t *testing.T, model, name string) []int64 {
	t.Helper()
	st, err := checkpoint.Open(kit + "golden/" + model + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tn, ok := st.Tensor(name)
	if !ok || tn.DType != checkpoint.I64 {
		t.Fatalf("no I64 %s", name)
	}
	out, err := tn.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kitDataset lays the 29 decodable kit images out as a dataset with the
// varied classes of model, image i in folder i%3, plus the bad files in
// the first folder. It returns the root and, per kit image, its path.
func kitDataset(t *testing.T, classes []string, withBad bool) (string, map[string]string) {
	t.Helper()
	root := t.TempDir()
	in := readKitInputs(t)
	where := map[string]string{}
	for i, name := range in.Images {
		dir := filepath.Join(root, classes[i%len(classes)])
		os.MkdirAll(dir, 0o755)
		b, err := os.ReadFile(kit + "images/" + name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		where[name] = p
	}
	if withBad {
		for _, bad := range []string{"bad-empty.jpg", "bad-text.png", "bad-truncated.jpg", "bad-cut.jpg", "bad-bomb.png"} {
			b, _ := os.ReadFile(kit + "images/" + bad)
			os.WriteFile(filepath.Join(root, classes[0], bad), b, 0o644)
		}
	}
	return root, where
}

func variedClasses(in kitInputs, model string) []clip.Class {
	v := in.Varied[model]
	var classes []clip.Class
	for _, l := range v.Classes {
		c := clip.Class{Label: l}
		for _, p := range v.Prompts {
			if p[0] == l {
				c.Prompts = append(c.Prompts, p[1])
			}
		}
		classes = append(classes, c)
	}
	return classes
}

// memCache is an in-memory Cache that counts reads and writes.
type memCache struct {
	mu     sync.Mutex
	images map[string][]float32
	texts  map[string][]float32
	puts   int
}

func newMemCache() *memCache {
	return &memCache{images: map[string][]float32{}, texts: map[string][]float32{}}
}

func (c *memCache) GetImage(model, key string) ([]float32, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.images[model+key]
	return v, ok, nil
}

func (c *memCache) PutImages(model string, e map[string][]float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range e {
		c.images[model+k] = v
	}
	c.puts++
	return nil
}

func (c *memCache) GetTexts(model string, texts []string) ([][]float32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = c.texts[model+t]
	}
	return out, nil
}

func (c *memCache) PutTexts(model string, e map[string][]float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range e {
		c.texts[model+k] = v
	}
	return nil
}

// TestRunMatchesReference evaluates the tiny model on the kit images with
// its varied prompt set and checks every prediction against the reference,
// for both ensembles; then runs again and checks that no image is decoded.
func TestRunMatchesReference(t *testing.T) {
	in := readKitInputs(t)
	const model = "tiny-synth"
	classes := variedClasses(in, model)
	labels := in.Varied[model].Classes
	root, where := kitDataset(t, labels, true)
	m, err := clip.Load(kit+"models/"+model, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ds, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	c := newMemCache()
	for _, ens := range []clip.Ensemble{clip.EnsembleMax, clip.EnsembleMean} {
		want := goldenPreds(t, model, "varied.pred_"+ens.String())
		res, err := Run(context.Background(), Config{Model: m, Dataset: ds, Classes: classes, Ensemble: ens, Cache: c, Batch: 4, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		pred := map[string]int{}
		for _, r := range res.Rows {
			pred[r.Path] = r.Pred
		}
		distinct := map[int]bool{}
		for i, name := range in.Images {
			p, ok := pred[where[name]]
			if !ok {
				t.Errorf("%s: no prediction", name)
				continue
			}
			distinct[p] = true
			if int64(p) != want[i] {
				t.Errorf("%s %s: predicted %s, reference %s", ens, name, labels[p], labels[want[i]])
			}
		}
		if len(distinct) < 2 {
			t.Errorf("%s: one class for every image; the check is too weak", ens)
		}
		if len(res.Failures) != 5 || len(res.Rows) != 29 {
			t.Errorf("%d failures, %d rows; want 5 and 29", len(res.Failures), len(res.Rows))
		}
		for _, f := range res.Failures {
			if !strings.Contains(f.Path, "bad-") || f.Reason == "" {
				t.Errorf("failure %+v", f)
			}
		}
		if ens == clip.EnsembleMax {
			if res.Stats.Decoded != 29 || res.Stats.CacheHits != 0 || res.Stats.TextsEncoded != 6 {
				t.Errorf("first run stats %+v", res.Stats)
			}
		} else if res.Stats.Decoded != 0 || res.Stats.CacheHits != 29 || res.Stats.TextHits != 6 {
			// The second run (new ensemble, same prompts) must decode nothing.
			t.Errorf("second run stats %+v: want every image and prompt from the cache", res.Stats)
		}
		if res.Metrics == nil || res.Metrics.TotalSupport != 29 {
			t.Fatalf("metrics %+v", res.Metrics)
		}

		// Shards: the dataset split in three (as workers of a distributed
		// run see it), each run on its own, the counts merged: the report
		// of the whole, byte for byte.
		merged := NewConfusion(ds.Classes)
		for k := range 3 {
			part := *ds
			part.Items = nil
			for i, it := range ds.Items {
				if i%3 == k {
					part.Items = append(part.Items, it)
				}
			}
			r, err := Run(context.Background(), Config{Model: m, Dataset: &part, Classes: classes, Ensemble: ens, Cache: c})
			if err != nil {
				t.Fatal(err)
			}
			merged.Merge(r.Counts)
		}
		for _, d := range []int{2, 4} {
			if got, want := merged.Metrics().ClassificationReport(d), res.Metrics.ClassificationReport(d); got != want {
				t.Errorf("%s: merged shards' report\n%s\nwhole run's\n%s", ens, got, want)
			}
		}
	}
}

// tinyKit loads the kit's tiny model (closed when the test ends) and
// lays its images out as a dataset of its varied classes (see kitDataset).
func tinyKit(t *testing.T, withBad bool) (kitInputs, *Dataset, *clip.Model) {
	t.Helper()
	in := readKitInputs(t)
	root, _ := kitDataset(t, in.Varied["tiny-synth"].Classes, withBad)
	m, err := clip.Load(kit+"models/tiny-synth", clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ds, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	return in, ds, m
}

// releasingModel records the order in which Run calls it.
type releasingModel struct {
	*clip.Model
	mu    sync.Mutex
	calls []string
}

func (r *releasingModel) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.calls); n == 0 || r.calls[n-1] != s {
		r.calls = append(r.calls, s)
	}
}

func (r *releasingModel) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	r.note("texts")
	return r.Model.EncodeTexts(ctx, texts)
}

func (r *releasingModel) EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	r.note("images")
	return r.Model.EncodeImages(ctx, pixels)
}

func (r *releasingModel) ReleaseTextPages() error {
	r.note("release")
	return r.Model.ReleaseTextPages()
}

// TestRunReleasesText: Run lets the model drop the text tower's pages
// (clip.Model.ReleaseTextPages) once the prompts are encoded, before the
// images.
func TestRunReleasesText(t *testing.T) {
	in, ds, m := tinyKit(t, false)
	rm := &releasingModel{Model: m}
	if _, err := Run(context.Background(), Config{Model: rm, Dataset: ds, Classes: variedClasses(in, "tiny-synth"), Batch: 4}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rm.calls, " "), "texts release images"; got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// TestRunResume cancels a run part way and checks that the next run only
// encodes what the first did not commit.
func TestRunResume(t *testing.T) {
	in, ds, m := tinyKit(t, false)
	const model = "tiny-synth"
	c := newMemCache()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Model: m, Dataset: ds, Classes: variedClasses(in, model), Cache: c, Batch: 4, Workers: 1,
		Progress: func(p Progress) {
			if p.Done >= 10 {
				cancel()
			}
		}}
	if _, err := Run(ctx, cfg); err == nil {
		t.Fatal("cancelled run returned no error")
	}
	committed := len(c.images)
	if committed < 8 || committed >= 29 {
		t.Fatalf("%d images committed before the cancel", committed)
	}
	// The resumed run's progress counts only images done: the cached
	// count never runs ahead of the done count.
	last := Progress{}
	cfg.Progress = func(p Progress) {
		if p.Done != last.Done+1 || p.CacheHits > p.Done || p.CacheHits < last.CacheHits || p.Failed > p.Done {
			t.Errorf("progress %+v after %+v", p, last)
		}
		last = p
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Decoded != 29-committed || res.Stats.CacheHits != committed {
		t.Errorf("resumed run decoded %d, hit %d; want %d and %d", res.Stats.Decoded, res.Stats.CacheHits, 29-committed, committed)
	}
	if last.Done != 29 || last.CacheHits != committed {
		t.Errorf("last progress %+v, want 29 done, %d from the cache", last, committed)
	}
}

func TestValidateClasses(t *testing.T) {
	folders := []string{"cat", "dog", "wild"}
	ok := []clip.Class{{Label: "wild", Prompts: []string{"a wolf"}}, {Label: "cat", Prompts: []string{"a cat"}}, {Label: "dog", Prompts: []string{"a dog"}}}
	got, err := ValidateClasses(folders, ok)
	if err != nil || got[0].Label != "cat" || got[2].Label != "wild" {
		t.Fatalf("%v %v", got, err)
	}
	_, err = ValidateClasses(folders, []clip.Class{{Label: "cat", Prompts: []string{"x"}}, {Label: "lion", Prompts: []string{"y"}}})
	if err == nil || !strings.Contains(err.Error(), `"lion" is not a class folder`) || !strings.Contains(err.Error(), `"dog" has no prompt`) {
		t.Errorf("error %v", err)
	}
}

// TestWriteFiles checks predictions.csv and report.json.
func TestWriteFiles(t *testing.T) {
	in := readKitInputs(t)
	const model = "tiny-synth"
	root, _ := kitDataset(t, in.Varied[model].Classes, true)
	m, err := clip.Load(kit+"models/"+model, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ds, _ := Scan(root)
	res, err := Run(context.Background(), Config{Model: m, Dataset: ds, Classes: variedClasses(in, model)})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := res.WriteFiles(context.Background(), out, "tiny", root, m.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(out, "predictions.csv"))
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "path,true,pred,score,car,dunk,knitting" || len(recs) != 30 {
		t.Fatalf("csv header %v, %d records", recs[0], len(recs))
	}
	for _, r := range recs[1:] {
		sum, score := 0.0, 0.0
		for k, l := range []string{"car", "dunk", "knitting"} {
			var v float64
			json.Unmarshal([]byte(r[4+k]), &v)
			sum += v
			if l == r[2] {
				score = v
			}
		}
		if math.Abs(sum-1) > 1e-5 || r[3] != strings.TrimRight(r[3], " ") || math.Abs(score-parse(r[3])) > 1e-9 {
			t.Errorf("row %v: probabilities sum %g, score vs column", r, sum)
		}
	}
	var j JSONReport
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Unreadable) != 5 || j.Evaluated != 29 || j.Images != 34 || len(j.ConfusionMatrix) != 3 || j.Ensemble != "max" ||
		len(j.Prompts["car"]) != 2 || j.PerClass["car"].Support == 0 || j.Accuracy <= 0 || j.TimingsSeconds["total"] <= 0 {
		t.Errorf("report.json %s", b)
	}
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !strings.Contains(string(html), "data:image/jpeg;base64,") || !strings.Contains(string(html), "Misclassified images") {
		t.Error("report.html has no gallery thumbnails")
	}
}

func parse(s string) float64 {
	var v float64
	json.Unmarshal([]byte(s), &v)
	return v
}
