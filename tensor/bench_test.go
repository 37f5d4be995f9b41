package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchShapes are the Linear layers of CLIP ViT-B/32 (vision width 768)
// and of its text tower (width 512).
var benchShapes = []struct {
	name string
	n, k int
	act  Activation
	acc  bool
}{
	{"qkv768", 2304, 768, Identity, false},
	{"out768", 768, 768, Identity, true},
	{"fc1_768", 3072, 768, QuickGELU, false},
	{"fc2_768", 768, 3072, Identity, true},
	{"qkv512", 1536, 512, Identity, false},
	{"fc1_512", 2048, 512, QuickGELU, false},
	{"fc1gelu_768", 3072, 768, GELU, false}, // OpenCLIP models use exact GELU
}

// BenchmarkLinear reports GFLOP/s of Linear for the CLIP shapes at 1, 8 and
// 32 images (50 tokens each), on 1 and 2 workers.
func BenchmarkLinear(b *testing.B) {
	for _, s := range benchShapes {
		for _, m := range []int{50, 400, 1600} {
			if s.k == 512 {
				m = m / 50 * 16 // text tower: 16 tokens per prompt
			}
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/m=%d/w=%d", s.name, m, workers), func(b *testing.B) {
					benchLinear(b, newPool(workers, bestKernels), m, s.n, s.k, s.act, s.acc, false, 1)
				})
			}
		}
	}
}

// BenchmarkLinearStream is BenchmarkLinear for fc1_768 with its weights
// coming from memory, as in the ViT-B/32 tower, whose 350 MB of float32
// weights no cache holds: each call takes the next of 40 matrices (377 MB).
// Against BenchmarkLinear's figure (the same weights every call, from
// cache) it shows what streaming costs, and what the prefetching tiles
// (kernels.tilePF, tilePFSparse) win back: at 1 image (50 rows) on the
// Zen 5 guest, 5–10% of the AVX-512 rate, and about 15% more without the
// prefetching; the AVX2 set lost up to 7% with its dense prefetching
// tiles, 3% at most with the sparse ones.
func BenchmarkLinearStream(b *testing.B) {
	s := benchShapes[2] // fc1_768
	for _, m := range []int{50, 400} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/m=%d/w=%d", s.name, m, workers), func(b *testing.B) {
				benchLinear(b, newPool(workers, bestKernels), m, s.n, s.k, s.act, s.acc, false, 40)
			})
		}
	}
}

// BenchmarkNaive is the baseline: the original row-by-dot-product Linear.
func BenchmarkNaive(b *testing.B) {
	for _, s := range benchShapes[:4] {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/m=50/w=%d", s.name, workers), func(b *testing.B) {
				benchLinear(b, newPool(workers, goKernels), 50, s.n, s.k, s.act, s.acc, true, 1)
			})
		}
	}
}

// benchLinear times Linear (or naiveLinear) on m rows of x and an n×k
// weight matrix packed copies times, each call taking the next copy: one
// copy stays in cache, enough of them stream from memory.
func benchLinear(b *testing.B, p *Pool, m, n, k int, act Activation, acc, naive bool, copies int) {
	defer p.Close()
	r := rand.New(rand.NewPCG(1, 1))
	x := randSlice(r, m*k, 1)
	wv := randSlice(r, n*k, 0.1)
	bias := randSlice(r, n, 0.1)
	y := make([]float32, m*n)
	ws := make([]*Matrix, copies) // the same values at other addresses: caches go by address
	for i := range ws {
		w, err := Pack(wv, n, k)
		if err != nil {
			b.Fatal(err)
		}
		ws[i] = w
	}
	ep := Epilogue{Bias: bias, Act: act, Accumulate: acc}
	cpu0 := cpuSeconds()
	i := 0
	for b.Loop() {
		if naive {
			naiveLinear(p, y, x, m, wv, n, k, ep)
		} else {
			p.Linear(y, x, m, ws[i%copies], ep)
		}
		i++
	}
	flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		// Per worker-CPU-second: the efficiency of one core, undisturbed
		// by time other processes took from this one.
		b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
	}
}

// naiveLinear is the pre-packing implementation, kept as the baseline.
func naiveLinear(p *Pool, y, x []float32, m int, w []float32, n, k int, ep Epilogue) {
	p.Parallel(m, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi := x[i*k : (i+1)*k]
			yi := y[i*n : (i+1)*n]
			for j := 0; j < n; j++ {
				s := dotGo(xi, w[j*k:(j+1)*k])
				if ep.Bias != nil {
					s += ep.Bias[j]
				}
				s = activate(ep.Act, s)
				if ep.Accumulate {
					yi[j] += s
				} else {
					yi[j] = s
				}
			}
		}
	})
}

