package tensor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// kernelSets lists the implementations to check: every set this build and
// CPU can run, the portable one included.
func kernelSets() []*kernels { return availableKernels() }

// int8Sets is every kernel set with every int8 tile this CPU runs.
func int8Sets() []*kernels {
	var out []*kernels
	for _, k := range availableKernels() {
		out = append(out, int8Variants(k)...)
	}
	return out
}

// layoutCase is a kernel set and the layout its matrices are packed in:
// its own, or another one (then Linear falls back to the portable kernel).
type layoutCase struct {
	kn  *kernels
	lay layout
}

func (c layoutCase) String() string { return fmt.Sprintf("%s/nr=%d", c.kn.name, c.lay.nr) }

// layoutCases is each kernel set on its own layout, plus the portable set
// on every layout.
func layoutCases() []layoutCase {
	var cs []layoutCase
	for _, kn := range kernelSets() {
		cs = append(cs, layoutCase{kn, kn.lay})
	}
	return append(cs, layoutCase{goKernels, layout48})
}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32((r.Float64()*2 - 1) * scale)
	}
	return s
}

// refLinear is the float64 reference of Linear; it also returns, per
// output, the bound Σ|x·w| + |bias| used to scale the tolerance.
func refLinear(y, x, w, bias []float32, m, n, k int, act Activation, acc bool) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, a float64
			for p := 0; p < k; p++ {
				t := float64(x[i*k+p]) * float64(w[j*k+p])
				s += t
				a += math.Abs(t)
			}
			if bias != nil {
				s += float64(bias[j])
				a += math.Abs(float64(bias[j]))
			}
			switch act {
			case QuickGELU:
				s = s / (1 + math.Exp(-1.702*s))
			case GELU:
				s = 0.5 * s * (1 + math.Erf(s/math.Sqrt2))
			}
			if acc {
				s += float64(y[i*n+j])
				a += math.Abs(float64(y[i*n+j]))
			}
			want[i*n+j], mag[i*n+j] = s, a
		}
	}
	return want, mag
}

// checkLinear checks Linear on random operands against refLinear, with the
// weights packed in the pool's own layout.
func checkLinear(t *testing.T, p *Pool, r *rand.Rand, m, n, k int, act Activation, acc, withBias bool) {
	t.Helper()
	checkLinearLayout(t, p, p.kernels().lay, r, m, n, k, act, acc, withBias)
}

func checkLinearLayout(t *testing.T, p *Pool, lay layout, r *rand.Rand, m, n, k int, act Activation, acc, withBias bool) {
	t.Helper()
	if err := linearError(p, lay, r, m, n, k, act, acc, withBias); err != nil {
		t.Fatal(err)
	}
}

// linearError runs one Linear against refLinear and describes the first
// wrong value (or nil); it calls no testing.T method, so goroutines other
// than the test's may use it.
func linearError(p *Pool, lay layout, r *rand.Rand, m, n, k int, act Activation, acc, withBias bool) error {
	x := randSlice(r, m*k, 2)
	w := randSlice(r, n*k, 0.5)
	var bias []float32
	if withBias {
		bias = randSlice(r, n, 1)
	}
	y := randSlice(r, m*n, 3)
	want, mag := refLinear(y, x, w, bias, m, n, k, act, acc)
	mat, err := pack(w, n, k, lay)
	if err != nil {
		return err
	}
	p.Linear(y, x, m, mat, Epilogue{Bias: bias, Act: act, Accumulate: acc})
	for i, v := range y {
		tol := 1e-6*mag[i] + 1e-6
		if d := math.Abs(float64(v) - want[i]); !(d <= tol) {
			return fmt.Errorf("m=%d n=%d k=%d act=%d acc=%v bias=%v: y[%d][%d]=%g want %g (|diff| %g > %g)",
				m, n, k, act, acc, withBias, i/n, i%n, v, want[i], d, tol)
		}
	}
	return nil
}

