package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// Cache stores embeddings between runs, keyed by model fingerprint and
// content (*cache.Cache implements it). Batches are committed as they are
// encoded, so an interrupted run loses at most one batch of work.
type Cache interface {
	GetImage(model, key string) ([]float32, bool, error)
	PutImages(model string, entries map[string][]float32) error
	GetTexts(model string, texts []string) ([][]float32, error)
	PutTexts(model string, entries map[string][]float32) error
}

// Config says what to evaluate and how.
type Config struct {
	Model    *clip.Model
	Dataset  *Dataset
	Classes  []clip.Class // one per dataset class, in Dataset.Classes order
	Ensemble clip.Ensemble
	Cache    Cache // nil: no cache

	Workers   int   // goroutines reading, hashing, decoding and preprocessing; 0: 2
	Batch     int   // images per encoder batch; 0: 16
	MaxPixels int64 // image size limit, see imageproc.Options
	MaxBytes  int64 // files larger than this are refused; 0: 256 MiB

	// Progress, when set, is called from one goroutine after each image
	// is done (predicted or failed).
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
	Failures []Failure // unreadable images, in dataset order
	Metrics  *Metrics
	Stats    Stats
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
// the cache when there), then every image through a pipeline of worker
// goroutines that read, hash, look up, decode and preprocess, feeding
// batches to the image tower. Unreadable images are listed in
// Result.Failures and left out of the metrics. If ctx is cancelled, Run
// returns the context's error; batches already encoded stay in the cache.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	d := cfg.Dataset
	classes, err := ValidateClasses(d.Classes, cfg.Classes)
	if err != nil {
		return nil, err
	}
	res := &Result{Classes: d.Classes, Prompts: classes, Ensemble: cfg.Ensemble}
	model := cfg.Model.Fingerprint()

	t0 := time.Now()
	cl, err := classifier(ctx, cfg, classes, &res.Stats)
	if err != nil {
		return nil, err
	}
	res.Stats.TextTime = time.Since(t0)

	t0 = time.Now()
	emb, errs, err := embedImages(ctx, cfg, model, &res.Stats, start)
	if err != nil {
		return nil, err
	}
	res.Stats.ImageTime = time.Since(t0)

	var yTrue, yPred []string
	for i, it := range d.Items {
		if errs[i] != nil {
			res.Failures = append(res.Failures, Failure{Path: it.Path, Reason: errs[i].Error()})
			continue
		}
		p := cl.Classify(emb[i])
		res.Rows = append(res.Rows, Row{Path: it.Path, True: it.Class, Pred: p.Class, Score: p.Score, Probs: p.ClassProbs})
		yTrue = append(yTrue, d.Classes[it.Class])
		yPred = append(yPred, d.Classes[p.Class])
	}
	res.Stats.Images = len(d.Items)
	if len(res.Rows) > 0 {
		res.Metrics = NewMetrics(yTrue, yPred)
	}
	res.Stats.TotalTime = time.Since(start)
	return res, nil
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
			return nil, fmt.Errorf("cache: %w", err)
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
				return nil, fmt.Errorf("cache: %w", err)
			}
		}
	}
	return clip.NewClassifierFromEmbeddings(classes, emb, cfg.Model.LogitScale(), cfg.Ensemble)
}

// job is an image on its way through the pipeline.
type job struct {
	index  int
	key    string    // SHA-256 of the file's bytes
	pixels []float32 // preprocessed, for a cache miss
}

