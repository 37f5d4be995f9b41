package tensor

import (
	"runtime"
	"sync/atomic"
)

// Blocking parameters of Linear (see kernels.go for mr and the layouts).
const (
	jcCols   = 192 // output columns per task at most (8 panels of 24)
	minTasks = 4   // tasks per worker to aim for, for load balance
)

// gemmJob is one Linear call: its operands, its task grid and the counter
// the participating goroutines take tasks from.
//
// The rows of x are packed once, into a, row block by row block as the
// tasks reach them: a participant whose task needs a block not yet packed
// packs strips of it, taking them from the block's counter with any other
// participant there, and then waits for the strips others hold. a holds
// one block more than there are workers, reused in turn (block ic in slot
// ic mod slots), so it stays as small as the per-worker copies were
// whatever the batch; a block waits for the tasks of the block that last
// used its slot to finish before it is packed there. (Each packing its
// own copy, as before, both workers packed every block: 5% of the ViT-B/32
// tower at batch 8 went to packing, half of it twice over. Shared, the
// int8 tower at batch 8, whose float32 patch embedding reads 392 rows 3072
// deep from memory, took 5% less time in four interleaved pairs on the Zen
// 5 guest; the float32 tower, whose rows come from cache and whose cores
// now read strips the other one packed, stayed within the noise, ±3% at
// batch 1, 8 and 32.)
type gemmJob struct {
	pool    *Pool
	kern    *kernels
	y, x    []float32
	m, n, k int
	w       *Matrix
	ep      Epilogue

	taskGrid
	next atomic.Int64 // (row block, panel) pairs handed out (see claim)

	a      []float32     // packed rows of x: slots blocks of mc·k (see packStrip)
	slots  int           // blocks a holds
	blocks []packedBlock // per row block, kept with a between calls
}

// packedBlock counts the strips of one row block taken for packing and
// packed, and its panels finished.
type packedBlock struct{ taken, done, finished atomic.Int64 }

// taskGrid is how a Linear call is cut into tasks: row blocks of mc rows
// times groups of at most jcPanels weight panels (see claim).
type taskGrid struct {
	mc       int // rows per block (a multiple of the kernel's rows)
	nIC      int // row blocks
	panels   int // weight panels, of every row block
	jcPanels int // weight panels per task, at most
	ntasks   int // tasks of jcPanels panels: as many workers can share the call
	workers  int
}

// newTaskGrid cuts m rows and the weight panels of layout lay into tasks:
// row blocks of at most about lay.mc rows, rounded to the kernel's rows per
// call (step), and panel groups of at most jcCols columns, halved until
// there are minTasks tasks per worker.
func newTaskGrid(m, panels int, lay layout, step, workers int) taskGrid {
	nr := lay.nr
	g := taskGrid{panels: panels, workers: workers}
	g.nIC = (m + lay.mc - 1) / lay.mc
	rows := (m + g.nIC - 1) / g.nIC
	g.mc = (rows + step - 1) / step * step
	g.nIC = (m + g.mc - 1) / g.mc

	want := minTasks * workers
	g.jcPanels = max(1, jcCols/nr)
	for g.jcPanels > 1 && g.nIC*((panels+g.jcPanels-1)/g.jcPanels) < want {
		g.jcPanels /= 2
	}
	g.ntasks = g.nIC * ((panels + g.jcPanels - 1) / g.jcPanels)
	return g
}

// claim takes the next task: panels [p0, p1) of row block ic, or ok false
// when none are left. next counts the (row block, panel) pairs handed out,
// row block by row block, so a row block's tasks come after the previous
// block's. A task has jcPanels panels until the call's last ones, which
// shrink to a 1/(2·workers) share of what is left, down to two panels
// (guided self-scheduling): the participants then finish within a small
// task of each other even when one of them runs slower. With tasks of
// jcPanels to the end, the two workers of a single image finished fc1
// 25–56 µs apart on the Zen 5 guest (the caller, which starts first, the
// later one), a fifth to a third of a task. Shrinking them, interleaved
// call by call with the fixed tasks, gave 0–3% more GFLOP/s at 1 and 8
// images on a quiet host and 2–5% with other guests busy (AVX2 and
// AVX-512, the ViT-B/32 shapes streaming their weights from memory).
// Sizes stay even (with jcPanels even), so that a 2-row tail still takes
// its panels in pairs (kernels.tile2Pair): with tasks of one panel the
// lone 2-row tile took 1% of a single image's time.
func (g *taskGrid) claim(next *atomic.Int64) (ic, p0, p1 int, ok bool) {
	total := int64(g.nIC * g.panels)
	share := int64(2 * g.workers)
	for {
		pos := next.Load()
		if pos >= total {
			return 0, 0, 0, false
		}
		size := min(int64(g.jcPanels), (total-pos+share-1)/share)
		if g.jcPanels > 1 {
			size += size & 1
		}
		ic, p0 = int(pos)/g.panels, int(pos)%g.panels
		p1 = min(p0+int(size), g.panels)
		if next.CompareAndSwap(pos, pos+int64(p1-p0)) {
			return ic, p0, p1, true
		}
	}
}