func TestLinearShapes(t *testing.T) {
	for _, lc := range layoutCases() {
		t.Run(lc.String(), func(t *testing.T) {
			kn, lay := lc.kn, lc.lay
			kc := lay.kc
			check := func(p *Pool, r *rand.Rand, m, n, k int, act Activation, acc, withBias bool) {
				t.Helper()
				checkLinearLayout(t, p, lay, r, m, n, k, act, acc, withBias)
			}
			r := rand.New(rand.NewPCG(1, 2))
			step := 4
			if raceEnabled {
				step = 16
			}
			for _, workers := range []int{1, 3} {
				p := newPool(workers, kn)
				// Every small shape edge against mr, nr: m, n, k in 1..70,
				// sampled with all epilogue variants.
				for m := 1; m <= 70; m += 1 + r.IntN(step) {
					for n := 1; n <= 70; n += 1 + r.IntN(step+2) {
						k := 1 + r.IntN(70)
						act := Activation(r.IntN(3))
						check(p, r, m, n, k, act, r.IntN(2) == 0, r.IntN(4) != 0)
					}
				}
				// Edges of the kc (K blocks) and mc (row blocks) loops.
				mc := lay.mc
				for i, s := range [][3]int{{1, 16, kc}, {7, 33, kc + 1}, {97, 40, 2*kc + 5}, {200, 17, 3}, {193, 70, 300}, {50, 96, 768}, {mc + 1, 20, 9}, {2*mc + 13, 50, kc + 3}} {
					act := Activation(i % 3)
					if raceEnabled && s[0]*s[1]*s[2] > 1e6 {
						continue
					}
					check(p, r, s[0], s[1], s[2], act, i%2 == 0, true)
				}
				// Several K blocks with tail strips and a partial last panel.
				for _, acc := range []bool{false, true} {
					check(p, r, 13, 48, 2*kc+7, Identity, acc, true)
					check(p, r, 50, 37, kc+9, QuickGELU, acc, acc)
					check(p, r, 21, 96, 2*kc+3, GELU, acc, true)
				}
				p.Close()
			}
		})
	}
}

// TestTaskGridClaim: claim hands out every (row block, panel) pair once,
// in order, in tasks of at most jcPanels panels that shrink at the end of
// the call to two panels each (one where jcPanels is 1) for the last
// 2·workers, from one goroutine or several.
func TestTaskGridClaim(t *testing.T) {
	for _, c := range []struct{ m, panels, workers int }{
		{50, 32, 2}, {50, 96, 2}, {400, 32, 2}, {400, 128, 3}, {1, 1, 2}, {7, 3, 4}, {1600, 16, 8},
	} {
		g := newTaskGrid(c.m, c.panels, layout24, 4, c.workers)
		var next atomic.Int64
		var sizes []int
		pos := 0
		for {
			ic, p0, p1, ok := g.claim(&next)
			if !ok {
				break
			}
			if ic*g.panels+p0 != pos || p1 <= p0 || p1 > g.panels || p1-p0 > g.jcPanels {
				t.Fatalf("%+v: task %d is block %d panels [%d, %d) at pair %d (jcPanels %d)", c, len(sizes), ic, p0, p1, pos, g.jcPanels)
			}
			pos += p1 - p0
			sizes = append(sizes, p1-p0)
		}
		if pos != g.nIC*g.panels {
			t.Fatalf("%+v: %d pairs handed out, want %d", c, pos, g.nIC*g.panels)
		}
		tail := sizes[max(0, len(sizes)-2*c.workers):]
		least := min(2, g.jcPanels)
		for i, s := range tail {
			if s != least && (s != 1 || i != len(tail)-1) { // an odd row block ends in one
				t.Errorf("%+v: the last tasks have %v panels, want %d each", c, tail, least)
				break
			}
		}

		// Several goroutines at once: still each pair once.
		next.Store(0)
		seen := make([]atomic.Int32, g.nIC*g.panels)
		var wg sync.WaitGroup
		for range c.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ic, p0, p1, ok := g.claim(&next)
					if !ok {
						return
					}
					for p := p0; p < p1; p++ {
						seen[ic*g.panels+p].Add(1)
					}
				}
			}()
		}
		wg.Wait()
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Fatalf("%+v: pair %d handed out %d times", c, i, n)
			}
		}
	}
}

