// Package batch embeds many images with one model: worker goroutines read,
// hash and decode images through the one image pipeline
// (imageproc.Pipeline) while the image tower encodes earlier ones in
// batches, so decoding overlaps encoding and every core stays busy. An
// optional cache is consulted before an image is decoded and filled after
// each batch. Results come back in input order, as soon as each is known,
// with memory bounded by a window of images in flight, so a run over a
// million files streams.
//
// goclip embed and classify, goclip eval (package eval) and the Beam
// pipeline all embed images through Embed.
package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// Source is one image to embed: a file, an image already in memory, or
// one read through Open.
type Source struct {
	// Name is the file's path, or (with Data or Open) the name results
	// and errors give the image.
	Name string
	// Data is the encoded image.
	Data []byte
	// Open, when Data is nil, opens the encoded image (an object store,
	// an archive); nil means read the file Name.
	Open func() (io.ReadCloser, error)
}

// Files returns a Source for each path.
func Files(paths []string) []Source {
	out := make([]Source, len(paths))
	for i, p := range paths {
		out[i] = Source{Name: p}
	}
	return out
}

// Cache stores image embeddings between runs, keyed by the encoder's
// fingerprint and the image's content key (imageproc.Input.Key);
// *cache.Cache implements it.
type Cache interface {
	GetImage(model, key string) ([]float32, bool, error)
	PutImages(model string, entries map[string][]float32) error
}

// Config says how to embed.
type Config struct {
	Encoder clip.Encoder
	// Pipeline reads and preprocesses images; nil means a pipeline of
	// Encoder.ImageConfig() with the default limits.
	Pipeline *imageproc.Pipeline
	// Cache, when set, is read before decoding and written after each
	// batch, before that batch's results are emitted: a run that stops
	// part way loses at most the batches in flight.
	Cache Cache
	// Workers is the number of goroutines reading, hashing and decoding;
	// 0 means GOMAXPROCS.
	Workers int
	// Batch is the number of images per encoder call; 0 means 16.
	Batch int
}

// Result is the outcome for one source.
type Result struct {
	Index int    // of the source
	Name  string // the source's name
	// Key is the SHA-256 of the image's bytes (imageproc.Input.Key); empty
	// when the bytes could not be read.
	Key string
	// Embedding is the projected, unnormalised image embedding
	// (clip.Encoder.EncodeImages); nil when Err is set.
	Embedding []float32
	Cached    bool  // Embedding came from the cache
	Err       error // why the image could not be embedded; names the source
}

// Stats count what a run did.
type Stats struct {
	Images    int // results emitted
	Encoded   int // images decoded and encoded (cache misses)
	CacheHits int
	Failed    int // results with Err set
	// EncodeTime is the time spent in the image tower, summed over batches.
	EncodeTime time.Duration
}

// Embed embeds every source and calls emit once per source, in input
// order, as soon as that source and every earlier one are done. A source
// that cannot be read or decoded is emitted with Err set; the others go on.
// Embed stops at the first error of the encoder, the cache or emit, or
// when ctx is done, and returns it; batches already written to the cache
// stay there. emit is called from one goroutine at a time.
func Embed(ctx context.Context, cfg Config, sources []Source, emit func(Result) error) (Stats, error) {
	return EmbedSeq(ctx, cfg, slices.Values(sources), emit)
}

