package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// Cache stores embeddings between runs, keyed by model fingerprint and
// content (*cache.Cache implements it). Batches are committed as they are
// encoded, so an interrupted run loses at most one batch of work.
type Cache interface {
	batch.Cache
	GetTexts(model string, texts []string) ([][]float32, error)
	PutTexts(model string, entries map[string][]float32) error
}

// Config says what to evaluate and how.
type Config struct {
	Model    clip.Encoder
	Dataset  *Dataset
	Classes  []clip.Class // one per dataset class, in Dataset.Classes order
	Ensemble clip.Ensemble
	Cache    Cache // nil: no cache

	Workers int              // goroutines reading, hashing, decoding and preprocessing; 0: GOMAXPROCS
	Batch   int              // images per encoder batch; 0: 16
	Limits  imageproc.Limits // what one image may cost (the zero value: the defaults)

	// Progress, when set, is called from one goroutine after each image
	// is done (predicted or failed), in dataset order.
	Progress func(Progress)
}

// Progress is a snapshot of a running evaluation.
type Progress struct {
	Done, Total int
	CacheHits   int
	Failed      int
	Elapsed     time.Duration
}

// Row is the prediction for one image.
type Row struct {
	Path  string
	True  int // class index
	Pred  int
	Score float64   // probability of Pred
	Probs []float64 // per class
}

// Failure is an image that could not be read.
type Failure struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Result is the outcome of Run.
type Result struct {
	Classes  []string
	Prompts  []clip.Class
	Ensemble clip.Ensemble
	Rows     []Row     // readable images, in dataset order
	Failures []Failure // unreadable images in dataset order, then the dataset's unreadable entries
	// Counts are the run's confusion counts over Classes: Merge those of
	// runs over parts of a dataset for the report of the whole.
	Counts  *Confusion
	Metrics *Metrics // Counts.Metrics(); nil when no image was readable
	Stats   Stats

	pipeline *imageproc.Pipeline // for the thumbnails of report.html
}

// Stats says where a run spent its time and what the cache saved.
type Stats struct {
	Images       int           `json:"images"`
	Decoded      int           `json:"decoded"`    // images decoded and encoded (cache misses)
	CacheHits    int           `json:"cache_hits"` // image embeddings read from the cache
	TextsEncoded int           `json:"texts_encoded"`
	TextHits     int           `json:"text_cache_hits"`
	TotalTime    time.Duration `json:"-"`
	TextTime     time.Duration `json:"-"` // prompt embeddings
	ImageTime    time.Duration `json:"-"` // reading, decoding, encoding images
	EncodeTime   time.Duration `json:"-"` // of which the image tower (summed over batches)
}