func BenchmarkLayerNorm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randSlice(r, 50*768, 10)
	w, bb := randSlice(r, 768, 1), randSlice(r, 768, 1)
	y := make([]float32, len(x))
	for b.Loop() {
		LayerNorm(y, x, 50, 768, w, bb, 1e-5)
	}
}

func BenchmarkSoftmax50(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randSlice(r, 50*50, 10)
	for b.Loop() {
		for i := 0; i < 50; i++ {
			Softmax(x[i*50 : (i+1)*50])
		}
	}
}

func BenchmarkAttentionHead(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	q := randSlice(r, 50*64, 1)
	k := randSlice(r, 50*64, 1)
	s := make([]float32, 50*50)
	o := make([]float32, 50*64)
	cpu0 := cpuSeconds()
	for b.Loop() {
		MatMulNT(s, q, k, 50, 50, 64, 64, 64, 50)
		MatMulNN(o, s, k, 50, 64, 50, 50, 64, 64)
	}
	flops := 4 * 50 * 50 * 64 * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(flops/cpu/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkTile is the micro-kernel of this CPU's kernel set (KernelName)
// alone on cache-resident panels: the ceiling Linear can reach.
func BenchmarkTile(b *testing.B) {
	for _, k := range []int{64, 256, 768} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			kn := bestKernels
			rows, nr := kn.rows, kn.lay.nr
			a := make([]float32, k*rows)
			bb := make([]float32, k*nr)
			c := make([]float32, rows*nr)
			for b.Loop() {
				kn.tile(k, a, bb, c, nr, rows, true)
			}
			b.ReportMetric(2*float64(rows*nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkTail is a 2-row tail strip against two panels, both ways: the
// two-panel tile (kernels.tile2Pair) and the 2-row tile once per panel,
// each kernel set that has the former, over one K block of its layout
// (as in Linear, the panels cache-resident).
func BenchmarkTail(b *testing.B) {
	for _, kn := range kernelSets() {
		if kn.tile2Pair == nil {
			continue
		}
		k, nr := kn.lay.kc, kn.lay.nr
		a, bb := make([]float32, k*mr), make([]float32, 2*k*nr)
		c := make([]float32, mr*2*nr)
		flop := 2 * float64(2*2*nr*k)
		b.Run(kn.name+"/pair", func(b *testing.B) {
			for b.Loop() {
				kn.tile2Pair(k, a, bb, c, 2*nr, true)
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(kn.name+"/per-panel", func(b *testing.B) {
			for b.Loop() {
				kn.tile(k, a, bb[:k*nr], c, 2*nr, 2, true)
				kn.tile(k, a, bb[k*nr:], c[nr:], 2*nr, 2, true)
			}
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkLinearInt8 is BenchmarkLinear for int8 weights (PackInt8), at 8
// images, with each int8 kernel this CPU runs; GOP/s counts multiply-adds
// as 2.
func BenchmarkLinearInt8(b *testing.B) {
	for _, s := range benchShapes[:4] {
		for _, workers := range []int{1, 2} {
			for _, kn := range int8Variants(bestKernels) {
				b.Run(fmt.Sprintf("%s/m=400/w=%d/%s", s.name, workers, kn.i8name), func(b *testing.B) {
					benchLinearInt8(b, newPool(workers, kn), s.n, s.k, s.act, s.acc)
				})
			}
		}
	}
}

func benchLinearInt8(b *testing.B, p *Pool, n, k int, act Activation, acc bool) {
	defer p.Close()
	r := rand.New(rand.NewPCG(1, 1))
	const m = 400
	x := randSlice(r, m*k, 1)
	w, err := packInt8(randSlice(r, n*k, 0.1), n, k, p.kernels().layI8)
	if err != nil {
		b.Fatal(err)
	}
	y := make([]float32, m*n)
	ep := Epilogue{Bias: randSlice(r, n, 0.1), Act: act, Accumulate: acc}
	for b.Loop() {
		p.Linear(y, x, m, w, ep)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
}

// BenchmarkLinearFused measures the fused epilogue (kernels.tileEp,
// tileI8Ep) against the same kernel set without it, on one worker at 8
// images: each iteration runs Linear once each way (in turns, which one
// first), so a shared machine's drift falls on both alike, and
// "fused/unfused" is the ratio of their
// total times (below 1: the fused tiles pay). Layers with an activation
// are not fused (their ratio stays near 1, a check of the method).
func BenchmarkLinearFused(b *testing.B) {
	for _, s := range benchShapes[:4] {
		for _, prec := range []string{"fp32", "int8"} {
			b.Run(fmt.Sprintf("%s/%s", s.name, prec), func(b *testing.B) {
				fused := bestKernels
				plain := *fused
				plain.tileEp, plain.tileI8Ep = nil, nil
				pf, pp := newPool(1, fused), newPool(1, &plain)
				defer pf.Close()
				defer pp.Close()
				r := rand.New(rand.NewPCG(1, 1))
				const m = 400
				x, wv := randSlice(r, m*s.k, 1), randSlice(r, s.n*s.k, 0.1)
				w, err := Pack(wv, s.n, s.k)
				if prec == "int8" {
					w, err = packInt8(wv, s.n, s.k, fused.layI8)
				}
				if err != nil {
					b.Fatal(err)
				}
				y := make([]float32, m*s.n)
				ep := Epilogue{Bias: randSlice(r, s.n, 0.1), Act: s.act, Accumulate: s.acc}
				var tf, tp time.Duration
				timed := func(p *Pool) time.Duration {
					t0 := time.Now()
					p.Linear(y, x, m, w, ep)
					return time.Since(t0)
				}
				for i := 0; b.Loop(); i++ {
					if i%2 == 0 { // each way first half the time
						tf += timed(pf)
						tp += timed(pp)
					} else {
						tp += timed(pp)
						tf += timed(pf)
					}
				}
				b.ReportMetric(tf.Seconds()/tp.Seconds(), "fused/unfused")
				b.ReportMetric(tf.Seconds()*1000/float64(b.N), "ms-fused")
			})
		}
	}
}

// BenchmarkEpilogue is the epilogue of fc1 on one row held in L1: bias and
// QuickGELU over 3072 values, per kernel set.
func BenchmarkEpilogue(b *testing.B) {
	src := make([]float32, 3072)
	bias := make([]float32, 3072)
	for i := range src {
		src[i] = float32(i%97)/10 - 4
		bias[i] = float32(i%13) / 20
	}
	dst := make([]float32, 3072)
	for _, k := range kernelSets() {
		for _, act := range []Activation{Identity, QuickGELU} {
			b.Run(fmt.Sprintf("%s/act=%d", k.name, act), func(b *testing.B) {
				b.SetBytes(4 * 3072)
				for b.Loop() {
					k.epilogue(dst, src, bias, act, false)
				}
			})
		}
	}
}

// BenchmarkEpilogueI8 is BenchmarkEpilogue for int8 GEMM rows (int32
// sums dequantized on the way), for each kernel set's epilogueI8.
func BenchmarkEpilogueI8(b *testing.B) {
	const n = 3072
	c, cs := make([]int32, n), make([]int32, n)
	sw, bias, dst := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range c {
		c[i], cs[i] = int32(i*7919%(1<<20)), int32(i%1000)
		sw[i], bias[i] = float32(i%89)/1e5, float32(i%13)/20
	}
	for _, k := range kernelSets() {
		for _, act := range []Activation{Identity, QuickGELU} {
			b.Run(fmt.Sprintf("%s/act=%d", k.name, act), func(b *testing.B) {
				b.SetBytes(4 * n)
				for b.Loop() {
					k.epilogueI8(dst, c, cs, sw, 3, 0.01, bias, act, false)
				}
			})
		}
	}
}

// BenchmarkDotsF16 scans 262,144 rows of 512 float16 values (256 MiB, far
// past the caches) with one query, on one goroutine: bytes/s is the
// memory bandwidth a search's scan gets from one core.
func BenchmarkDotsF16(b *testing.B) {
	const dim, n = 512, 1 << 18
	v := make([]uint16, n*dim)
	for i := range v {
		v[i] = uint16(i*2654435761>>16) & 0x3bff
	}
	q := make([]float32, dim)
	for i := range q {
		q[i] = float32(i%7) - 3
	}
	out := make([]float32, n)
	b.SetBytes(int64(len(v) * 2))
	for b.Loop() {
		DotsF16(q, v, out)
	}
}