// TestPackStrip: every set's packStrip is packStripGo, for depths around
// the vector width.
func TestPackStrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kn := range kernelSets() {
		for _, kk := range []int{1, 7, 8, 9, 16, 31, 128, 256} {
			ld := kk + 5
			src := randSlice(r, 3*ld+kk, 1)
			got, want := randSlice(r, mr*kk+3, 1), make([]float32, mr*kk+3)
			copy(want, got)
			kn.packStrip(got[:mr*kk], src, ld, kk)
			packStripGo(want[:mr*kk], src, ld, kk)
			if !slices.Equal(got, want) {
				t.Errorf("%s kk=%d: packStrip differs from packStripGo", kn.name, kk)
			}
		}
	}
}

func TestLinearZeroDepth(t *testing.T) {
	for _, kn := range kernelSets() {
		p := newPool(2, kn)
		mat, err := pack(nil, 3, 0, kn.lay)
		if err != nil {
			t.Fatal(err)
		}
		y := []float32{9, 9, 9, 9, 9, 9}
		p.Linear(y, nil, 2, mat, Epilogue{Bias: []float32{1, 2, 3}})
		if fmt.Sprint(y) != "[1 2 3 1 2 3]" {
			t.Errorf("%s: k=0 gives %v", kn.name, y)
		}
		p.Close()
	}
}

func TestLinearNilPool(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var p *Pool
	checkLinear(t, p, r, 13, 40, 20, QuickGELU, true, true)
}

func TestPackErrors(t *testing.T) {
	if _, err := Pack(make([]float32, 5), 2, 3); err == nil {
		t.Error("Pack accepted 5 values for 2x3")
	}
	if _, err := Pack(nil, -1, 0); err == nil {
		t.Error("Pack accepted a negative size")
	}
	// Non-finite weights are refused, naming the place; the largest finite
	// values are not.
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		w := make([]float32, 40*300)
		w[17*300+259] = bad
		_, err := Pack(w, 40, 300)
		if err == nil || !strings.Contains(err.Error(), "[17][259]") {
			t.Errorf("weight %v: err = %v", bad, err)
		}
		if _, err := PackInt8(w, 40, 300); err == nil {
			t.Errorf("int8: weight %v accepted", bad)
		}
	}
	w := make([]float32, 40*300)
	w[3], w[4] = math.MaxFloat32, -math.MaxFloat32
	if _, err := Pack(w, 40, 300); err != nil {
		t.Errorf("largest finite weights: %v", err)
	}
}

// TestLinearConcurrent checks that one pool serves concurrent callers.
func TestLinearConcurrent(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	errs := make(chan error, 3)
	for g := 0; g < 3; g++ {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			var err error
			for i := 0; i < 5 && err == nil; i++ {
				err = linearError(p, p.kernels().lay, r, 20+g, 50, 40, QuickGELU, i%2 == 0, true)
			}
			errs <- err
		}()
	}
	for g := 0; g < 3; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestLinearConcurrentBlocks checks Linear, float32 and int8, with six
