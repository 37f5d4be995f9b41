package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/goclip/goclip/checkpoint"
)

func TestDotAxpy(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(5, 6))
		for n := 0; n <= 100; n++ {
			a, b := randSlice(r, n, 3), randSlice(r, n, 3)
			var want, mag float64
			for i := range a {
				want += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := kn.dot(a, b); math.Abs(float64(got)-want) > 1e-6*mag+1e-7 {
				t.Errorf("%s: dot n=%d = %g, want %g", kn.name, n, got, want)
			}
			y := randSlice(r, n, 3)
			y0 := append([]float32(nil), y...)
			kn.axpy(0.75, a, y)
			for i := range y {
				if w := y0[i] + 0.75*a[i]; math.Abs(float64(y[i]-w)) > 1e-6*math.Abs(float64(w))+1e-6 {
					t.Fatalf("%s: axpy n=%d y[%d]=%g want %g", kn.name, n, i, y[i], w)
				}
			}
		}
	}
}

// TestLayerNorm checks against float64 at transformer magnitudes (values up
// to ±20 plus an offset) to well within the 1e-3 budget of the model.
func TestLayerNorm(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(7, 8))
		for _, d := range []int{1, 7, 8, 33, 512, 768, 1023} {
			rows := 3
			src := randSlice(r, rows*d, 20)
			for i := range src {
				src[i] += 5
			}
			w, b := randSlice(r, d, 2), randSlice(r, d, 1)
			dst := make([]float32, len(src))
			layerNorm(kn, dst, src, rows, d, w, b, 1e-5)
			for row := 0; row < rows; row++ {
				s := src[row*d : (row+1)*d]
				var mean, vs float64
				for _, v := range s {
					mean += float64(v)
				}
				mean /= float64(d)
				for _, v := range s {
					vs += (float64(v) - mean) * (float64(v) - mean)
				}
				inv := 1 / math.Sqrt(vs/float64(d)+1e-5)
				for i, v := range s {
					want := (float64(v)-mean)*inv*float64(w[i]) + float64(b[i])
					if got := dst[row*d+i]; math.Abs(float64(got)-want) > 2e-5 {
						t.Fatalf("%s: d=%d row %d [%d] = %g, want %g", kn.name, d, row, i, got, want)
					}
				}
			}
			// In place.
			layerNorm(kn, src, src, rows, d, w, b, 1e-5)
			for i := range src {
				if src[i] != dst[i] {
					t.Fatalf("%s: in-place LayerNorm differs at %d", kn.name, i)
				}
			}
		}
	}
}

func TestSoftmax(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range []int{0, 1, 5, 8, 50, 77, 200} {
			x := randSlice(r, n, 30)
			if n > 2 {
				x[1] = -1e30 // a masked entry
			}
			want := make([]float64, n)
			var m, s float64 = math.Inf(-1), 0
			for _, v := range x {
				m = math.Max(m, float64(v))
			}
			for i, v := range x {
				want[i] = math.Exp(float64(v) - m)
				s += want[i]
			}
			softmax(kn, x)
			for i := range x {
				if w := want[i] / s; math.Abs(float64(x[i])-w) > 1e-6*w+1e-7 {
					t.Fatalf("%s: softmax n=%d [%d] = %g, want %g", kn.name, n, i, x[i], w)
				}
			}
		}
	}
}

// TestEpilogueActivations checks the vectorised QuickGELU (its exp) over a
// wide range, including values where exp over- or underflows, and that
// the assembly sets agree bit for bit (AVX-512's epilogue is AVX2's on
// sixteen lanes; int8 embeddings are the same on every such CPU).
func TestEpilogueActivations(t *testing.T) {
	first := map[Activation][]float32{} // the first assembly set's output
	for _, kn := range kernelSets() {
		for _, act := range []Activation{Identity, QuickGELU, GELU} {
			var src []float32
			for v := -120.0; v <= 120; v += 0.37 {
				src = append(src, float32(v))
			}
			for v := -12.0; v <= 12; v += 0.0013 {
				src = append(src, float32(v))
			}
			src = append(src, 0, -0.001, 0.001, 1e-30)
			bias := make([]float32, len(src))
			for i := range bias {
				bias[i] = float32(i%7) / 8
			}
			dst := make([]float32, len(src))
			for i := range dst {
				dst[i] = float32(i%5) - 2
			}
			kn.epilogue(dst, src, bias, act, true)
			if kn.name != "go" {
				if f, ok := first[act]; !ok {
					first[act] = slices.Clone(dst)
				} else if !slices.EqualFunc(f, dst, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
					t.Errorf("%s: act %d: not the bits of the first assembly set", kn.name, act)
				}
			}
			clear(dst)
			kn.epilogue(dst, src, nil, act, false)
			for i, v := range src {
				want := float64(activate(act, v))
				if math.Abs(float64(dst[i])-want) > 2e-6*math.Abs(want)+1e-7 {
					t.Errorf("%s: act %d(%g) = %g, want %g", kn.name, act, v, dst[i], want)
				}
			}
		}
	}
}

