package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/tensor"
)

// An index may carry an inverted file (IVF) for approximate search of
// collections too large to scan on every query: nlist centroids found by
// spherical k-means on a sample of the vectors, and for each centroid the
// rows nearest to it. SearchApprox scores the centroids, then only the rows
// of the nprobe best lists, so it may miss a row whose list it did not
// visit: its recall is measured (tests, BenchmarkSearch1MIVF), and it is
// used only when asked for (goclip search --nprobe). Libraries of graph
// indexes (HNSW) keep float32 vectors and their graph in memory; this one
// reads the same memory-mapped float16 rows as the exact search.
//
// The section, after the paths: nlist × dim float32 centroids, nlist+1
// uint64 list offsets, count uint32 row numbers (grouped by list).

// AutoLists is the number of lists an IVF of n rows gets by default:
// about 4·√n, as FAISS's guidelines suggest.
func AutoLists(n int) int {
	return max(1, int(math.Round(4*math.Sqrt(float64(n)))))
}

// kmeansIters is the number of k-means iterations on the sample.
const kmeansIters = 8

// ivfSize is the byte size of the IVF section.
func ivfSize(n, dim, nlist int) uint64 {
	return uint64(nlist)*uint64(dim)*4 + uint64(nlist+1)*8 + uint64(n)*4
}

// trainIVF clusters the rows (vec(i), n of them) into nlist lists and
// returns the centroids and each list's rows.
func trainIVF(ctx context.Context, n, dim, nlist int, vec func(i int) []uint16) (centroids []float32, lists [][]uint32, err error) {
	if nlist < 1 || nlist > n {
		return nil, nil, fmt.Errorf("ivf: %d lists for %d rows (want 1 to %d)", nlist, n, n)
	}
	r := rand.New(rand.NewPCG(uint64(n), uint64(nlist)))
	// A sample of up to 64 rows per list, without repeats.
	ns := min(n, 64*nlist)
	perm := r.Perm(n)[:ns]
	sample := make([]float32, ns*dim)
	for i, row := range perm {
		widen(sample[i*dim:(i+1)*dim], vec(row))
	}
	centroids = make([]float32, nlist*dim)
	copy(centroids, sample[:nlist*dim]) // the first nlist of a random sample
	assign := make([]int32, ns)
	for range kmeansIters {
		if err := nearest(ctx, sample, ns, dim, centroids, nlist, assign); err != nil {
			return nil, nil, err
		}
		sums := make([]float64, nlist*dim)
		counts := make([]int, nlist)
		for i, c := range assign {
			counts[c]++
			s := sums[int(c)*dim : int(c+1)*dim]
			for j, v := range sample[i*dim : (i+1)*dim] {
				s[j] += float64(v)
			}
		}
		for c := range nlist {
			dst := centroids[c*dim : (c+1)*dim]
			if counts[c] == 0 { // an empty list restarts at a random sample row
				copy(dst, sample[r.IntN(ns)*dim:])
				continue
			}
			for j := range dst {
				dst[j] = float32(sums[c*dim+j])
			}
			copy(dst, clip.Normalize(dst))
		}
	}
	// Every row to its nearest centroid, in chunks.
	lists = make([][]uint32, nlist)
	const chunk = 4096
	buf := make([]float32, chunk*dim)
	as := make([]int32, chunk)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		for i := lo; i < hi; i++ {
			widen(buf[(i-lo)*dim:(i-lo+1)*dim], vec(i))
		}
		if err := nearest(ctx, buf, hi-lo, dim, centroids, nlist, as); err != nil {
			return nil, nil, err
		}
		for i := lo; i < hi; i++ {
			lists[as[i-lo]] = append(lists[as[i-lo]], uint32(i))
		}
	}
	return centroids, lists, nil
}

