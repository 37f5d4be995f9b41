package index

import (
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/goclip/goclip/tensor"
)

// Hit is one search result.
type Hit struct {
	Row   int
	Path  string
	Score float32 // cosine similarity of the query and the image
}

// chunkRows is the unit of work of a scan: 4,096 rows of 512 float16 are
// 4 MiB, enough to amortise handing it out, small enough that a busy core
// does not hold up the others for long.
const chunkRows = 4096

// Search returns the k rows most similar to the query q (len Dim, normalised
// or not: the order is the same), best first; ties go to the lower row. It is
// exact: every row is scored (float32 sums of the float16 values), on
// threads goroutines (0: GOMAXPROCS) that take chunks of rows as they
// finish, each keeping its best k in a bounded heap.
func (x *Index) Search(ctx context.Context, q []float32, k, threads int) ([]Hit, error) {
	if err := x.checkQuery(q); err != nil || k <= 0 || x.n == 0 {
		return nil, err
	}
	chunks := (x.n + chunkRows - 1) / chunkRows
	return x.scan(ctx, chunks, k, threads, func() func(int, *topK) {
		scores := make([]float32, chunkRows)
		return func(c int, top *topK) {
			lo, hi := c*chunkRows, min((c+1)*chunkRows, x.n)
			s := scores[:hi-lo]
			tensor.DotsF16(q, x.vecs[lo*x.dim:hi*x.dim], s)
			for i, v := range s {
				top.offer(lo+i, v)
			}
		}
	})
}

// checkQuery refuses a query of another length than the index's vectors.
func (x *Index) checkQuery(q []float32) error {
	if len(q) != x.dim {
		return fmt.Errorf("index %s: query of %d values, the index holds %d", x.path, len(q), x.dim)
	}
	return nil
}

// scan hands out items 0..n-1 (chunks of rows, IVF lists) to threads
// goroutines (0: GOMAXPROCS) that take them as they finish, each scoring
// its items with a scorer of its own from newScorer into a bounded heap of
// its k best rows; then it merges the heaps into the k best hits.
func (x *Index) scan(ctx context.Context, n, k, threads int, newScorer func() func(item int, top *topK)) ([]Hit, error) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, n)
	var next atomic.Int64
	tops := make([]topK, threads)
	var wg sync.WaitGroup
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			top := topK{k: k}
			score := newScorer()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				score(i, &top)
			}
			tops[t] = top
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return x.hits(tops, k)
}

// hits merges the threads' best rows into the k best, with their paths.
func (x *Index) hits(tops []topK, k int) ([]Hit, error) {
	all := topK{k: k}
	for _, t := range tops {
		for _, h := range t.h {
			all.offer(h.row, h.score)
		}
	}
	res := all.sorted()
	hits := make([]Hit, len(res))
	for i, r := range res {
		e, err := x.Entry(r.row)
		if err != nil {
			return nil, err
		}
		hits[i] = Hit{Row: r.row, Path: e.Path, Score: r.score}
	}
	return hits, nil
}

type scored struct {
	row   int
	score float32
}

// better orders by score, then by row (lower first).
func better(a, b scored) bool {
	return a.score > b.score || a.score == b.score && a.row < b.row
}

// topK keeps the k best offered rows in a min-heap (the worst on top).
type topK struct {
	k int
	h minHeap
}

func (t *topK) offer(row int, score float32) {
	s := scored{row, score}
	if len(t.h) < t.k {
		heap.Push(&t.h, s)
		return
	}
	if better(s, t.h[0]) {
		t.h[0] = s
		heap.Fix(&t.h, 0)
	}
}

func (t *topK) sorted() []scored {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b scored) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return out
}

type minHeap []scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *minHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