// row blocks (packed once, the participants sharing the strips and waiting
// for each other's, the float32 ones in turn in three slots) on one pool,
// from concurrent callers and from inside Parallel's loop bodies: the same
// bits as on the calling goroutine alone, and no deadlock.
func TestLinearConcurrentBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	m, n, k := 5*max(layoutI8.mc, defaultKernels().lay.mc)+9, 96, 80
	x := randSlice(r, m*k, 2)
	w := randSlice(r, n*k, 0.5)
	ep := Epilogue{Bias: randSlice(r, n, 1), Act: QuickGELU}
	w32, err := Pack(w, n, k)
	if err != nil {
		t.Fatal(err)
	}
	w8, err := PackInt8(w, n, k)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(2)
	defer p.Close()
	for _, mat := range []*Matrix{w32, w8} {
		want := make([]float32, m*n)
		(*Pool)(nil).Linear(want, x, m, mat, ep)
		errs := make(chan error, 3)
		for g := 0; g < 3; g++ {
			go func() {
				ys := make([][]float32, 4)
				p.Parallel(len(ys), 1, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						ys[i] = make([]float32, m*n)
						p.Linear(ys[i], x, m, mat, ep)
					}
				})
				var err error
				for i, y := range ys {
					if !slices.Equal(y, want) {
						err = fmt.Errorf("int8 %v: caller %d, body %d: not the bits of the lone call", mat.IsInt8(), g, i)
					}
				}
				errs <- err
			}()
		}
		for g := 0; g < 3; g++ {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
}

// TestLinearAllocs checks that Linear does not allocate once its per-worker
// buffers exist (MatMul never allocates).
func TestLinearAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a plain build (sync.Pool drops items under -race)")
	}
	p := NewPool(2)
	defer p.Close()
	r := rand.New(rand.NewPCG(1, 1))
	x := randSlice(r, 50*64, 1)
	w, _ := Pack(randSlice(r, 96*64, 1), 96, 64)
	y := make([]float32, 50*96)
	p.Linear(y, x, 50, w, Epilogue{Act: QuickGELU})
	if n := testing.AllocsPerRun(50, func() { p.Linear(y, x, 50, w, Epilogue{Act: QuickGELU}) }); n > 0.1 {
		t.Errorf("Linear allocates %.1f times per call", n)
	}
	wq, _ := PackInt8(randSlice(r, 96*64, 1), 96, 64)
	p.Linear(y, x, 50, wq, Epilogue{Act: QuickGELU})
	if n := testing.AllocsPerRun(50, func() { p.Linear(y, x, 50, wq, Epilogue{Act: QuickGELU}) }); n > 0.1 {
		t.Errorf("int8 Linear allocates %.1f times per call", n)
	}
	s := make([]float32, 50*50)
	if n := testing.AllocsPerRun(20, func() { MatMulNT(s, x, x, 50, 50, 64, 64, 64, 50) }); n != 0 {
		t.Errorf("MatMulNT allocates %.1f times per call", n)
	}
}

// TestSelectKernels checks the GOCLIP_KERNELS choice: a name this CPU has
// selects that set, none the fastest, and any other is an error.
func TestSelectKernels(t *testing.T) {
	// Read at package start-up, which go test's cache does not see: reading
	// it here makes a change of GOCLIP_KERNELS rerun the tests.
	if want := os.Getenv("GOCLIP_KERNELS") + os.Getenv("GOCLIP_INT8_KERNEL"); want != "" {
		t.Logf("GOCLIP_KERNELS=%s: testing with %s", want, bestKernels.name)
	}
	sets := availableKernels()
	for _, k := range sets {
		t.Logf("kernel set %s (nr %d, kc %d, %d-row tiles; int8: %s)", k.name, k.lay.nr, k.lay.kc, k.rows, k.i8name)
	}
	if sets[len(sets)-1] != goKernels {
		t.Errorf("portable set is not the last resort: %v", sets)
	}
	for _, k := range sets {
		if got, err := selectKernels(k.name, ""); got != k || err != nil {
			t.Errorf("selectKernels(%q) = %s, %v", k.name, got.name, err)
		}
	}
	if got, err := selectKernels("", ""); got != sets[0] || err != nil {
		t.Errorf(`selectKernels("", "") = %s, %v; want %s`, got.name, err, sets[0].name)
	}
	for _, want := range []string{"sse9", "AVX2 ", "avx-512"} {
		got, err := selectKernels(want, "")
		if got != sets[0] || err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "go") {
			t.Errorf("selectKernels(%q) = %s, %v: want the fastest set and an error naming the choices", want, got.name, err)
		}
	}
	for _, v := range int8Variants(sets[0]) {
		if got, err := selectKernels("", v.i8name); err != nil || got.i8name != v.i8name || got.name != sets[0].name {
			t.Errorf("int8 kernel %q: %s/%s, %v", v.i8name, got.name, got.i8name, err)
		}
	}
	if _, err := selectKernels("", "vnni9"); err == nil || !strings.Contains(err.Error(), "GOCLIP_INT8_KERNEL") {
		t.Errorf("unknown int8 kernel: err = %v", err)
	}
	if os.Getenv("GOCLIP_KERNELS") == "" && os.Getenv("GOCLIP_INT8_KERNEL") == "" && KernelsError() != nil {
		t.Errorf("KernelsError() = %v without GOCLIP_KERNELS", KernelsError())
	}
	if KernelName() != bestKernels.name {
		t.Errorf("KernelName %q, kernels in use %q", KernelName(), bestKernels.name)
	}
}