// nearest sets assign[i] to the centroid with the largest dot product with
// row i of x (m rows), on all cores, blocks of rows times all centroids
// through tensor.MatMulNT.
func nearest(ctx context.Context, x []float32, m, dim int, centroids []float32, nlist int, assign []int32) error {
	const block = 64
	blocks := (m + block - 1) / block
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), blocks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float32, block*nlist)
			for ctx.Err() == nil {
				b := int(next.Add(1)) - 1
				if b >= blocks {
					return
				}
				lo, hi := b*block, min((b+1)*block, m)
				tensor.MatMulNT(scores, x[lo*dim:], centroids, hi-lo, nlist, dim, dim, dim, nlist)
				for i := lo; i < hi; i++ {
					s := scores[(i-lo)*nlist : (i-lo+1)*nlist]
					best := 0
					for c, v := range s {
						if v > s[best] {
							best = c
						}
					}
					assign[i] = int32(best)
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func widen(dst []float32, src []uint16) {
	for j, h := range src {
		dst[j] = checkpoint.F16ToF32(h)
	}
}

// appendIVF appends the IVF section's bytes to buf (see the layout above).
func appendIVF(buf []byte, centroids []float32, lists [][]uint32) []byte {
	le := binary.LittleEndian
	for _, v := range centroids {
		buf = le.AppendUint32(buf, math.Float32bits(v))
	}
	var off uint64
	buf = le.AppendUint64(buf, 0)
	for _, l := range lists {
		off += uint64(len(l))
		buf = le.AppendUint64(buf, off)
	}
	for _, l := range lists {
		for _, r := range l {
			buf = le.AppendUint32(buf, r)
		}
	}
	return buf
}

// ivfView is the IVF section of an open index.
type ivfView struct {
	nlist     int
	centroids []float32
	offsets   []byte // nlist+1 little-endian uint64
	rows      []byte // count little-endian uint32
}

func parseIVF(b []byte, n, dim, nlist int) (*ivfView, error) {
	if uint64(len(b)) != ivfSize(n, dim, nlist) {
		return nil, fmt.Errorf("%w: IVF section of %d bytes, want %d", ErrFormat, len(b), ivfSize(n, dim, nlist))
	}
	v := &ivfView{nlist: nlist}
	cb := b[:nlist*dim*4]
	v.centroids = unsafe.Slice((*float32)(unsafe.Pointer(&cb[0])), nlist*dim)
	v.offsets = b[nlist*dim*4 : nlist*dim*4+(nlist+1)*8]
	v.rows = b[nlist*dim*4+(nlist+1)*8:]
	le := binary.LittleEndian
	prev := uint64(0)
	for c := 0; c <= nlist; c++ {
		o := le.Uint64(v.offsets[8*c:])
		if o < prev || o > uint64(n) || c == 0 && o != 0 || c == nlist && o != uint64(n) {
			return nil, fmt.Errorf("%w: IVF list offsets out of order", ErrFormat)
		}
		prev = o
	}
	return v, nil
}

// Lists is the number of IVF lists (0: the index has no IVF).
func (x *Index) Lists() int {
	if x.ivf == nil {
		return 0
	}
	return x.ivf.nlist
}

// SearchApprox is Search through the index's IVF: the rows of the nprobe
// lists whose centroids best match q are scored, the others are not. With
// nprobe ≥ Lists it is exact. It fails on an index without an IVF.
func (x *Index) SearchApprox(ctx context.Context, q []float32, k, nprobe, threads int) ([]Hit, error) {
	v := x.ivf
	if v == nil {
		return nil, fmt.Errorf("index %s has no IVF for approximate search (build it with goclip index --ivf)", x.path)
	}
	if err := x.checkQuery(q); err != nil || k <= 0 || x.n == 0 || nprobe <= 0 {
		return nil, err
	}
	nprobe = min(nprobe, v.nlist)
	cs := topK{k: nprobe}
	for c := range v.nlist {
		cs.offer(c, tensor.Dot(q, v.centroids[c*x.dim:(c+1)*x.dim]))
	}
	probe := cs.sorted()
	le := binary.LittleEndian
	return x.scan(ctx, len(probe), k, threads, func() func(int, *topK) {
		var s [1]float32
		return func(i int, top *topK) {
			c := probe[i].row
			lo, hi := le.Uint64(v.offsets[8*c:]), le.Uint64(v.offsets[8*c+8:])
			for j := lo; j < hi; j++ {
				row := int(le.Uint32(v.rows[4*j:]))
				if row >= x.n {
					continue // a damaged list; Open checked the offsets only
				}
				tensor.DotsF16(q, x.vecs[row*x.dim:(row+1)*x.dim], s[:])
				top.offer(row, s[0])
			}
		}
	})
}

// list returns list c's row numbers.
func (v *ivfView) list(c int) []uint32 {
	le := binary.LittleEndian
	lo, hi := le.Uint64(v.offsets[8*c:]), le.Uint64(v.offsets[8*c+8:])
	out := make([]uint32, 0, hi-lo)
	for j := lo; j < hi; j++ {
		out = append(out, le.Uint32(v.rows[4*j:]))
	}
	return out
}