// ValidateClasses checks prompts against the dataset's folders before any
// image is read: every label must be a folder and every folder needs a prompt.
// It returns the classes reordered to the folders' order.
func ValidateClasses(folders []string, classes []clip.Class) ([]clip.Class, error) {
	if err := clip.ValidateClasses(classes); err != nil {
		return nil, err
	}
	byLabel := map[string]clip.Class{}
	for _, c := range classes {
		byLabel[c.Label] = c
	}
	isFolder := map[string]bool{}
	for _, f := range folders {
		isFolder[f] = true
	}
	var errs []error
	for _, c := range classes {
		if !isFolder[c.Label] {
			errs = append(errs, fmt.Errorf("label %q is not a class folder of the dataset (folders: %v)", c.Label, folders))
		}
	}
	out := make([]clip.Class, 0, len(folders))
	for _, f := range folders {
		c, ok := byLabel[f]
		if !ok {
			errs = append(errs, fmt.Errorf("class folder %q has no prompt", f))
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// Run evaluates the model on the dataset: prompt embeddings first (from
// the cache when there), then every image through batch.Embed (workers
// that read, hash, look up and decode, feeding batches to the image
// tower). Unreadable images, and the dataset's unreadable entries, are
// listed in Result.Failures and left out of the metrics. If ctx is
// cancelled, Run returns the context's error; batches already encoded stay
// in the cache. Once the prompts are embedded, Run lets a model that can
// (clip.Model.ReleaseTextPages) drop its text tower's mapped pages from
// the resident set; a later Run that encodes prompts reads them back from
// the page cache.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	d := cfg.Dataset
	classes, err := ValidateClasses(d.Classes, cfg.Classes)
	if err != nil {
		return nil, err
	}
	p, err := imageproc.NewPipeline(cfg.Model.ImageConfig(), cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("model preprocessing: %w", err)
	}
	res := &Result{Classes: d.Classes, Prompts: classes, Ensemble: cfg.Ensemble, pipeline: p}

	t0 := time.Now()
	cl, err := classifier(ctx, cfg, classes, &res.Stats)
	if err != nil {
		return nil, err
	}
	res.Stats.TextTime = time.Since(t0)
	if r, ok := cfg.Model.(interface{ ReleaseTextPages() error }); ok {
		// The prompts are all the text this run encodes.
		if err := r.ReleaseTextPages(); err != nil {
			slog.Debug("eval: the text tower's pages stay resident", "err", err)
		}
	}

	t0 = time.Now()
	paths := make([]string, len(d.Items))
	for i, it := range d.Items {
		paths[i] = it.Path
	}
	counts := NewConfusion(d.Classes)
	failed := 0
	bst, err := batch.Embed(ctx, batch.Config{Encoder: cfg.Model, Pipeline: p, Cache: cfg.Cache, Workers: cfg.Workers, Batch: cfg.Batch},
		batch.Files(paths), func(r batch.Result) error {
			it := d.Items[r.Index]
			if r.Err != nil {
				failed++
				res.Failures = append(res.Failures, Failure{Path: it.Path, Reason: imageproc.Reason(r.Err)})
			} else {
				row, err := Predict(cl, counts, it.Path, it.Class, r.Embedding)
				if err != nil {
					return err
				}
				res.Rows = append(res.Rows, row)
			}
			if r.Cached {
				res.Stats.CacheHits++
			}
			if cfg.Progress != nil {
				cfg.Progress(Progress{Done: r.Index + 1, Total: len(d.Items), CacheHits: res.Stats.CacheHits, Failed: failed, Elapsed: time.Since(start)})
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	res.Stats.ImageTime = time.Since(t0)
	res.Stats.Images = len(d.Items)
	res.Stats.CacheHits, res.Stats.Decoded, res.Stats.EncodeTime = bst.CacheHits, bst.Encoded, bst.EncodeTime
	res.Failures = append(res.Failures, d.Unreadable...)
	res.Counts = counts
	if len(res.Rows) > 0 {
		res.Metrics = counts.Metrics()
	}
	res.Stats.TotalTime = time.Since(start)
	return res, nil
}

// Predict classifies the embedding of the image at path, whose true class
// is t (an index into the classifier's classes), and counts it in counts:
// the step an evaluation takes per image (Run, and goclip-beam's shards).
func Predict(cl *clip.Classifier, counts *Confusion, path string, t int, emb []float32) (Row, error) {
	pred, err := cl.Classify(emb)
	if err != nil {
		return Row{}, fmt.Errorf("%s: %w", path, err)
	}
	counts.Add(t, pred.Class)
	return Row{Path: path, True: t, Pred: pred.Class, Score: pred.Score, Probs: pred.ClassProbs}, nil
}

// classifier embeds the prompts, reading and filling the cache.
func classifier(ctx context.Context, cfg Config, classes []clip.Class, st *Stats) (*clip.Classifier, error) {
	var texts []string
	for _, c := range classes {
		texts = append(texts, c.Prompts...)
	}
	emb := make([][]float32, len(texts))
	model := cfg.Model.Fingerprint()
	if cfg.Cache != nil {
		got, err := cfg.Cache.GetTexts(model, texts)
		if err != nil {
			return nil, err // names the cache file
		}
		copy(emb, got)
	}
	var missing []string
	var where []int
	for i, e := range emb {
		if e == nil || len(e) != cfg.Model.EmbedDim() {
			missing = append(missing, texts[i])
			where = append(where, i)
		} else {
			st.TextHits++
		}
	}
	if len(missing) > 0 {
		enc, err := cfg.Model.EncodeTexts(ctx, missing)
		if err != nil {
			return nil, err
		}
		put := map[string][]float32{}
		for j, i := range where {
			emb[i] = enc[j]
			put[texts[i]] = enc[j]
		}
		st.TextsEncoded = len(missing)
		if cfg.Cache != nil {
			if err := cfg.Cache.PutTexts(model, put); err != nil {
				return nil, err
			}
		}
	}
	return clip.NewClassifierFromEmbeddings(classes, emb, cfg.Model.LogitScale(), cfg.Ensemble)
}
