package tensor

import (
	"runtime"
	"sync"
)

// Pool is a fixed set of worker goroutines that split data-parallel loops.
// Create one per model (or per process) and Close it when done; it holds no
// global state. A nil *Pool runs everything on the calling goroutine.
type Pool struct {
	n     int
	tasks chan func()
	wg    sync.WaitGroup
	once  sync.Once
}

// NewPool starts n workers; n <= 0 means runtime.GOMAXPROCS(0).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pool{n: n, tasks: make(chan func())}
	for i := 0; i < n-1; i++ {
		go func() {
			for f := range p.tasks {
				f()
			}
		}()
	}
	return p
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
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		p.tasks <- func() { defer wg.Done(); fn(lo, hi) }
	}
	fn(0, n/chunks)
	wg.Wait()
}
