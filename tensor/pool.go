package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of worker goroutines that split data-parallel loops.
// Create one per model (or per process) and Close it when done; it holds no
// global state. A nil *Pool runs everything on the calling goroutine.
//
// A Pool may be used by several goroutines at once, and a loop body may
// itself call Parallel or Linear on the same pool: chunks go to a queue
// that idle workers and every waiting caller drain, and a chunk that finds
// the queue full runs on the caller, so nesting cannot deadlock.
type Pool struct {
	n     int
	tasks chan task
	once  sync.Once
	kern  *kernels  // micro-kernels this pool's GEMMs use
	gemm  sync.Pool // *gemmScratch, per-worker packing buffers
	jobs  sync.Pool // *gemmJob, reusable Linear call state
	qgemm sync.Pool // *gemmQScratch, per-worker int8 buffers
	qjobs sync.Pool // *gemmQJob, reusable int8 Linear call state
	calls sync.Pool // *call, reusable completion state for Parallel
}

// runner is one data-parallel loop body; run covers the chunk [lo, hi).
// Passing a pointer as a runner avoids a closure allocation per call.
type runner interface {
	run(lo, hi int)
}

// funcRunner adapts a plain function to runner.
type funcRunner func(lo, hi int)

func (f funcRunner) run(lo, hi int) { f(lo, hi) }

// task is one chunk of a parallel loop, as queued for the workers.
type task struct {
	r      runner
	lo, hi int
	c      *call
}

// call holds the completion state of one Parallel call: the number of
// queued chunks not yet finished, and a signal sent when it drops to zero.
type call struct {
	pending atomic.Int64
	done    chan struct{}
}

// run executes t and signals its call when it was the last chunk.
func (t task) run() {
	t.r.run(t.lo, t.hi)
	if t.c.pending.Add(-1) == 0 {
		t.c.done <- struct{}{}
	}
}

// NewPool starts n workers; n <= 0 means runtime.GOMAXPROCS(0).
func NewPool(n int) *Pool {
	return newPool(n, defaultKernels())
}

// newPool starts a pool whose GEMMs use the kernel set k (tests pass the
// portable set to check it against the assembly one).
func newPool(n int, k *kernels) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n, tasks: make(chan task, 4*n), kern: k}
	for i := 0; i < n-1; i++ {
		go p.work()
	}
	return p
}

// Waiting. A worker out of chunks, and a caller whose chunks others still
// run, poll for up to spinFor (see yield_linux.go) before they block. A
// blocked worker costs the next chunk a wake-up (Go's scheduler waking a
// sleeping thread, on a VM the host waking a halted vCPU): 45 µs on
// average in a trace of the ViT-B/32 int8 tower on the Zen 5 guest, where
// at batch 1 the pool hands out about 110 chunks per image with a few µs
// of serial work between them. Polling took batch 1 from 13.6 to 10.8
// ms/image in int8 and from 32 to 28 in float32 there (batch 8 gained
// 0–7%). Between polls the waiter yields, to goroutines (a caller made
// ready on its thread must not wait for the spin to end: polling without
// that made batch 1 slower, 17–20 ms) and to other threads; and it stops
// polling as soon as a yield lets another thread run, as another process
// wants the core then. With another process keeping one of the two cores
// busy, batch 8 took the same time as without polling, batch 1 0–20% more
// (a noisy measure).

// work is a worker: it runs chunks until the pool is closed.
func (p *Pool) work() {
	for {
		t, ok := p.next()
		if !ok {
			return
		}
		t.run()
	}
}

// next returns the next chunk, polling before it blocks (see Waiting); ok
// is false once the pool is closed.
func (p *Pool) next() (t task, ok bool) {
	for w := newWaiter(); w.polling(); {
		select {
		case t, ok = <-p.tasks:
			return t, ok
		default:
			w.idle()
		}
	}
	t, ok = <-p.tasks
	return t, ok
}

// waiter is the polling policy of Waiting: poll while polling() reports
// so, calling idle() after each poll that found nothing.
type waiter struct {
	deadline time.Time
	done     bool
}

func newWaiter() waiter { return waiter{deadline: time.Now().Add(spinFor)} }

func (w *waiter) polling() bool { return !w.done && time.Now().Before(w.deadline) }

// idle yields to other goroutines and threads, and ends the polling when
// another thread took the CPU meanwhile (the yield took over 20 µs).
func (w *waiter) idle() {
	t := time.Now()
	runtime.Gosched()
	osYield()
	w.done = time.Since(t) > 20*time.Microsecond
}

// Workers reports how many goroutines share the work (at least 1).
func (p *Pool) Workers() int {
	if p == nil {
		return 1
	}
	return p.n
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.once.Do(func() { close(p.tasks) })
}

// Parallel calls fn(lo, hi) over disjoint chunks that cover [0, n), using
// every worker and the calling goroutine, and returns when all are done.
// Chunks are at least grain long (grain <= 0 means 1).
func (p *Pool) Parallel(n, grain int, fn func(lo, hi int)) {
	p.parallel(n, grain, funcRunner(fn))
}

// parallel is Parallel for a runner.
func (p *Pool) parallel(n, grain int, r runner) {
	if n <= 0 {
		return
	}
	if grain <= 0 {
		grain = 1
	}
	w := p.Workers()
	chunks := (n + grain - 1) / grain
	if chunks > w {
		chunks = w
	}
	if chunks <= 1 {
		r.run(0, n)
		return
	}
	c, _ := p.calls.Get().(*call)
	if c == nil {
		c = &call{done: make(chan struct{}, 1)}
	}
	c.pending.Store(int64(chunks - 1))
	for i := 1; i < chunks; i++ {
		t := task{r: r, lo: i * n / chunks, hi: (i + 1) * n / chunks, c: c}
		select {
		case p.tasks <- t:
		default:
			t.run() // queue full (nested or concurrent calls): run it here
		}
	}
	r.run(0, n/chunks)
	// Wait, running queued chunks (of this or any call) meanwhile: polling
	// first (see Waiting), then blocked.
	q := p.tasks
	wait := newWaiter()
	for {
		var t task
		var ok bool
		if wait.polling() {
			select {
			case <-c.done:
				p.calls.Put(c)
				return
			case t, ok = <-q:
			default:
				wait.idle()
				continue
			}
		} else {
			select {
			case <-c.done:
				p.calls.Put(c)
				return
			case t, ok = <-q:
			}
		}
		if !ok {
			q = nil // closed under a running call: just wait
			continue
		}
		t.run()
	}
}

// kernels returns the kernel set of p (the default one for a nil pool).
func (p *Pool) kernels() *kernels {
	if p == nil || p.kern == nil {
		return defaultKernels()
	}
	return p.kern
}