// EmbedSeq is Embed over sources that come one after another (the members
// of an archive, a listing that streams): sources is iterated once, from
// one goroutine, no further ahead than the window of images in flight, so
// memory stays bounded however many it yields. Result.Index counts the
// sources in the order they were yielded.
func EmbedSeq(ctx context.Context, cfg Config, sources iter.Seq[Source], emit func(Result) error) (Stats, error) {
	var st Stats
	if cfg.Encoder == nil {
		return st, errors.New("batch: no encoder")
	}
	p := cfg.Pipeline
	if p == nil {
		var err error
		if p, err = imageproc.NewPipeline(cfg.Encoder.ImageConfig(), imageproc.Limits{}); err != nil {
			return st, fmt.Errorf("batch: %w", err)
		}
	}
	workers, size := cfg.Workers, cfg.Batch
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if size <= 0 {
		size = 16
	}
	r := &run{
		cfg: cfg, p: p, model: cfg.Encoder.Fingerprint(), dim: cfg.Encoder.EmbedDim(), batch: size,
		window:   make(chan struct{}, max(4*size, 2*workers)),
		next:     make(chan item),
		total:    make(chan int, 1),
		toEncode: make(chan job, 2*size),
		free:     make(chan []float32, max(4*size, 2*workers)+2*size),
		done:     make(chan Result, 2*size),
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel

	go r.feed(ctx, sources)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	go func() { wg.Wait(); close(r.toEncode) }()
	encDone := make(chan struct{})
	go func() {
		defer close(encDone)
		r.encode(ctx)
	}()
	// stop ends the run early: every goroutine is gone when it returns.
	stop := func(err error) error {
		cancel(err)
		<-encDone
		wg.Wait()
		return err
	}

	// Emit in input order: results that finish early wait in pending.
	// total is the number of sources, known once the feed has seen them all.
	pending := map[int]Result{}
	total, totalc := -1, r.total
	for want := 0; total < 0 || want < total; {
		select {
		case res := <-r.done:
			pending[res.Index] = res
		case total = <-totalc:
			totalc = nil
			continue
		case <-ctx.Done():
			return r.stats(st), stop(context.Cause(ctx))
		}
		for {
			res, ok := pending[want]
			if !ok {
				break
			}
			if ctx.Err() != nil { // cancelled by the caller (or by emit): no more calls
				return r.stats(st), stop(context.Cause(ctx))
			}
			delete(pending, want)
			want++
			st.Images++
			switch {
			case res.Err != nil:
				st.Failed++
			case res.Cached:
				st.CacheHits++
			default:
				st.Encoded++
			}
			<-r.window
			if err := emit(res); err != nil {
				return r.stats(st), stop(err)
			}
		}
	}
	<-encDone
	wg.Wait()
	return r.stats(st), nil
}

// run is the state of one Embed call.
type run struct {
	cfg    Config
	p      *imageproc.Pipeline
	model  string
	dim    int
	batch  int
	cancel context.CancelCauseFunc

	window   chan struct{}  // a slot per source admitted and not yet emitted
	next     chan item      // sources for the workers
	total    chan int       // the number of sources, once all are fed
	toEncode chan job       // cache misses, decoded
	done     chan Result    // finished sources, in any order
	free     chan []float32 // pixel tensors of encoded images, for reuse

	mu         sync.Mutex
	encodeTime time.Duration
}

// item is a source and its index.
type item struct {
	index int
	src   Source
}

// job is a decoded cache miss on its way to the encoder.
type job struct {
	index  int
	name   string
	key    string
	pixels []float32
}

func (r *run) stats(st Stats) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st.EncodeTime = r.encodeTime
	return st
}

// feed hands out sources, each once a window slot is free, then sends
// their number on r.total.
func (r *run) feed(ctx context.Context, sources iter.Seq[Source]) {
	defer close(r.next)
	n := 0
	for src := range sources {
		select {
		case r.window <- struct{}{}:
		case <-ctx.Done():
			return
		}
		select {
		case r.next <- item{n, src}:
		case <-ctx.Done():
			return
		}
		n++
	}
	r.total <- n
}

