package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTileI8Exact checks every int8 micro-kernel against int64 sums of the
// same packed operands: the integer product must be exact, so any
// difference is a kernel bug. Values span the full u8 range and the ±63 of
// PackInt8's weights (both extremes: AVX2's vpmaddubsw saturates beyond),
// and k4 covers the unrolled loop, its tail and a single step. The
// prefetching form (tileI8PF), where the set has one, must give the same.
func TestTileI8Exact(t *testing.T) {
	const nr = 48
	for _, kn := range int8Sets() {
		r := rand.New(rand.NewPCG(5, 6))
		for _, k4 := range []int{1, 2, 3, 4, 5, 7, 64, 128} {
			for rows := 1; rows <= kn.rowsI8; rows++ {
				strips := (rows + mr - 1) / mr
				a := make([]uint8, strips*mr*4*k4)
				b := make([]int8, k4*4*nr)
				for i := range a {
					a[i] = uint8(r.IntN(256))
				}
				for i := range b {
					b[i] = int8(r.IntN(2*maxWeightI8+1) - maxWeightI8)
				}
				switch k4 { // the extremes, which saturating instructions would clip
				case 3, 5:
					for i := range a {
						a[i] = 255
					}
					for i := range b {
						b[i] = int8(maxWeightI8 * (k4 - 4)) // −63, then +63
					}
				}
				ldc := nr + 5
				pfBuf := make([]int8, 64*k4)
				for _, form := range []int{0, 1, 2, 3} {
					add, pf := form&1 != 0, form&2 != 0
					if pf && kn.tileI8PF == nil {
						continue
					}
					c := make([]int32, strips*mr*ldc)
					for i := range c {
						c[i] = int32(r.IntN(2001) - 1000)
					}
					c0 := append([]int32(nil), c...)
					if pf {
						kn.tileI8PF(k4, a, b, c, ldc, rows, add, &pfBuf[0])
					} else {
						kn.tileI8(k4, a, b, c, ldc, rows, add)
					}
					for i := 0; i < rows; i++ {
						st, ri := i/mr, i%mr
						for j := 0; j < nr; j++ {
							var want int64
							for g := 0; g < k4; g++ {
								for q := 0; q < 4; q++ {
									want += int64(a[st*mr*4*k4+g*mr*4+ri*4+q]) * int64(b[g*nr*4+j*4+q])
								}
							}
							if add {
								want += int64(c0[i*ldc+j])
							}
							if got := c[i*ldc+j]; int64(got) != want {
								t.Fatalf("%s k4=%d rows=%d add=%v pf=%v: c[%d][%d] = %d, want %d", kn.i8name, k4, rows, add, pf, i, j, got, want)
							}
						}
						// Columns past nr belong to the neighbouring tile.
						for j := nr; j < ldc; j++ {
							if c[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("%s k4=%d rows=%d: wrote column %d of row %d", kn.i8name, k4, rows, j, i)
							}
						}
					}
				}
			}
		}
	}
}

// refLinearInt8 computes what int8 Linear must give, independently of the
// packing: per-row symmetric s8 weights, per-row asymmetric u8 inputs,
// exact integer sums, then the float32 dequantization Linear uses, bias,
// activation (float64) and residual.
func refLinearInt8(y, x, w, bias []float32, m, n, k int, act Activation, acc bool) []float64 {
	wq := make([]int64, n*k)
	sw := make([]float32, n)
	cs := make([]int64, n)
	for o := 0; o < n; o++ {
		var amax float64
		for _, v := range w[o*k : (o+1)*k] {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		s := amax / maxWeightI8
		sw[o] = float32(s)
		for p, v := range w[o*k : (o+1)*k] {
			q := 0.0
			if s > 0 {
				q = math.RoundToEven(float64(v) * (1 / s))
			}
			wq[o*k+p] = int64(q)
			cs[o] += int64(q)
		}
	}
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		row := x[i*k : (i+1)*k]
		lo, hi := float32(0), float32(0)
		for _, v := range row {
			lo, hi = min(lo, v), max(hi, v)
		}
		s := (float64(hi) - float64(lo)) / 255
		var inv float32
		var z int64
		if s > 0 {
			inv64 := 1 / s
			inv = float32(inv64)
			z = int64(math.RoundToEven(-float64(lo) * inv64))
		}
		for o := 0; o < n; o++ {
			var sum int64
			for p, v := range row {
				q := max(0, min(255, math.RoundToEven(float64(v*inv))+float64(z)))
				sum += int64(q) * wq[o*k+p]
			}
			v := float64(float32(sum-z*cs[o]) * (float32(s) * sw[o]))
			if bias != nil {
				v += float64(bias[o])
			}
			v = float64(activate(act, float32(v)))
			if acc {
				v += float64(y[i*n+o])
			}
			out[i*n+o] = v
		}
	}
	return out
}