// TestTile checks every float32 micro-kernel on its own against float64
// sums, for every row count it takes and k around its unrolling, and that
// it writes nothing outside its rows×nr tile (the neighbouring columns and
// a guard after the last row hold sentinels).
func TestTile(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(9, 10))
		nr := kn.lay.nr
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 64, 129} {
			for rows := 1; rows <= kn.rows; rows++ {
				strips := (rows + mr - 1) / mr
				a := randSlice(r, strips*mr*k, 1)
				b := randSlice(r, k*nr, 1)
				ldc := nr + 3
				const guard = 64
				for _, add := range []bool{false, true} {
					buf := randSlice(r, strips*mr*ldc+guard, 1)
					c0 := append([]float32(nil), buf...)
					kn.tile(k, a, b, buf[:strips*mr*ldc], ldc, rows, add)
					for i := 0; i < strips*mr; i++ {
						for j := 0; j < ldc; j++ {
							got := buf[i*ldc+j]
							if i >= rows || j >= nr {
								// Rows past rows (in the strip) may be
								// computed; other columns must not change.
								if j >= nr && got != c0[i*ldc+j] {
									t.Fatalf("%s k=%d rows=%d: wrote c[%d][%d]", kn.name, k, rows, i, j)
								}
								continue
							}
							st, ri := i/mr, i%mr
							var want, mag float64
							for p := 0; p < k; p++ {
								v := float64(a[st*mr*k+p*mr+ri]) * float64(b[p*nr+j])
								want += v
								mag += math.Abs(v)
							}
							if add {
								want += float64(c0[i*ldc+j])
								mag += math.Abs(float64(c0[i*ldc+j]))
							}
							if d := math.Abs(float64(got) - want); d > 1e-6*mag+1e-7 {
								t.Fatalf("%s k=%d rows=%d add=%v: c[%d][%d] = %g, want %g", kn.name, k, rows, add, i, j, got, want)
							}
						}
					}
					for i := strips * mr * ldc; i < len(buf); i++ {
						if buf[i] != c0[i] {
							t.Fatalf("%s k=%d rows=%d: wrote past the tile, at %d", kn.name, k, rows, i-strips*mr*ldc)
						}
					}
				}
			}
		}
	}
}

// TestTile2Pair: a set's two-panel tail tile gives the bits of its 2-row
// tile run on each panel, and writes nothing but those 2 rows' 2·nr
// columns (the rest of the strip and the neighbouring columns hold
// sentinels).
func TestTile2Pair(t *testing.T) {
	for _, kn := range kernelSets() {
		if kn.tile2Pair == nil {
			continue
		}
		r := rand.New(rand.NewPCG(15, 16))
		nr := kn.lay.nr
		for _, k := range []int{1, 2, 3, 4, 5, 7, 64, 129} {
			a, b := randSlice(r, mr*k, 1), randSlice(r, 2*k*nr, 1)
			for _, add := range []bool{false, true} {
				ldc := 2*nr + 3
				c0 := randSlice(r, mr*ldc+64, 1)
				want, got := slices.Clone(c0), slices.Clone(c0)
				kn.tile(k, a, b[:k*nr], want, ldc, 2, add)
				kn.tile(k, a, b[k*nr:], want[nr:], ldc, 2, add)
				kn.tile2Pair(k, a, b, got, ldc, add)
				for i := range got {
					row, col := i/ldc, i%ldc
					w := c0[i]
					if row < 2 && col < 2*nr {
						w = want[i]
					}
					if math.Float32bits(got[i]) != math.Float32bits(w) {
						t.Fatalf("%s k=%d add=%v: c[%d][%d] = %g, want %g", kn.name, k, add, row, col, got[i], w)
					}
				}
			}
		}
	}
}