// gemmScratch is one participant's buffer: the C tile the micro-kernel
// accumulates into before the epilogue.
type gemmScratch struct {
	c   []float32
	pad []float32 // a short strip's rows, zero-padded to mr (see packStrip)
}

func newGemmJob(p *Pool, y, x []float32, m int, w *Matrix, ep Epilogue) *gemmJob {
	var j *gemmJob
	if p != nil {
		j, _ = p.jobs.Get().(*gemmJob)
	}
	if j == nil {
		j = new(gemmJob)
	}
	j.pool, j.kern = p, p.kernels()
	if j.kern.lay != w.lay {
		j.kern = goKernels // reads any layout
	}
	j.y, j.x, j.m, j.n, j.k, j.w, j.ep = y, x, m, w.out, w.in, w, ep
	j.next.Store(0)
	j.taskGrid = newTaskGrid(m, w.panels, w.lay, j.kern.rows, p.Workers())
	j.slots = min(j.nIC, p.Workers()+1)
	j.a = grow(j.a, j.slots*j.mc*j.k)
	if cap(j.blocks) < j.nIC {
		j.blocks = make([]packedBlock, j.nIC)
	}
	j.blocks = j.blocks[:j.nIC]
	for i := range j.blocks {
		j.blocks[i].taken.Store(0)
		j.blocks[i].done.Store(0)
		j.blocks[i].finished.Store(0)
	}
	return j
}

// release returns j to its pool, dropping references to the operands.
func (j *gemmJob) release() {
	p := j.pool
	a, blocks := j.a, j.blocks
	*j = gemmJob{a: a, blocks: blocks}
	if p != nil {
		p.jobs.Put(j)
	}
}

// run is one participant: it takes tasks until none are left. Tasks come
// row block by row block, so a row block is packed just before the tasks
// that read it.
func (j *gemmJob) run(_, _ int) {
	s := j.scratch()
	lastIC := -1
	for {
		ic, p0, p1, ok := j.claim(&j.next)
		if !ok {
			break
		}
		if ic != lastIC {
			j.pack(s, ic)
			lastIC = ic
		}
		j.task(s, ic, p0, p1)
		j.blocks[ic].finished.Add(int64(p1 - p0))
	}
	if j.pool != nil {
		j.pool.gemm.Put(s)
	}
}

// pack returns once row block ic is packed, packing strips of it that no
// other participant has taken, once the block before it in its slot is
// done with. Tasks and strips are taken in order and only by running
// participants, and neither a task nor a strip waits for anything once
// started, so each wait is for others to finish what they hold.
func (j *gemmJob) pack(s *gemmScratch, ic int) {
	if prev := ic - j.slots; prev >= 0 {
		for j.blocks[prev].finished.Load() < int64(j.panels) {
			runtime.Gosched()
		}
	}
	b := &j.blocks[ic]
	strips := int64(j.strips(ic))
	for {
		st := b.taken.Add(1) - 1
		if st >= strips {
			break
		}
		j.packStrip(s, ic, int(st))
		b.done.Add(1)
	}
	for b.done.Load() < strips {
		runtime.Gosched()
	}
}

// strips returns the number of mr-row strips of row block ic.
func (j *gemmJob) strips(ic int) int {
	return (min(j.mc, j.m-ic*j.mc) + mr - 1) / mr
}

// block returns the packed rows of row block ic (in slot ic mod slots).
func (j *gemmJob) block(ic int) []float32 {
	off := ic % j.slots * j.mc * j.k
	return j.a[off : off+j.strips(ic)*mr*j.k]
}

// scratch returns buffers large enough for this job.
func (j *gemmJob) scratch() *gemmScratch {
	var s *gemmScratch
	if j.pool != nil {
		s, _ = j.pool.gemm.Get().(*gemmScratch)
	}
	if s == nil {
		s = new(gemmScratch)
	}
	if need := j.mc * j.jcPanels * j.w.lay.nr; cap(s.c) < need {
		s.c = make([]float32, need)
	}
	return s
}