// TestLinearInt8 checks int8 Linear, on every kernel set and shape edge
// (rows against the 4- and 8-row tiles, columns against 48-wide panels,
// depths not a multiple of 4 and across K blocks), against refLinearInt8,
// and its distance to the float32 result.
func TestLinearInt8(t *testing.T) {
	for _, kn := range int8Sets() {
		t.Run(kn.name+"/"+kn.i8name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			for _, workers := range []int{1, 3} {
				p := newPool(workers, kn)
				shapes := [][3]int{{1, 1, 1}, {3, 47, 5}, {5, 48, 8}, {8, 49, 13}, {9, 96, 64}, {13, 100, 513}, {50, 144, 768}, {97, 50, 1030}, {200, 20, 30}, {2*layoutI8.mc + 9, 50, 40}}
				for i, s := range shapes {
					m, n, k := s[0], s[1], s[2]
					act := Activation(i % 3)
					acc := i%2 == 0
					x := randSlice(r, m*k, 2)
					w := randSlice(r, n*k, 0.5)
					bias := randSlice(r, n, 1)
					y := randSlice(r, m*n, 3)
					y32 := append([]float32(nil), y...)
					want := refLinearInt8(y, x, w, bias, m, n, k, act, acc)
					mat, err := PackInt8(w, n, k)
					if err != nil {
						t.Fatal(err)
					}
					if !mat.IsInt8() {
						t.Fatal("PackInt8 matrix does not report IsInt8")
					}
					p.Linear(y, x, m, mat, Epilogue{Bias: bias, Act: act, Accumulate: acc})
					f32, _ := pack(w, n, k, kn.lay)
					p.Linear(y32, x, m, f32, Epilogue{Bias: bias, Act: act, Accumulate: acc})
					var num, den float64
					for i, v := range y {
						// Only the float32 dequantization and the epilogue
						// (a vectorised exp) round differently.
						if d := math.Abs(float64(v) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
							t.Fatalf("m=%d n=%d k=%d act=%d acc=%v: y[%d][%d]=%g want %g", m, n, k, act, acc, i/n, i%n, v, want[i])
						}
						d := float64(v - y32[i])
						num += d * d
						den += float64(y32[i]) * float64(y32[i])
					}
					// Uniform inputs over 256 levels: the error is a
					// fraction of a percent of the output.
					if rel := math.Sqrt(num / den); k > 4 && rel > 0.02 {
						t.Errorf("m=%d n=%d k=%d: int8 differs from float32 by %.3g (relative RMS)", m, n, k, rel)
					}
				}
				p.Close()
			}
		})
	}
}