// TestMatMul checks MatMulNT/NN against float64 sums with every kernel
// set, and that the assembly sets (6×16 and 6×32 tiles) agree bit for bit:
// each output sums in k order in one accumulator whatever the tile.
func TestMatMul(t *testing.T) {
	first := map[string][]float32{} // the first assembly set's output
	sameBits := func(kn *kernels, key string, c []float32) {
		if kn.name == "go" {
			return
		}
		if f, ok := first[key]; !ok {
			first[key] = slices.Clone(c)
		} else if !slices.EqualFunc(f, c, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Errorf("%s: %s: not the bits of the first assembly set", kn.name, key)
		}
	}
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(11, 12))
		for _, s := range [][3]int{{1, 1, 1}, {50, 50, 64}, {7, 17, 3}, {13, 33, 300}, {77, 77, 64}, {6, 16, 0}, {12, 64, 50}} {
			m, n, k := s[0], s[1], s[2]
			lda, ldb, ldc := k+3, k+5, n+2
			a := randSlice(r, m*lda, 1)
			bt := randSlice(r, n*ldb, 1) // n×k rows for NT
			bn := randSlice(r, k*(n+1), 1)
			c := randSlice(r, m*ldc, 1)
			matMulNT(kn, c, a, bt, m, n, k, lda, ldb, ldc)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var want float64
					for p := 0; p < k; p++ {
						want += float64(a[i*lda+p]) * float64(bt[j*ldb+p])
					}
					if math.Abs(float64(c[i*ldc+j])-want) > 1e-5*float64(k)+1e-6 {
						t.Fatalf("%s: NT %v [%d][%d] = %g, want %g", kn.name, s, i, j, c[i*ldc+j], want)
					}
				}
			}
			sameBits(kn, fmt.Sprintf("NT %v", s), c)
			matMulNN(kn, c, a, bn, m, n, k, lda, n+1, ldc)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var want float64
					for p := 0; p < k; p++ {
						want += float64(a[i*lda+p]) * float64(bn[p*(n+1)+j])
					}
					if math.Abs(float64(c[i*ldc+j])-want) > 1e-5*float64(k)+1e-6 {
						t.Fatalf("%s: NN %v [%d][%d] = %g, want %g", kn.name, s, i, j, c[i*ldc+j], want)
					}
				}
			}
			sameBits(kn, fmt.Sprintf("NN %v", s), c)
		}
	}
}

// TestPackTransposed: every set packs K's panels as packTransposedGo does,
// and writes nothing else.
func TestPackTransposed(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, kn := range kernelSets() {
		snr := kn.snr
		for _, cols := range []int{1, 7, 8, 9, 16, snr - 1, snr} {
			for _, kk := range []int{1, 7, 8, 16, 64} {
				ld := kk + 3
				src := randSlice(r, cols*ld, 1)
				got := randSlice(r, kk*snr+5, 1)
				want := slices.Clone(got)
				packTransposed(kn, got, src, ld, cols, kk, snr)
				packTransposedGo(want, src, ld, cols, kk, snr)
				if !slices.Equal(got, want) {
					t.Errorf("%s cols=%d kk=%d: not packTransposedGo's panel", kn.name, cols, kk)
				}
			}
		}
	}
}

func TestParallelCovers(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, n := range []int{0, 1, 2, 5, 100} {
		hits := make([]int32, n)
		p.Parallel(n, 2, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hits[i]++
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, h)
			}
		}
	}
}

// TestParallelNested checks that loop bodies may call Parallel and Linear
// on their own pool without deadlocking.
func TestParallelNested(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	r := rand.New(rand.NewPCG(13, 14))
	x := randSlice(r, 20*30, 1)
	w, _ := Pack(randSlice(r, 40*30, 1), 40, 30)
	ys := make([][]float32, 8)
	for i := range ys {
		ys[i] = make([]float32, 20*40)
	}
	var total atomic.Int64
	p.Parallel(8, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			p.Linear(ys[i], x, 20, w, Epilogue{})
			p.Parallel(10, 1, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 80 {
		t.Errorf("nested Parallel covered %d of 80 indices", total.Load())
	}
	for i := range ys {
		for j := range ys[i] {
			if ys[i][j] != ys[0][j] {
				t.Fatalf("nested Linear %d differs at %d", i, j)
			}
		}
	}
}

// TestDotsF16 checks every set's float16 scan against float64 sums of the
// widened values, for row lengths the assembly takes (multiples of 16)
// and others, and row counts with and without a tail of 1-3 rows.
func TestDotsF16(t *testing.T) {
	for _, kn := range kernelSets() {
		r := rand.New(rand.NewPCG(9, 10))
		for _, dim := range []int{1, 8, 15, 16, 48, 512, 1024} {
			for _, n := range []int{0, 1, 3, 4, 5, 8, 11} {
				q := randSlice(r, dim, 1)
				v := make([]uint16, n*dim)
				for i := range v {
					// Every finite half: normals, subnormals, zeros, both signs.
					v[i] = uint16(r.IntN(0x7c00)) | uint16(r.IntN(2))<<15
				}
				out := make([]float32, n)
				kn.dotsF16(q, v, out)
				for i := range n {
					var want, mag float64
					for j := range dim {
						p := float64(q[j]) * float64(checkpoint.F16ToF32(v[i*dim+j]))
						want += p
						mag += math.Abs(p)
					}
					if math.Abs(float64(out[i])-want) > 1e-6*mag+1e-30 {
						t.Fatalf("%s: dim %d n %d row %d = %g, want %g", kn.name, dim, n, i, out[i], want)
					}
				}
			}
		}
	}
}