// packStrip packs strip st of row block ic of x into the block's slot of
// j.a (see block). The block is stored K block by K block (kc deep, the last one
// shorter); within a K block, strip r holds rows [ic·mc + r·mr, +mr) as
// kk×mr values, k-major, zero-padded past row m. The strips a K block
// sweeps are thus one sequential stream.
func (j *gemmJob) packStrip(s *gemmScratch, ic, st int) {
	k, kc := j.k, j.w.lay.kc
	if k == 0 {
		return
	}
	r0 := ic * j.mc
	rows := min(j.mc, j.m-r0)
	strips := j.strips(ic)
	a := j.block(ic)
	for pc := 0; pc < k; pc += kc {
		kk := min(kc, k-pc)
		blk := a[pc*strips*mr : (pc+kk)*strips*mr]
		dst := blk[st*mr*kk : (st+1)*mr*kk]
		if st*mr+mr <= rows {
			base := r0 + st*mr
			j.kern.packStrip(dst, j.x[base*k+pc:(base+mr-1)*k+pc+kk], k, kk)
			continue
		}
		// A strip past row m (a single image's 50 rows end in one of 2)
		// goes through s.pad, its rows copied and the rest zeroed, so it
		// too takes kern.packStrip: written element by element it took
		// 0.6% of the float32 tower's time at batch 1 (AVX2, Zen 5 guest).
		s.pad = grow(s.pad, mr*kk)
		for i := 0; i < mr; i++ {
			row := s.pad[i*kk : (i+1)*kk]
			if r := st*mr + i; r < rows {
				copy(row, j.x[(r0+r)*k+pc:])
			} else {
				clear(row)
			}
		}
		j.kern.packStrip(dst, s.pad, kk, kk)
	}
}

// packStripGo is kernels.packStrip in Go.
func packStripGo(dst, src []float32, ld, kk int) {
	x0 := src[0*ld : 0*ld+kk]
	x1 := src[1*ld : 1*ld+kk][:len(x0)]
	x2 := src[2*ld : 2*ld+kk][:len(x0)]
	x3 := src[3*ld : 3*ld+kk][:len(x0)]
	dst = dst[:len(x0)*mr]
	for p := range x0 {
		q := dst[p*mr : p*mr+mr : p*mr+mr]
		q[0], q[1], q[2], q[3] = x0[p], x1[p], x2[p], x3[p]
	}
}

// nextPanel returns the packed weights (p: a Matrix's p, or its q.b) that a
// task on panels [p0, p1) multiplies after panel jp of the K block at pc:
// the next panel of the block, or the first of the next block, or nil
// after the last. Tile calls on panel jp prefetch it (kernels.tilePF or
// tilePFSparse; which calls: task), so that streaming the weights from
// memory overlaps the arithmetic: at batch 1 each panel is used by only 7
// AVX-512 tile calls, and without it the ViT-B/32 tower took 12% longer
// on the Zen 5 guest.
func nextPanel[T float32 | int8](p []T, pc, jp, p0, p1, panels, nr, kc, k int) []T {
	kk := min(kc, k-pc)
	base := pc * panels * nr
	if jp+1 < p1 {
		return p[base+(jp+1)*kk*nr : base+(jp+2)*kk*nr]
	}
	if pc+kc >= k {
		return nil
	}
	kk = min(kc, k-pc-kc)
	base = (pc + kc) * panels * nr
	return p[base+p0*kk*nr : base+(p0+1)*kk*nr]
}