// TestTilePF: a set's prefetching tiles, dense and sparse, give the bits
// of its plain tile, for every row count, and write nothing else.
func TestTilePF(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(17, 18))
		nr := kn.lay.nr
		for name, pfTile := range map[string]func(k int, a, b, c []float32, ldc, rows int, add bool, pf *float32){"tilePF": kn.tilePF, "tilePFSparse": kn.tilePFSparse} {
			if pfTile == nil {
				continue
			}
			for _, k := range []int{1, 3, 4, 5, 9, 64, 129} {
				for rows := 1; rows <= kn.rows; rows++ {
					strips := (rows + mr - 1) / mr
					a, b := randSlice(r, strips*mr*k, 1), randSlice(r, k*nr, 1)
					pf := randSlice(r, 16*k+16, 1)
					ldc := nr + 3
					for _, add := range []bool{false, true} {
						c0 := randSlice(r, strips*mr*ldc+64, 1)
						want, got := slices.Clone(c0), slices.Clone(c0)
						kn.tile(k, a, b, want[:strips*mr*ldc], ldc, rows, add)
						pfTile(k, a, b, got[:strips*mr*ldc], ldc, rows, add, &pf[0])
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s %s k=%d rows=%d add=%v: c[%d] = %g, tile gives %g", kn.name, name, k, rows, add, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestTileEp: a set's fused float32 tiles, dense and sparse, give the bits
// of its tile followed by its epilogue, row by row, write the tile's part
// of y only, and never c.
func TestTileEp(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(11, 12))
		rows, nr := kn.rows, kn.lay.nr
		for name, tileEp := range map[string]func(k int, a, b, c []float32, ldc int, add bool, pf *float32, y []float32, ldy int, bias []float32, acc bool){"tileEp": kn.tileEp, "tileEpSparse": kn.tileEpSparse} {
			if tileEp == nil {
				continue
			}
			for _, k := range []int{1, 3, 4, 5, 9, 64, 129} {
				a, b := randSlice(r, rows*k, 1), randSlice(r, k*nr, 1)
				pf := randSlice(r, 64*k, 1)
				eachFusedCase(r, nr, func(add, acc bool, bias []float32) {
					ldc := nr + 3
					checkFused(t, fmt.Sprintf("%s %s k=%d add=%v acc=%v bias=%v", kn.name, name, k, add, acc, bias != nil),
						r, rows, nr, randSlice(r, rows*ldc, 1), ldc,
						func(c []float32) { kn.tile(k, a, b, c, ldc, rows, add) },
						func(_ int, dst, c []float32) { kn.epilogue(dst, c, bias, Identity, acc) },
						func(y []float32, ldy int, c []float32) { tileEp(k, a, b, c, ldc, add, &pf[0], y, ldy, bias, acc) })
				})
			}
		}
	}
}

// TestTileI8Ep is TestTileEp for the fused int8 tiles, against tileI8 and
// epilogueI8.
func TestTileI8Ep(t *testing.T) {
	for _, kn := range int8Sets() {
		if kn.tileI8Ep == nil {
			continue
		}
		r := rand.New(rand.NewPCG(13, 14))
		rows, nr := kn.rowsI8, kn.layI8.nr
		cs, zx := make([]int32, nr), make([]int32, rows)
		for i := range cs {
			cs[i] = int32(r.IntN(20001) - 10000)
		}
		for i := range zx {
			zx[i] = int32(r.IntN(256))
		}
		sw, sx := randSlice(r, nr, 0.01), randSlice(r, rows, 0.1)
		for _, k4 := range []int{1, 2, 3, 5, 16, 33} {
			a, b := make([]uint8, rows*4*k4), make([]int8, 4*k4*nr)
			for i := range a {
				a[i] = uint8(r.IntN(256))
			}
			for i := range b {
				b[i] = int8(r.IntN(2*maxWeightI8+1) - maxWeightI8)
			}
			pf := make([]int8, 64*k4)
			eachFusedCase(r, nr, func(add, acc bool, bias []float32) {
				ldc := nr + 3
				c := make([]int32, rows*ldc)
				for i := range c {
					c[i] = int32(r.IntN(2000001) - 1000000)
				}
				checkFused(t, fmt.Sprintf("%s/%s k4=%d add=%v acc=%v bias=%v", kn.name, kn.i8name, k4, add, acc, bias != nil),
					r, rows, nr, c, ldc,
					func(c []int32) { kn.tileI8(k4, a, b, c, ldc, rows, add) },
					func(row int, dst []float32, c []int32) {
						kn.epilogueI8(dst, c, cs, sw, zx[row], sx[row], bias, Identity, acc)
					},
					func(y []float32, ldy int, c []int32) {
						kn.tileI8Ep(k4, a, b, c, ldc, add, &pf[0], y, ldy, bias, acc, cs, sw, zx, sx)
					})
			})
		}
	}
}

// eachFusedCase calls f with every form of a fused tile's call: adding to
// c's sums or not (add), to y or not (acc), with a bias of nr random values
// or none.
func eachFusedCase(r *rand.Rand, nr int, f func(add, acc bool, bias []float32)) {
	for i := range 8 {
		var bias []float32
		if i&4 != 0 {
			bias = randSlice(r, nr, 1)
		}
		f(i&1 != 0, i&2 != 0, bias)
	}
}

// checkFused runs a fused tile (fused: rows × nr outputs into y, row stride
// ldy, reading c) and, on a copy of c, the plain tile (plain) followed by
// the row epilogue (finish), and wants the same bits in y, nothing written
// outside the tile's part of y, and c unchanged.
func checkFused[T float32 | int32](t *testing.T, what string, r *rand.Rand, rows, nr int, c []T, ldc int,
	plain func(c []T), finish func(row int, dst []float32, c []T), fused func(y []float32, ldy int, c []T)) {
	t.Helper()
	ldy := nr + 5
	y := randSlice(r, (rows+1)*ldy, 3)
	want, sum, c0 := slices.Clone(y), slices.Clone(c), slices.Clone(c)
	plain(sum)
	for i := range rows {
		finish(i, want[i*ldy:i*ldy+nr], sum[i*ldc:i*ldc+nr])
	}
	fused(y, ldy, c)
	if !slices.Equal(c, c0) {
		t.Fatalf("%s: the fused tile wrote c", what)
	}
	for i := range y {
		if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: y[%d][%d] = %g, want %g (tile, then epilogue)", what, i/ldy, i%ldy, y[i], want[i])
		}
	}
}

// FMAPeak measures a positive rate where the kernel set has a peak loop
// (and 0 where it has none), and stops with ctx. Every set's loop runs.
func TestFMAPeak(t *testing.T) {
	for _, k := range availableKernels() {
		if k.peak != nil {
			k.peak(1000)
		}
	}
	g, err := FMAPeak(context.Background(), 2, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if has := defaultKernels().peak != nil; has != (g > 0) {
		t.Errorf("FMAPeak = %.1f GFLOP/s with kernels %s", g, KernelName())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FMAPeak(ctx, 2, time.Hour); defaultKernels().peak != nil && err == nil {
		t.Error("FMAPeak with a cancelled context returned no error")
	}
	t.Logf("%s: %.0f GFLOP/s on 2 threads", KernelName(), g)
}
