package index

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/clipretrieval"
	"github.com/goclip/goclip/npy"
)

const kit = "../testdata/kit"

func tinyModel(t *testing.T) *clip.Model {
	t.Helper()
	m, err := clip.Load(filepath.Join(kit, "models/tiny-synth"), clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func paths(t *testing.T, x *Index) []string {
	var out []string
	for i := range x.Len() {
		e, err := x.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Path)
	}
	return out
}

// bruteForce ranks every row by a float64 dot product of the widened
// float16 values.
func bruteForce(x *Index, q []float32) []int {
	type rs struct {
		row   int
		score float64
	}
	var all []rs
	for i := range x.Len() {
		var s float64
		for j, h := range x.Vector(i) {
			s += float64(q[j]) * float64(checkpoint.F16ToF32(h))
		}
		all = append(all, rs{i, s})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	out := make([]int, len(all))
	for i, r := range all {
		out[i] = r.row
	}
	return out
}

// Incremental builds: unchanged files are not embedded again, a changed
// one is, a deleted one leaves, a bad one is listed and left out; the
// vectors are the model's normalised embeddings in float16.
func TestBuildIncremental(t *testing.T) {
	m := tinyModel(t)
	dir := t.TempDir()
	for _, n := range []string{"chelsea.png", "coffee.png", "rocket.jpg", "sub/horse.png", "bad-text.png", ".hidden/astronaut.png"} {
		copyFile(t, filepath.Join(kit, "images", filepath.Base(n)), filepath.Join(dir, n))
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	path := filepath.Join(t.TempDir(), "photos.goclip")
	ctx := context.Background()
	st, err := Build(ctx, path, []string{dir}, BuildConfig{Encoder: m})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 4 || st.Images != 4 || len(st.Failures) != 1 || !st.Written {
		t.Fatalf("first build: %+v", st)
	}
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "chelsea.png"), filepath.Join(dir, "coffee.png"), filepath.Join(dir, "rocket.jpg"), filepath.Join(dir, "sub/horse.png")}
	if got := paths(t, x); !slices.Equal(got, want) {
		t.Fatalf("paths %v", got)
	}
	if x.Model() != m.Fingerprint() || x.Dim() != m.EmbedDim() || x.ModelRef() != "" {
		t.Fatalf("model %q dim %d ref %q", x.Model(), x.Dim(), x.ModelRef())
	}
	x.Close()

	// Nothing changed: nothing embedded, the file not rewritten.
	fi0, _ := os.Stat(path)
	st, err = Build(ctx, path, []string{dir}, BuildConfig{Encoder: m})
	if err != nil || st.Kept != 4 || st.Added+st.Updated+st.Removed != 0 || st.Written {
		t.Fatalf("unchanged build: %+v %v", st, err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(fi0.ModTime()) {
		t.Error("an unchanged build rewrote the index")
	}

	// Change one, delete one, add one.
	copyFile(t, filepath.Join(kit, "images/astronaut.png"), filepath.Join(dir, "coffee.png"))
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "coffee.png"), future, future)
	os.Remove(filepath.Join(dir, "rocket.jpg"))
	copyFile(t, filepath.Join(kit, "images/camera.png"), filepath.Join(dir, "camera.png"))
	st, err = Build(ctx, path, []string{dir}, BuildConfig{Encoder: m})
	if err != nil || st.Kept != 2 || st.Added != 1 || st.Updated != 1 || st.Removed != 1 || st.Images != 4 {
		t.Fatalf("changed build: %+v %v", st, err)
	}
	x, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	want = []string{filepath.Join(dir, "camera.png"), filepath.Join(dir, "chelsea.png"), filepath.Join(dir, "coffee.png"), filepath.Join(dir, "sub/horse.png")}
	if got := paths(t, x); !slices.Equal(got, want) {
		t.Fatalf("paths %v", got)
	}
	// coffee.png now holds the astronaut: its vector is the astronaut's.
	q, err := QueryVector(ctx, m, nil, []Term{{Weight: 1, Image: filepath.Join(kit, "images/astronaut.png")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ToF16(q); !slices.Equal(got, x.Vector(2)) {
		t.Error("the changed file's vector is not its new content's")
	}
	hits, err := x.Search(ctx, q, 2, 2)
	if err != nil || len(hits) != 2 || hits[0].Path != want[2] || hits[0].Score < 0.999 {
		t.Errorf("search by the astronaut: %+v %v", hits, err)
	}

	// The model's name is kept for searches (a rewrite with only a new
	// name rewrites the file).
	if st, err := Build(ctx, path, []string{dir}, BuildConfig{Encoder: m, ModelRef: "models/tiny"}); err != nil || !st.Written {
		t.Fatalf("build with a model name: %+v %v", st, err)
	}
	if y, err := Open(path); err != nil || y.ModelRef() != "models/tiny" {
		t.Fatalf("ModelRef: %v", err)
	} else {
		y.Close()
	}

	// Another model's index is refused.
	other := &fingerprinted{Model: m, fp: "another"}
	if _, err := Build(ctx, path, []string{dir}, BuildConfig{Encoder: other}); !errors.Is(err, ErrModel) {
		t.Errorf("another model: err = %v", err)
	}
	if err := x.CheckModel("another"); !errors.Is(err, ErrModel) {
		t.Errorf("CheckModel: %v", err)
	}
}

// A folder that cannot be looked into any more (here: it became a broken
// link, as an unmounted drive would) is reported, and its images stay in
// the index: not being able to see them is not their deletion.
func TestBuildUnlisted(t *testing.T) {
	m := tinyModel(t)
	dir := t.TempDir()
	for _, n := range []string{"chelsea.png", "sub/horse.png"} {
		copyFile(t, filepath.Join(kit, "images", filepath.Base(n)), filepath.Join(dir, n))
	}
	path := filepath.Join(t.TempDir(), "photos.goclip")
	ctx := context.Background()
	if st, err := Build(ctx, path, []string{dir}, BuildConfig{Encoder: m}); err != nil || st.Added != 2 {
		t.Fatalf("first build: %+v %v", st, err)
	}
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Rename(filepath.Join(dir, "sub"), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(moved, "gone"), filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	st, err := Build(ctx, path, []string{dir}, BuildConfig{Encoder: m})
	if err != nil || st.Removed != 0 || st.Images != 2 || len(st.Failures) != 1 ||
		st.Failures[0].Path != filepath.Join(dir, "sub") || !strings.Contains(st.Failures[0].Reason, "broken link") {
		t.Fatalf("build with sub/ unreachable: %+v %v", st, err)
	}
	// Reachable again and gone for real: now it leaves.
	os.Remove(filepath.Join(dir, "sub"))
	if st, err := Build(ctx, path, []string{dir}, BuildConfig{Encoder: m}); err != nil || st.Removed != 1 || st.Images != 1 || len(st.Failures) != 0 {
		t.Fatalf("build with sub/ deleted: %+v %v", st, err)
	}
}

type fingerprinted struct {
	*clip.Model
	fp string
}

func (f *fingerprinted) Fingerprint() string { return f.fp }

// Search ranks as a float64 brute force over the same vectors, on any
// number of threads, across chunk boundaries.
func TestSearchExact(t *testing.T) {
	const n, dim = 3*chunkRows + 123, 64
	r := rand.New(rand.NewPCG(1, 2))
	entries := make([]Entry, n)
	vecs := make([][]uint16, n)
	for i := range n {
		entries[i] = Entry{Path: filepath.Join("p", string(rune('a'+i%26)), time.Duration(i).String())}
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		vecs[i] = ToF16(clip.Normalize(v))
	}
	path := filepath.Join(t.TempDir(), "x.goclip")
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{e: entries[i], vec: vecs[i]}
	}
	x := writeIndex(t, path, dim, rows, 0)
	for trial := range 5 {
		q := make([]float32, dim)
		for j := range q {
			q[j] = float32(r.NormFloat64())
		}
		want := bruteForce(x, q)
		for _, threads := range []int{1, 2, 5} {
			hits, err := x.Search(context.Background(), q, 20, threads)
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range hits {
				if h.Row != want[i] {
					t.Fatalf("trial %d, %d threads: rank %d is row %d, brute force says %d", trial, threads, i, h.Row, want[i])
				}
				if e, _ := x.Entry(h.Row); e.Path != h.Path {
					t.Fatalf("hit path %s, entry %s", h.Path, e.Path)
				}
			}
		}
	}
	if hits, err := x.Search(context.Background(), make([]float32, dim+1), 3, 1); err == nil {
		t.Errorf("a query of the wrong length: %v", hits)
	}
}

// A foreign, truncated or damaged file is refused with ErrFormat and its name.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.goclip")
	if err := writeRows(context.Background(), good, "model", "", 8, []row{{e: Entry{Path: "a.jpg"}, vec: make([]uint16, 8)}}, 0); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	damaged := bytes.Clone(data)
	damaged[30] ^= 1
	cases := map[string][]byte{
		"empty":     nil,
		"foreign":   []byte("SQLite format 3\x00 and more bytes"),
		"truncated": data[:len(data)-1],
		"appended":  append(bytes.Clone(data), 0),
		"damaged":   damaged,
		"short":     data[:100],
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		_, err := Open(p)
		if !errors.Is(err, ErrFormat) || !bytes.Contains([]byte(err.Error()), []byte(p)) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if x, err := Open(good); err != nil || x.Len() != 1 {
		t.Fatalf("good: %v", err)
	} else {
		x.Close()
	}
}

// Import reads a clip-retrieval folder (float16 and float32) into an
// index, replacing entries of the same path.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	const dim = 16
	r := rand.New(rand.NewPCG(3, 4))
	var want [][]float32
	for s, dt := range []npy.DType{npy.Float16, npy.Float32} {
		rows := make([][]float32, 3)
		tb := clipretrieval.NewTable("image_path")
		for i := range rows {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(r.NormFloat64())
			}
			rows[i] = clip.Normalize(v)
			want = append(want, rows[i])
			tb.Add(map[string]any{"image_path": filepath.Join("img", string(rune('a'+3*s+i))+".jpg")})
		}
		var b bytes.Buffer
		npy.Write(&b, dt, dim, rows)
		os.MkdirAll(filepath.Join(dir, "img_emb"), 0o755)
		os.MkdirAll(filepath.Join(dir, "metadata"), 0o755)
		os.WriteFile(filepath.Join(dir, clipretrieval.EmbeddingsFile(s, 2)), b.Bytes(), 0o644)
		var m bytes.Buffer
		if err := tb.WriteParquet(&m); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, clipretrieval.MetadataFile(s, 2)), m.Bytes(), 0o644)
	}
	path := filepath.Join(t.TempDir(), "x.goclip")
	st, err := Import(context.Background(), path, dir, "model", "", dim, 0)
	if err != nil || st.Imported != 6 || st.Shards != 2 || st.Images != 6 {
		t.Fatalf("%+v %v", st, err)
	}
	st, err = Import(context.Background(), path, dir, "model", "", dim, 0)
	if err != nil || st.Replaced != 6 || st.Images != 6 {
		t.Fatalf("again: %+v %v", st, err)
	}
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i := range 6 {
		e, _ := x.Entry(i)
		if e.Path != filepath.Join("img", string(rune('a'+i))+".jpg") {
			t.Errorf("row %d: %s", i, e.Path)
		}
		for j, h := range x.Vector(i) {
			if d := math.Abs(float64(checkpoint.F16ToF32(h) - want[i][j])); d > 1e-3 {
				t.Fatalf("row %d [%d] off by %g", i, j, d)
			}
		}
	}
	if _, err := Import(context.Background(), path, dir, "other", "", dim, 0); !errors.Is(err, ErrModel) {
		t.Errorf("another model: %v", err)
	}
	if _, err := Import(context.Background(), filepath.Join(t.TempDir(), "y"), dir, "model", "", dim+1, 0); err == nil {
		t.Error("vectors of the wrong length imported")
	}
	os.Remove(filepath.Join(dir, clipretrieval.MetadataFile(1, 2)))
	if _, err := Import(context.Background(), filepath.Join(t.TempDir(), "z"), dir, "model", "", dim, 0); err == nil {
		t.Error("an embeddings file without metadata imported")
	}
}