// task computes the tile of row block ic and panels [p0, p1) and applies
// the epilogue into y. Where the kernel set has tileEp, the full tiles of
// the last K block (all its rows and columns inside y) finish themselves
// into y; the rest of the output goes through s.c and kernels.epilogue.
func (j *gemmJob) task(s *gemmScratch, ic, p0, p1 int) {
	k, n := j.k, j.n
	nr, kc := j.w.lay.nr, j.w.lay.kc
	r0 := ic * j.mc
	rows := min(j.mc, j.m-r0)
	strips := (rows + mr - 1) / mr
	ldc := (p1 - p0) * nr
	c := s.c[:strips*mr*ldc]
	if k == 0 {
		clear(c)
	}
	col0 := p0 * nr
	cols := min(ldc, n-col0)
	var bias []float32
	if j.ep.Bias != nil {
		bias = j.ep.Bias[col0 : col0+cols]
	}
	tileEp := j.kern.tileEp
	fused := newFusedPart(tileEp != nil, j.ep, k, rows, cols, j.kern.rows, nr)
	a := j.block(ic)
	wp := j.w.p
	tile, step := j.kern.tile, j.kern.rows/mr // strips per tile call
	tilePF, pair := j.kern.tilePF, j.kern.tile2Pair
	// A prefetching call fetches kk lines of the next panel, pfStep of the
	// nr floats a step of it holds (16: a line a step), so need of the
	// panel's calls cover it, one in every (spread: the AVX-512 set's
	// tower 5% faster at batch 1 than with the first calls). The sparse
	// tiles fetch a quarter as much a call, and are taken where the panel
	// has the calls for that and two to spare (see kernels.tilePFSparse).
	calls := (strips + step - 1) / step
	pfStep := 16
	if j.kern.tilePFSparse != nil && calls >= (nr+3)/4+2 {
		tilePF, tileEp, pfStep = j.kern.tilePFSparse, j.kern.tileEpSparse, 4
	}
	need := (nr + pfStep - 1) / pfStep
	every := max(1, calls/need)
	for pc := 0; pc < k; pc += kc {
		kk := min(kc, k-pc)
		last := pc+kc >= k
		blk := a[pc*strips*mr : (pc+kk)*strips*mr]
		for jp := p0; jp < p1; jp++ {
			bp := pc*j.w.panels*nr + jp*kk*nr
			b := wp[bp : bp+kk*nr]
			next := nextPanel(wp, pc, jp, p0, p1, j.w.panels, nr, kc, k)
			col := (jp - p0) * nr
			for st, call := 0, 0; st < strips; st, call = st+step, call+1 {
				st1 := min(st+step, strips)
				h := min(step*mr, rows-st*mr)
				ta, tc := blk[st*mr*kk:st1*mr*kk], c[st*mr*ldc+col:]
				// A tail of 1 or 2 rows past the calls that prefetch goes
				// two panels at a time (tile2Pair), from the pair's first:
				// a single image's 50 rows took 5% of the fp32 tower's time
				// in a 2-row tile of one panel, for 4% of the work. "Past
				// the calls that prefetch" is judged for a full panel
				// (call ≥ need; spread, no prefetching call is the last),
				// not from this panel's next, so that both panels of a
				// pair agree.
				if h <= 2 && pair != nil && call >= need {
					if (jp-p0)%2 == 1 {
						continue // done with the panel before
					}
					if jp+1 < p1 {
						pair(kk, ta, wp[bp:bp+2*kk*nr], tc, ldc, pc > 0)
						continue
					}
				}
				var pf *float32
				if off := call / every * kk * pfStep; tilePF != nil && call%every == 0 && off < len(next) {
					pf = &next[off]
				}
				switch {
				case last && st*mr+h <= fused.rows && col < fused.cols:
					if pf == nil {
						pf = &b[0] // prefetches only what the tile reads
					}
					y := j.y[(r0+st*mr)*n+col0+col:]
					tileEp(kk, ta, b, tc, ldc, pc > 0, pf, y, n, tail(bias, col), j.ep.Accumulate)
				case pf != nil:
					tilePF(kk, ta, b, tc, ldc, h, pc > 0, pf)
				default:
					tile(kk, ta, b, tc, ldc, h, pc > 0)
				}
			}
		}
	}

	ep := j.kern.epilogue
	for r := 0; r < rows; r++ {
		from := fused.from(r)
		if from == cols {
			continue
		}
		i := r0 + r
		ep(j.y[i*n+col0+from:i*n+col0+cols], c[r*ldc+from:r*ldc+cols], tail(bias, from), j.ep.Act, j.ep.Accumulate)
	}
}

// fusedPart is the part of a task's rows × cols output, from its top
// left, that fused tiles (kernels.tileEp, tileI8Ep) finish: whole tile
// calls of tileRows rows, whole panels of nr columns; none when the kernel
// set has no fused tile (has is false), when the epilogue has an
// activation, or when k is 0 (no tile runs).
type fusedPart struct{ rows, cols int }

func newFusedPart(has bool, ep Epilogue, k, rows, cols, tileRows, nr int) fusedPart {
	if !has || ep.Act != Identity || k == 0 {
		return fusedPart{}
	}
	return fusedPart{rows / tileRows * tileRows, cols / nr * nr}
}

// from is the first column of row r that the row epilogue finishes: the
// columns before it are the fused tiles'.
func (f fusedPart) from(r int) int {
	if r < f.rows {
		return f.cols
	}
	return 0
}

// tail is b[v:], or nil for a nil b.
func tail(b []float32, v int) []float32 {
	if b == nil {
		return nil
	}
	return b[v:]
}
