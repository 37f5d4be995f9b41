package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/webdataset"
)

// Worker is what every shard's DoFn shares: the model (loaded once per
// worker process, in Setup) and how images are read and batched. Its
// exported fields are the DoFn's configuration, serialized to the workers.
type Worker struct {
	Model ModelSpec
	// Batch is the number of images per encoder call; Workers the number
	// of goroutines reading and decoding (0: GOMAXPROCS). A shard keeps
	// all of a worker's cores busy on any runner, even one (like Prism)
	// that runs a bundle's elements one after another.
	Batch, Workers int
	// Limits are what one image may cost (imageproc.Limits: 0 is the
	// default, < 0 none).
	MaxBytes, MaxPixels int64

	model   *clip.Model
	turn    chan struct{} // the model's: one shard at a time in this process
	release func()
	pipe    *imageproc.Pipeline
}

// Failure is an input that could not be used: an image that could not be
// read or decoded, a sample without an image, the damaged end of a tar file.
type Failure struct {
	Shard  int    `json:"shard"`
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Part is what one shard reports, for the run's summary: counts, failures
// and, for eval, the confusion counts.
type Part struct {
	Shard    int
	Images   int // inputs seen: image files, or webdataset samples
	Rows     int // rows written: images embedded (and classified)
	Failures []Failure
	Labels   []string // eval: the classes Counts is over
	Counts   []int64  // eval: len(Labels)² counts, row t column p: true t predicted p
	EncodeMs int64    // time in the image tower
	// Fingerprint is the model's (clip.Model.Fingerprint), for report.json.
	Fingerprint string
}

// Metrics, visible in the runner's UI and in goclip-beam's summary.
var (
	imagesCounter   = beam.NewCounter("goclip", "images")
	rowsCounter     = beam.NewCounter("goclip", "embedded")
	failuresCounter = beam.NewCounter("goclip", "errors")
	bytesCounter    = beam.NewCounter("goclip", "image_bytes") // local files and webdataset members
	batchMs         = beam.NewDistribution("goclip", "ms_per_image")
)

func (w *Worker) setup(ctx context.Context) error {
	sm, release, err := acquireModel(ctx, w.Model)
	if err != nil {
		return err
	}
	m := sm.model
	p, err := imageproc.NewPipeline(m.ImageConfig(), imageproc.Limits{MaxBytes: w.MaxBytes, MaxPixels: w.MaxPixels})
	if err != nil {
		release()
		return err
	}
	w.model, w.turn, w.release, w.pipe = m, sm.turn, release, p
	return nil
}

// wait waits for this process's turn to run a shard (see sharedModel.turn);
// done ends it.
func (w *Worker) wait(ctx context.Context) (done func(), err error) {
	select {
	case w.turn <- struct{}{}:
		return func() { <-w.turn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (w *Worker) teardown() {
	if w.release != nil {
		w.release()
		w.model, w.release = nil, nil
	}
}

// input is one image of a shard, with what the outputs say about it.
type input struct {
	name  string         // the file, or TAR/KEY.EXT
	meta  map[string]any // its metadata row
	label string         // eval: its class
}

// embed embeds a shard's images through batch.EmbedSeq (reading the next
// images while the tower encodes), calling use in input order for each
// image embedded. Failures of single inputs go into part; the error is
// for what stops the shard (the model, ctx, use).
func (w *Worker) embed(ctx context.Context, s Shard, part *Part, use func(in *input, emb []float32) error) error {
	var (
		mu      sync.Mutex
		inputs  = map[int]*input{} // by source index, until used
		n       int
		tarErr  error
		skipped int // samples without an image
	)
	fail := func(path string, err error) {
		mu.Lock()
		defer mu.Unlock()
		part.Failures = append(part.Failures, Failure{Shard: s.N, Path: path, Reason: imageproc.Reason(err)})
	}
	add := func(in *input) {
		mu.Lock()
		defer mu.Unlock()
		inputs[n] = in
		n++
	}
	var sources iter.Seq[batch.Source]
	if s.Tar == "" {
		sources = func(yield func(batch.Source) bool) {
			for i, f := range s.Files {
				in := &input{name: f, meta: map[string]any{"image_path": f}}
				if s.Labels != nil {
					in.label = s.Labels[i]
				}
				add(in)
				src := batch.Source{Name: f}
				if isRemote(f) {
					src.Open = func() (io.ReadCloser, error) { return openRead(ctx, f) }
				} else if fi, err := os.Stat(f); err == nil {
					bytesCounter.Inc(ctx, fi.Size())
				}
				if !yield(src) {
					return
				}
			}
		}
	} else {
		sources = func(yield func(batch.Source) bool) {
			skip := func(path string, err error) {
				fail(path, err)
				mu.Lock()
				skipped++
				mu.Unlock()
			}
			tarErr = w.samples(ctx, s, skip, func(in *input, data []byte) bool {
				add(in)
				return yield(batch.Source{Name: in.name, Data: data})
			})
		}
	}
	st, err := batch.EmbedSeq(ctx, batch.Config{Encoder: w.model, Pipeline: w.pipe, Workers: w.Workers, Batch: w.Batch}, sources,
		func(r batch.Result) error {
			mu.Lock()
			in := inputs[r.Index]
			delete(inputs, r.Index)
			mu.Unlock()
			if r.Err != nil {
				fail(in.name, r.Err)
				return nil
			}
			part.Rows++
			return use(in, r.Embedding)
		})
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name(), err)
	}
	part.Images += st.Images + skipped
	if tarErr != nil {
		fail(s.Tar, fmt.Errorf("after %d samples: %w", part.Images, tarErr))
	}
	part.EncodeMs = st.EncodeTime.Milliseconds()
	part.Fingerprint = w.model.Fingerprint()
	imagesCounter.Inc(ctx, int64(part.Images))
	rowsCounter.Inc(ctx, int64(part.Rows))
	failuresCounter.Inc(ctx, int64(len(part.Failures)))
	if part.Rows > 0 {
		batchMs.Update(ctx, int64(st.EncodeTime/time.Millisecond)/int64(part.Rows))
	}
	return nil
}

// samples reads the webdataset shard s.Tar, calling yield with each
// sample's image; a sample without one goes to skip. It returns the tar
// file's error (damaged, truncated), if any: the samples before it count.
func (w *Worker) samples(ctx context.Context, s Shard, skip func(string, error), yield func(*input, []byte) bool) error {
	r, err := openRead(ctx, s.Tar)
	if err != nil {
		return err
	}
	defer r.Close()
	maxBytes := w.MaxBytes
	switch {
	case maxBytes == 0:
		maxBytes = imageproc.DefaultMaxBytes
	case maxBytes < 0:
		maxBytes = 0 // no limit
	}
	wr := webdataset.NewReader(r, maxBytes)
	for {
		sm, err := wr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		ext, data, size, ok := sm.Image()
		name := s.Tar + "/" + sm.Key
		if !ok {
			if size > 0 {
				skip(name+"."+ext, fmt.Errorf("%w: %d bytes (limit %d)", imageproc.ErrFileTooLarge, size, maxBytes))
			} else {
				skip(name, errors.New("no image member (jpg, png, webp, ...) in the sample"))
			}
			continue
		}
		bytesCounter.Inc(ctx, int64(len(data)))
		in := &input{name: name + "." + ext, meta: sampleMeta(sm)}
		in.label = sampleLabel(sm, in.meta)
		if !yield(in, data) {
			return nil
		}
	}
}

// sampleMeta is a sample's metadata row, as clip-retrieval writes it:
// image_path is the key, then the key, the caption (txt) and the JSON's
// top-level fields (nested objects as JSON text), the first three taking
// precedence over JSON fields of the same name.
func sampleMeta(sm *webdataset.Sample) map[string]any {
	meta := map[string]any{}
	if j, ok := sm.Files["json"]; ok {
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.UseNumber()
		var obj map[string]any
		if dec.Decode(&obj) == nil {
			for k, v := range obj {
				meta[k] = v
			}
		}
	}
	meta["image_path"] = sm.Key
	meta["key"] = sm.Key
	if c, ok := sm.Text("txt"); ok {
		meta["caption"] = c
	}
	return meta
}

// sampleLabel is a sample's class for eval: its cls member, else the
// JSON's label or class field.
func sampleLabel(sm *webdataset.Sample, meta map[string]any) string {
	if c, ok := sm.Text("cls"); ok {
		return strings.TrimSpace(c)
	}
	for _, k := range []string{"label", "class"} {
		if v, ok := meta[k]; ok {
			return strings.TrimSpace(fmt.Sprint(v))
		}
	}
	return ""
}