// embedImages returns the embedding (or the error) of every dataset image.
func embedImages(ctx context.Context, cfg Config, model string, st *Stats, start time.Time) ([][]float32, []error, error) {
	items := cfg.Dataset.Items
	workers, batch := cfg.Workers, cfg.Batch
	if workers <= 0 {
		workers = 2
	}
	if batch <= 0 {
		batch = 16
	}
	maxBytes := cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	emb := make([][]float32, len(items))
	errs := make([]error, len(items))
	pre := cfg.Model.ImageConfig()
	opt := imageproc.Options{MaxPixels: cfg.MaxPixels}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	toEncode := make(chan job, 2*batch)
	done := make(chan int, 2*batch) // indexes finished (hit, miss encoded, or failed)
	var fatal error
	var fatalOnce sync.Once
	fail := func(err error) {
		fatalOnce.Do(func() { fatal = err; cancel() })
	}

	go func() {
		defer close(next)
		for i := range items {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	var hits, decoded atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j, hit, err := prepare(cfg, model, items[i].Path, maxBytes, pre, opt)
				j.index = i
				switch {
				case err != nil:
					errs[i] = err
				case hit != nil:
					emb[i] = hit
					hits.Add(1)
				default:
					select {
					case toEncode <- j:
						continue
					case <-ctx.Done():
						return
					}
				}
				select {
				case done <- i:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(toEncode) }()

	// The encoder: batches of misses through the image tower, each batch
	// committed to the cache before its images count as done.
	encDone := make(chan struct{})
	go func() {
		defer close(encDone)
		var pending []job
		flush := func() bool {
			if len(pending) == 0 {
				return true
			}
			px := make([][]float32, len(pending))
			for k, j := range pending {
				px[k] = j.pixels
			}
			t0 := time.Now()
			out, err := cfg.Model.EncodeImages(ctx, px)
			st.EncodeTime += time.Since(t0)
			if err != nil {
				fail(err)
				return false
			}
			put := map[string][]float32{}
			for k, j := range pending {
				emb[j.index] = out[k]
				put[j.key] = out[k]
			}
			if cfg.Cache != nil {
				if err := cfg.Cache.PutImages(model, put); err != nil {
					fail(fmt.Errorf("cache: %w", err))
					return false
				}
			}
			decoded.Add(int64(len(pending)))
			for _, j := range pending {
				select {
				case done <- j.index:
				case <-ctx.Done():
					return false
				}
			}
			pending = pending[:0]
			return true
		}
		for j := range toEncode {
			pending = append(pending, j)
			if len(pending) >= batch && !flush() {
				return
			}
		}
		flush()
	}()

	// Progress: one goroutine (this one) counts finished images.
	finished := 0
	failed := 0
	for finished < len(items) {
		select {
		case i := <-done:
			finished++
			if errs[i] != nil {
				failed++
			}
			if cfg.Progress != nil {
				cfg.Progress(Progress{Done: finished, Total: len(items), CacheHits: int(hits.Load()), Failed: failed, Elapsed: time.Since(start)})
			}
		case <-ctx.Done():
			<-encDone
			if fatal != nil {
				return nil, nil, fatal
			}
			return nil, nil, ctx.Err()
		}
	}
	<-encDone
	st.CacheHits, st.Decoded = int(hits.Load()), int(decoded.Load())
	return emb, errs, nil
}

// prepare reads one image file, looks its content up in the cache, and on
// a miss decodes and preprocesses it.
func prepare(cfg Config, model, path string, maxBytes int64, pre imageproc.Config, opt imageproc.Options) (job, []float32, error) {
	data, err := readFile(path, maxBytes)
	if err != nil {
		return job{}, nil, err
	}
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	if cfg.Cache != nil {
		if v, ok, err := cfg.Cache.GetImage(model, key); err == nil && ok && len(v) == cfg.Model.EmbedDim() {
			return job{key: key}, v, nil
		}
	}
	img, err := imageproc.DecodeBytes(data, opt)
	if err != nil {
		return job{}, nil, err
	}
	px, err := pre.Preprocess(img)
	if err != nil {
		return job{}, nil, fmt.Errorf("preprocess %s: %w", path, err)
	}
	return job{key: key, pixels: px}, nil, nil
}

func readFile(path string, maxBytes int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("read %s: file larger than %d bytes", path, maxBytes)
	}
	return data, nil
}