// TestLinearInt8Degenerate checks rows of zeros (scale 0), constant rows,
// zero depth and a NaN weight.
func TestLinearInt8Degenerate(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	// A zero weight row (scale 0) and one that int8 holds exactly.
	w := []float32{0, 0, 0, 1, -1, 1}
	mat, err := PackInt8(w, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	// A zero row (scale 0) and constant rows, which hit the ends of 0..255.
	x := []float32{0, 0, 0, 5, 5, 5, -1, -1, -1}
	y := make([]float32, 6)
	p.Linear(y, x, 3, mat, Epilogue{Bias: []float32{1, 2}})
	for i, want := range []float32{1, 2, 1, 7, 1, 1} {
		if math.Abs(float64(y[i]-want)) > 1e-5 {
			t.Errorf("degenerate rows: %v, want [1 2 1 7 1 1]", y)
			break
		}
	}
	mat, err = PackInt8(nil, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	y = []float32{9, 9, 9}
	p.Linear(y, nil, 1, mat, Epilogue{Bias: []float32{1, 2, 3}})
	if fmt.Sprint(y) != "[1 2 3]" {
		t.Errorf("k=0 gives %v", y)
	}
	if _, err := PackInt8([]float32{1, float32(math.NaN())}, 1, 2); err == nil {
		t.Error("PackInt8 accepted a NaN weight")
	}
	if _, err := PackInt8(make([]float32, 5), 2, 3); err == nil {
		t.Error("PackInt8 accepted 5 values for 2x3")
	}
}

// TestQuantHelpers checks that every kernel set's int8 row helpers give
// exactly the portable results (so all sets quantize alike): on random rows
// of every tail length, on ties (which round to even), and on values that
// saturate or are NaN; and that the fused dequantizing epilogue is the
// set's epilogue of the dequantized values.
func TestQuantHelpers(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, kn := range kernelSets() {
		for _, n := range []int{1, 7, 8, 9, 16, 31, 768, 3072} {
			x := randSlice(r, n, 3)
			lo, hi := kn.minMax(x)
			wlo, whi := minMaxGo(x)
			if lo != wlo || hi != whi {
				t.Errorf("%s n=%d: minMax %g, %g, want %g, %g", kn.name, n, lo, hi, wlo, whi)
			}
			inv, z := float32(255/(hi-lo)), int32(r.IntN(256))
			for _, stride := range []int{4, 16} {
				groups := (n + 3) / 4
				got := make([]uint8, (groups-1)*stride+4)
				for i := range got {
					got[i] = 0xAA // between groups: must stay untouched
				}
				kn.quantRow(got, x, inv, z, stride)
				for i := range got {
					g, off := i/stride, i%stride
					want := uint8(0xAA)
					if off < 4 {
						want = 0 // padding past n
						if v := 4*g + off; v < n {
							want = quantValue(x[v], inv, z)
						}
					}
					if got[i] != want {
						t.Fatalf("%s n=%d stride=%d: byte %d is %d, want %d", kn.name, n, stride, i, got[i], want)
					}
				}
			}
			c, cs := make([]int32, n), make([]int32, n)
			for i := range c {
				c[i], cs[i] = int32(r.IntN(1<<24)-1<<23), int32(r.IntN(1<<16)-1<<15)
			}
			sw, bias := randSlice(r, n, 0.01), randSlice(r, n, 1)
			// epilogueI8 is the set's own epilogue on dequantGo's values,
			// bit for bit, for every activation, with or without bias and
			// accumulation.
			f := make([]float32, n)
			dequantGo(f, c, cs, sw, z, inv)
			for _, act := range []Activation{Identity, QuickGELU, GELU} {
				for _, b := range [][]float32{nil, bias} {
					for _, acc := range []bool{false, true} {
						got, want := randSlice(r, n, 1), make([]float32, n)
						copy(want, got)
						kn.epilogueI8(got, c, cs, sw, z, inv, b, act, acc)
						kn.epilogue(want, f, b, act, acc)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s n=%d act=%d bias=%v acc=%v: epilogueI8[%d] = %g, want %g", kn.name, n, act, b != nil, acc, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
		// Ties round to even; the ends saturate; NaN gives 0.
		x := []float32{0.25, 0.75, 1.25, -0.25, 200, -300, float32(math.NaN()), 127.5, 0}
		x = append(x, x[:7]...) // past 8, so the vector path sees them too
		got := make([]uint8, len(x))
		kn.quantRow(got, x, 2, 0, 4)
		want := []uint8{0, 2, 2, 0, 255, 0, 0, 255, 0, 0, 2, 2, 0, 255, 0, 0}
		if string(got) != string(want) {
			t.Errorf("%s: quantRow edge cases %v, want %v", kn.name, got, want)
		}
	}
}

// An int8 matrix in a layout the pool's kernel set does not read (packed
// for another set) falls back to the portable kernel, with the same exact
// integer sums, as the float32 path does.
func TestLinearInt8OtherLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 20, 70, 300
	x := randSlice(r, m*k, 2)
	w := randSlice(r, n*k, 0.5)
	p := NewPool(2)
	defer p.Close()
	mine, err := PackInt8(w, n, k)
	if err != nil {
		t.Fatal(err)
	}
	other, err := packInt8(w, n, k, layout{nr: 24, kc: 128, mc: 64})
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]float32, m*n), make([]float32, m*n)
	p.Linear(a, x, m, mine, Epilogue{})
	p.Linear(b, x, m, other, Epilogue{})
	if !slices.Equal(a, b) {
		t.Error("an int8 matrix in another layout gives other results")
	}
}

// PackInt8's weights stay within ±maxWeightI8, which the AVX2 kernel's
// exactness depends on, and each row's largest weight reaches it.
func TestPackInt8Range(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const out, in = 50, 70
	w := randSlice(r, out*in, 5)
	w[3] = -1e30 // a huge weight: its row is all but zero, never beyond
	m, err := PackInt8(w, out, in)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, v := range m.q.b {
		if v > maxWeightI8 || v < -maxWeightI8 {
			t.Fatalf("packed weight %d beyond ±%d", v, maxWeightI8)
		}
		if v == maxWeightI8 || v == -maxWeightI8 {
			hits++
		}
	}
	if hits < out {
		t.Errorf("%d weights at ±%d for %d rows: every row's largest should be", hits, maxWeightI8, out)
	}
}