// work reads, hashes, looks up and decodes sources.
func (r *run) work(ctx context.Context) {
	for it := range r.next {
		res, j, err := r.prepare(ctx, it.index, it.src)
		if err != nil { // the cache failed, or ctx is done
			r.cancel(err)
			return
		}
		if j != nil {
			select {
			case r.toEncode <- *j:
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case r.done <- res:
		case <-ctx.Done():
			return
		}
	}
}

// prepare reads one source and finds its embedding in the cache, or
// decodes it for the encoder (j). A source that cannot be read or decoded
// gives a Result with Err; err is for what stops the run.
func (r *run) prepare(ctx context.Context, i int, src Source) (res Result, j *job, err error) {
	res = Result{Index: i, Name: src.Name}
	var in *imageproc.Input
	switch {
	case src.Data != nil:
		in, res.Err = r.p.FromBytes(src.Name, src.Data)
	case src.Open != nil:
		in, res.Err = r.read(src)
	default:
		in, res.Err = r.p.ReadFile(src.Name)
	}
	if res.Err != nil {
		return res, nil, nil
	}
	res.Key = in.Key()
	if r.cfg.Cache != nil {
		v, ok, err := r.cfg.Cache.GetImage(r.model, res.Key)
		if err != nil {
			return res, nil, err // names the cache file
		}
		if ok && len(v) == r.dim {
			res.Embedding, res.Cached = v, true
			return res, nil, nil
		}
	}
	var buf []float32
	select {
	case buf = <-r.free:
	default:
	}
	px, err := r.p.PixelsInto(ctx, in, buf)
	if err != nil {
		r.recycle(buf)
		if ctx.Err() != nil {
			return res, nil, context.Cause(ctx)
		}
		res.Err = err
		return res, nil, nil
	}
	return res, &job{index: i, name: src.Name, key: res.Key, pixels: px}, nil
}

// read reads a source through its Open.
func (r *run) read(src Source) (*imageproc.Input, error) {
	rc, err := src.Open()
	if err != nil {
		return nil, &imageproc.Error{Op: "read", Name: src.Name, Err: err}
	}
	defer rc.Close()
	return r.p.Read(src.Name, rc)
}

// recycle keeps an encoded image's pixel tensor for the next image to be
// decoded into (fresh memory costs page faults; see imageproc.scratch). The
// free list holds at most as many tensors as can be in flight.
func (r *run) recycle(px []float32) {
	if px == nil {
		return
	}
	select {
	case r.free <- px:
	default:
	}
}

// recheck is how often the encoder, holding a partial batch, looks whether
// more decoded images can still come. A partial batch is encoded only when
// none can: the input is exhausted, or every slot of the window is taken
// (the rest of the window is results waiting, in order, behind the images
// the encoder holds, typically cache hits). Otherwise it waits for the
// batch to fill, however slowly images decode, since a full batch is what
// makes the image tower fast.
const recheck = 5 * time.Millisecond

// encode gathers decoded images into batches and runs the image tower.
func (r *run) encode(ctx context.Context) {
	var pending []job
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		var (
			j  job
			ok bool
		)
		select {
		case j, ok = <-r.toEncode:
		case <-tick.C:
			if len(pending) > 0 && len(r.window) == cap(r.window) && !r.flush(ctx, &pending) {
				return
			}
			continue
		case <-ctx.Done():
			return
		}
		if !ok {
			r.flush(ctx, &pending)
			return
		}
		pending = append(pending, j)
		if len(pending) >= r.batch && !r.flush(ctx, &pending) {
			return
		}
	}
}

// flush encodes the pending images, stores them in the cache and reports
// them done; false means the run is over.
func (r *run) flush(ctx context.Context, pending *[]job) bool {
	jobs := *pending
	if len(jobs) == 0 {
		return true
	}
	*pending = nil
	px := make([][]float32, len(jobs))
	for k, j := range jobs {
		px[k] = j.pixels
	}
	t0 := time.Now()
	out, err := r.cfg.Encoder.EncodeImages(ctx, px)
	r.mu.Lock()
	r.encodeTime += time.Since(t0)
	r.mu.Unlock()
	if err == nil && len(out) != len(jobs) {
		err = fmt.Errorf("image encoder returned %d embeddings for %d images", len(out), len(jobs))
	}
	if err != nil {
		r.cancel(err)
		return false
	}
	for _, j := range jobs {
		r.recycle(j.pixels)
	}
	if r.cfg.Cache != nil {
		put := make(map[string][]float32, len(jobs))
		for k, j := range jobs {
			put[j.key] = out[k]
		}
		if err := r.cfg.Cache.PutImages(r.model, put); err != nil {
			r.cancel(err) // names the cache file
			return false
		}
	}
	for k, j := range jobs {
		select {
		case r.done <- Result{Index: j.index, Name: j.name, Key: j.key, Embedding: out[k]}:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