func TestParseQuery(t *testing.T) {
	for q, want := range map[string][]Term{
		"a photo of a dog":               {{Weight: 1, Text: "a photo of a dog"}},
		`"a dog" + "snow" - "grass"`:     {{1, "a dog", ""}, {1, "snow", ""}, {-1, "grass", ""}},
		`"a red car" + 2*image:mine.jpg`: {{1, "a red car", ""}, {2, "", "mine.jpg"}},
		`0.5*"say \"hi\""`:               {{0.5, `say "hi"`, ""}},
		`image:a.jpg - "blur"`:           {{1, "", "a.jpg"}, {-1, "blur", ""}},
	} {
		got, err := ParseQuery(q)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %+v %v, want %+v", q, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", `"unclosed`, `"a" "b"`, `x*"a"`, `"a" + `, `""`, `"a" + image:`} {
		if _, err := ParseQuery(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// BenchmarkSearch1M searches 1,000,000 random 512-value float16 vectors
// (1 GiB, in a temporary index file) for one query, top 10, on
// GOMAXPROCS goroutines: bench/search_compare.sh puts it beside FAISS's
// IndexFlatIP on the same shape.
func BenchmarkSearch1M(b *testing.B) {
	const n, dim = 1_000_000, 512
	path := filepath.Join(b.TempDir(), "1m.goclip")
	r := rand.New(rand.NewPCG(1, 1))
	rows := make([]row, n)
	v := make([]float32, dim)
	for i := range rows {
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		rows[i] = row{e: Entry{Path: "img/" + strconv.Itoa(i) + ".jpg"}, vec: ToF16(clip.Normalize(v))}
	}
	x := writeIndex(b, path, dim, rows, 0)
	rows = nil
	q := make([]float32, dim)
	for j := range q {
		q[j] = float32(r.NormFloat64())
	}
	q = clip.Normalize(q)
	if _, err := x.Search(context.Background(), q, 10, 0); err != nil { // pages in
		b.Fatal(err)
	}
	b.SetBytes(int64(n) * dim * 2)
	b.ResetTimer()
	for b.Loop() {
		if _, err := x.Search(context.Background(), q, 10, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// The IVF holds every row once; SearchApprox with every list probed is
// Search; on clustered vectors (as embeddings of photos are) a few probes
// find nearly all of the true top 10.
func TestIVF(t *testing.T) {
	const clusters, per, dim = 100, 60, 64
	r := rand.New(rand.NewPCG(5, 6))
	var rows []row
	for c := range clusters {
		center := make([]float32, dim)
		for j := range center {
			center[j] = float32(r.NormFloat64())
		}
		for i := range per {
			v := make([]float32, dim)
			for j := range v {
				v[j] = center[j] + 0.35*float32(r.NormFloat64())
			}
			rows = append(rows, row{e: Entry{Path: strconv.Itoa(c*per + i)}, vec: ToF16(clip.Normalize(v))})
		}
	}
	n := len(rows)
	path := filepath.Join(t.TempDir(), "ivf.goclip")
	lists := AutoLists(n)
	x := writeIndex(t, path, dim, rows, lists)
	if x.Lists() != lists {
		t.Fatalf("%d lists, want %d", x.Lists(), lists)
	}
	seen := make([]bool, n)
	for c := range lists {
		for _, row := range x.ivf.list(c) {
			if seen[row] {
				t.Fatalf("row %d in two lists", row)
			}
			seen[row] = true
		}
	}
	if slices.Contains(seen, false) {
		t.Fatal("a row is in no list")
	}
	ctx := context.Background()
	found, total := 0, 0
	for range 50 {
		q := make([]float32, dim)
		src := x.Vector(r.IntN(n))
		for j := range q {
			q[j] = checkpoint.F16ToF32(src[j]) + 0.3*float32(r.NormFloat64())
		}
		exact, _ := x.Search(ctx, q, 10, 2)
		all, err := x.SearchApprox(ctx, q, 10, lists, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i := range exact {
			if all[i].Row != exact[i].Row {
				t.Fatalf("every list probed: rank %d is row %d, exact %d", i, all[i].Row, exact[i].Row)
			}
		}
		approx, _ := x.SearchApprox(ctx, q, 10, 8, 2)
		found += overlap(exact, approx)
		total += len(exact)
	}
	recall := float64(found) / float64(total)
	t.Logf("recall@10 with 8 of %d lists probed: %.3f", lists, recall)
	if recall < 0.9 {
		t.Errorf("recall@10 %.3f with 8 probes", recall)
	}
	// No IVF: SearchApprox says so.
	plain := filepath.Join(t.TempDir(), "plain.goclip")
	y := writeIndex(t, plain, dim, rows[:10], 0)
	if _, err := y.SearchApprox(ctx, make([]float32, dim), 3, 2, 1); err == nil {
		t.Error("approximate search without an IVF")
	}
}

// BenchmarkSearch1MIVF searches 1,000,000 vectors of 512 values through an
// IVF of AutoLists lists, probing 64, and reports its recall@10 against the
// exact search, and that of 256 probes. The vectors are clustered, as
// embeddings of photos are (20,000 centres, each vector a centre plus
// noise: cosine about 0.7 to its centre, 0.5 between two of a cluster),
// and the queries are noisy copies of rows. Recall depends on how tight
// the clusters are: with noise giving cosine 0.5 to the centre, 64 probes
// found 0.29 of the top 10; on uniformly random vectors, which have no
// clusters, 0.08.
func BenchmarkSearch1MIVF(b *testing.B) {
	const n, dim, nprobe, centres = 1_000_000, 512, 64, 20_000
	path := filepath.Join(b.TempDir(), "1m.goclip")
	r := rand.New(rand.NewPCG(1, 1))
	cs := make([][]float32, centres)
	for c := range cs {
		cs[c] = make([]float32, dim)
		for j := range cs[c] {
			cs[c][j] = float32(r.NormFloat64())
		}
	}
	rows := make([]row, n)
	v := make([]float32, dim)
	for i := range rows {
		c := cs[r.IntN(centres)]
		for j := range v {
			v[j] = c[j] + float32(r.NormFloat64())
		}
		rows[i] = row{e: Entry{Path: "img/" + strconv.Itoa(i) + ".jpg"}, vec: ToF16(clip.Normalize(v))}
	}
	x := writeIndex(b, path, dim, rows, AutoLists(n))
	rows = nil
	var qs [][]float32
	found, found256 := 0, 0
	for range 20 {
		src := x.Vector(r.IntN(n))
		q := make([]float32, dim)
		for j := range q {
			q[j] = checkpoint.F16ToF32(src[j]) + 0.03*float32(r.NormFloat64())
		}
		q = clip.Normalize(q)
		qs = append(qs, q)
		exact, _ := x.Search(context.Background(), q, 10, 0)
		approx, _ := x.SearchApprox(context.Background(), q, 10, nprobe, 0)
		approx256, _ := x.SearchApprox(context.Background(), q, 10, 256, 0)
		found += overlap(exact, approx)
		found256 += overlap(exact, approx256)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := x.SearchApprox(context.Background(), qs[i%len(qs)], 10, nprobe, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(found)/float64(10*len(qs)), "recall@10")
	b.ReportMetric(float64(found256)/float64(10*len(qs)), "recall@10/256probes")
}

// Combine weighs normalised embeddings, normalises the sum, and refuses
// terms that cancel out.
func TestCombine(t *testing.T) {
	v, err := Combine([]Term{{Weight: 1, Text: "a"}, {Weight: 2, Text: "b"}}, [][]float32{{3, 0}, {0, 5}})
	if err != nil || math.Abs(float64(v[0])-1/math.Sqrt(5)) > 1e-7 || math.Abs(float64(v[1])-2/math.Sqrt(5)) > 1e-7 {
		t.Errorf("%v %v", v, err)
	}
	if _, err := Combine([]Term{{Weight: 1, Text: "a"}, {Weight: -1, Text: "a"}}, [][]float32{{3, 4}, {3, 4}}); !errors.Is(err, ErrTermsCancel) {
		t.Errorf("cancelling terms: %v", err)
	}
	if _, err := Combine([]Term{{Weight: 1, Text: "a"}}, nil); err == nil {
		t.Error("no embeddings: no error")
	}
}

// writeIndex writes rows as an index (with an IVF of lists lists, 0: none)
// and opens it; it is closed when the test ends.
func writeIndex(tb testing.TB, path string, dim int, rows []row, lists int) *Index {
	tb.Helper()
	if err := writeRows(context.Background(), path, "model", "", dim, rows, lists); err != nil {
		tb.Fatal(err)
	}
	x, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}

// overlap counts the hits of approx that are among those of exact.
func overlap(exact, approx []Hit) int {
	want := map[int]bool{}
	for _, h := range exact {
		want[h.Row] = true
	}
	n := 0
	for _, h := range approx {
		if want[h.Row] {
			n++
		}
	}
	return n
}
