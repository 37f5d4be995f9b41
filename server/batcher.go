package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Errors the batcher returns from submit.
var (
	errQueueFull = errors.New("image queue full")
	errClosed    = errors.New("batcher closed")
)

// encodeFunc encodes a batch of preprocessed images (Model.EncodeImages).
type encodeFunc func(ctx context.Context, pixels [][]float32) ([][]float32, error)

// job is one request's images waiting for the encoder.
type job struct {
	ctx      context.Context // the request's; a job whose ctx is done is skipped
	pixels   [][]float32
	enqueued time.Time
	done     chan jobResult // buffered: the batcher never blocks on it
}

// jobResult is a job's embeddings and how they were made.
type jobResult struct {
	emb    [][]float32
	err    error
	queued time.Duration // from submit to the start of the encoder call
	encode time.Duration // the encoder call
	batch  int           // images in that call
}

// batcher groups concurrent jobs into one encoder call: a single goroutine
// takes the first waiting job, collects more until maxBatch images are
// gathered or wait has passed, and encodes them together. One call at a time
// is what a CPU model wants (each call already uses every core); batching
// amortises the per-call overhead and makes the matrix products larger.
type batcher struct {
	encode   encodeFunc
	maxBatch int
	wait     time.Duration
	observe  func(images int, d time.Duration)

	mu     sync.Mutex // guards closed and sends on queue
	closed bool
	queue  chan *job
	depth  atomic.Int64 // images submitted and not yet taken into a batch

	ctx    context.Context // for encoder calls; cancelled by close when its ctx expires
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
}

// newBatcher starts a batcher whose queue holds at most queueLen jobs.
func newBatcher(encode encodeFunc, maxBatch int, wait time.Duration, queueLen int, observe func(int, time.Duration)) *batcher {
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher{
		encode: encode, maxBatch: maxBatch, wait: wait, observe: observe,
		queue: make(chan *job, queueLen), ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	go b.run()
	return b
}

// submit queues j without blocking: a full queue is errQueueFull, a closed
// batcher errClosed.
func (b *batcher) submit(j *job) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errClosed
	}
	j.enqueued = time.Now()
	j.done = make(chan jobResult, 1)
	select {
	case b.queue <- j:
		b.depth.Add(int64(len(j.pixels)))
		return nil
	default:
		return errQueueFull
	}
}

// close stops accepting jobs and waits until every queued job is encoded
// and answered. If ctx ends first, the running encoder call is cancelled and
// close returns ctx's error once the batcher has stopped.
func (b *batcher) close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-b.done
		return fmt.Errorf("drain image queue: %w", ctx.Err())
	}
}

func (b *batcher) run() {
	defer close(b.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := range b.queue {
		batch := []*job{first}
		n := len(first.pixels)
		timer.Reset(b.wait)
	collect:
		for n < b.maxBatch {
			select {
			case j, ok := <-b.queue:
				if !ok {
					break collect // closed: encode what we have, then the range ends
				}
				batch = append(batch, j)
				n += len(j.pixels)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		b.process(batch)
	}
}

// process encodes the live jobs of batch in one call and answers each.
func (b *batcher) process(batch []*job) {
	var live []*job
	var pixels [][]float32
	for _, j := range batch {
		b.depth.Add(-int64(len(j.pixels)))
		if err := j.ctx.Err(); err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		live = append(live, j)
		pixels = append(pixels, j.pixels...)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	emb, err := b.encode(b.ctx, pixels)
	d := time.Since(start)
	if err == nil && len(emb) != len(pixels) {
		err = fmt.Errorf("encoder returned %d embeddings for %d images", len(emb), len(pixels))
	}
	if b.observe != nil && err == nil {
		b.observe(len(pixels), d)
	}
	k := 0
	for _, j := range live {
		r := jobResult{err: err, queued: start.Sub(j.enqueued), encode: d, batch: len(pixels)}
		if err == nil {
			r.emb = emb[k : k+len(j.pixels)]
		}
		k += len(j.pixels)
		j.done <- r
	}
}
