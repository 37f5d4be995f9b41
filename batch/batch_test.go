package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goclip/goclip/imageproc"
)

const kit = "../testdata/kit/images"

// fakeEncoder embeds a preprocessed image as (sum, first value, length)
// and counts its calls: enough to tell images apart and check order.
type fakeEncoder struct {
	mu     sync.Mutex
	calls  int
	images int
	fail   error
}

func (f *fakeEncoder) EncodeImages(ctx context.Context, px [][]float32) ([][]float32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.calls++
	f.images += len(px)
	out := make([][]float32, len(px))
	for i, p := range px {
		var s float32
		for _, v := range p {
			s += v
		}
		out[i] = []float32{s, p[0], float32(len(p))}
	}
	return out, nil
}

func (f *fakeEncoder) EncodeTexts(ctx context.Context, t []string) ([][]float32, error) {
	return nil, errors.New("no text")
}
func (f *fakeEncoder) ImageConfig() imageproc.Config { return imageproc.DefaultConfig() }
func (f *fakeEncoder) LogitScale() float32           { return 100 }
func (f *fakeEncoder) EmbedDim() int                 { return 3 }
func (f *fakeEncoder) Fingerprint() string           { return "fake" }

// mapCache is an in-memory Cache.
type mapCache struct {
	mu      sync.Mutex
	m       map[string][]float32
	puts    int
	getErr  error
	putErr  error
	lookups int
}

func (c *mapCache) GetImage(model, key string) ([]float32, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	if c.getErr != nil {
		return nil, false, c.getErr
	}
	v, ok := c.m[model+"/"+key]
	return v, ok, nil
}

func (c *mapCache) PutImages(model string, e map[string][]float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.putErr != nil {
		return c.putErr
	}
	if c.m == nil {
		c.m = map[string][]float32{}
	}
	for k, v := range e {
		c.m[model+"/"+k] = v
	}
	c.puts++
	return nil
}

// want embeds one file the slow, obvious way.
func want(t *testing.T, path string) []float32 {
	t.Helper()
	img, err := imageproc.DecodeFile(path, imageproc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	px, err := imageproc.DefaultConfig().Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := (&fakeEncoder{}).EncodeImages(context.Background(), [][]float32{px})
	return out[0]
}

func collect(t *testing.T, cfg Config, src []Source) ([]Result, Stats) {
	t.Helper()
	var got []Result
	st, err := Embed(context.Background(), cfg, src, func(r Result) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestEmbedOrderAndErrors(t *testing.T) {
	names := []string{"chelsea.png", "bad-text.png", "coffee_444.jpg", "bad-truncated.jpg", "rocket.jpg", "no-such-file.jpg", "chelsea_lossy.webp"}
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(kit, n))
	}
	enc := &fakeEncoder{}
	for _, workers := range []int{1, 3} {
		got, st := collect(t, Config{Encoder: enc, Workers: workers, Batch: 2}, Files(paths))
		if len(got) != len(paths) {
			t.Fatalf("%d results for %d sources", len(got), len(paths))
		}
		for i, r := range got {
			if r.Index != i || r.Name != paths[i] {
				t.Fatalf("result %d is %d %s: not in input order", i, r.Index, r.Name)
			}
			bad := strings.HasPrefix(names[i], "bad-") || strings.HasPrefix(names[i], "no-such")
			if bad {
				if r.Err == nil || !strings.Contains(r.Err.Error(), paths[i]) {
					t.Errorf("%s: err = %v, want an error naming the file", names[i], r.Err)
				}
				continue
			}
			if r.Err != nil {
				t.Fatalf("%s: %v", names[i], r.Err)
			}
			if !slices.Equal(r.Embedding, want(t, paths[i])) {
				t.Errorf("%s: embedding %v, want %v", names[i], r.Embedding, want(t, paths[i]))
			}
		}
		if st.Images != 7 || st.Failed != 3 || st.Encoded != 4 || st.CacheHits != 0 {
			t.Errorf("stats %+v", st)
		}
	}
}

// In-memory sources give the same results as files; the cache answers
// a second run without decoding or encoding.
func TestEmbedBytesAndCache(t *testing.T) {
	paths := []string{filepath.Join(kit, "chelsea.png"), filepath.Join(kit, "coffee.png"), filepath.Join(kit, "horse.png")}
	p, err := imageproc.NewPipeline(imageproc.DefaultConfig(), imageproc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var mem []Source
	for _, path := range paths {
		in, err := p.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		mem = append(mem, Source{Name: "mem:" + filepath.Base(path), Data: in.Data})
	}
	c := &mapCache{}
	enc := &fakeEncoder{}
	first, st := collect(t, Config{Encoder: enc, Cache: c, Batch: 2}, mem)
	// Batches wait to fill, however slowly images decode: 2 + 1.
	if st.Encoded != 3 || c.puts != 2 {
		t.Errorf("first run: %+v, %d cache commits; want 3 encoded in 2 batches", st, c.puts)
	}
	calls := enc.calls
	second, st := collect(t, Config{Encoder: enc, Cache: c}, Files(paths))
	if st.CacheHits != 3 || st.Encoded != 0 || enc.calls != calls {
		t.Errorf("second run: %+v, %d encoder calls; want 3 hits and no call", st, enc.calls-calls)
	}
	for i := range first {
		if !second[i].Cached || !slices.Equal(first[i].Embedding, second[i].Embedding) || first[i].Key != second[i].Key {
			t.Errorf("%s: cached %+v, first %+v", paths[i], second[i], first[i])
		}
	}
}

// Many sources, most cached, in a small window: the run neither stalls
// (a partial batch is encoded once the window is full of results waiting
// behind it) nor reorders.
func TestEmbedWindowWithHits(t *testing.T) {
	hit, miss := filepath.Join(kit, "chelsea.png"), filepath.Join(kit, "coffee.png")
	c := &mapCache{}
	enc := &fakeEncoder{}
	collect(t, Config{Encoder: enc, Cache: c}, Files([]string{hit}))
	var paths []string
	for i := range 300 {
		if i%97 == 0 {
			paths = append(paths, miss)
		} else {
			paths = append(paths, hit)
		}
	}
	got, st := collect(t, Config{Encoder: enc, Cache: c, Workers: 2, Batch: 16}, Files(paths))
	for i, r := range got {
		if r.Index != i {
			t.Fatalf("result %d has index %d", i, r.Index)
		}
	}
	// The first miss is encoded alone (it waits behind no other), later
	// ones are hits of the entry it wrote or share batches.
	if st.Images != 300 || st.Encoded+st.CacheHits != 300 || st.Encoded == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEmbedStops(t *testing.T) {
	paths := Files([]string{filepath.Join(kit, "chelsea.png"), filepath.Join(kit, "coffee.png"), filepath.Join(kit, "rocket.jpg")})
	boom := errors.New("boom")

	_, err := Embed(context.Background(), Config{Encoder: &fakeEncoder{fail: boom}}, paths, func(Result) error { return nil })
	if !errors.Is(err, boom) {
		t.Errorf("encoder failure: err = %v", err)
	}
	_, err = Embed(context.Background(), Config{Encoder: &fakeEncoder{}, Cache: &mapCache{putErr: boom}}, paths, func(Result) error { return nil })
	if !errors.Is(err, boom) { // the cache's own errors name the cache file
		t.Errorf("cache write failure: err = %v", err)
	}
	_, err = Embed(context.Background(), Config{Encoder: &fakeEncoder{}, Cache: &mapCache{getErr: boom}}, paths, func(Result) error { return nil })
	if !errors.Is(err, boom) {
		t.Errorf("cache read failure: err = %v", err)
	}
	n := 0
	_, err = Embed(context.Background(), Config{Encoder: &fakeEncoder{}, Batch: 1}, paths, func(Result) error {
		n++
		return boom
	})
	if !errors.Is(err, boom) || n != 1 {
		t.Errorf("emit failure: err = %v after %d calls, want boom after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Embed(ctx, Config{Encoder: &fakeEncoder{}}, paths, func(Result) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	// A cancelled run keeps what it committed: the first batch is in the
	// cache when emit stops the run at the second image.
	c := &mapCache{}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	_, err = Embed(ctx, Config{Encoder: &fakeEncoder{}, Cache: c, Batch: 1, Workers: 1}, paths, func(r Result) error {
		if r.Index == 1 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || c.puts < 2 {
		t.Errorf("cancel after two images: err = %v, %d batches committed", err, c.puts)
	}
}

func ExampleEmbed() {
	enc := &fakeEncoder{} // a *clip.Model in real use
	sources := Files([]string{"../testdata/kit/images/chelsea.png", "../testdata/kit/images/bad-text.png"})
	_, err := Embed(context.Background(), Config{Encoder: enc}, sources, func(r Result) error {
		if r.Err != nil {
			fmt.Println("unreadable:", filepath.Base(r.Name))
			return nil
		}
		fmt.Printf("%s: %d values\n", filepath.Base(r.Name), len(r.Embedding))
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// chelsea.png: 3 values
	// unreadable: bad-text.png
}

// A batch waits for its images however slowly they decode (one worker
// here): four images, batch 4, one encoder call.
func TestEmbedBatchesFill(t *testing.T) {
	var paths []string
	for _, n := range []string{"astronaut.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg"} {
		paths = append(paths, filepath.Join(kit, n))
	}
	enc := &fakeEncoder{}
	if _, st := collect(t, Config{Encoder: enc, Workers: 1, Batch: 4}, Files(paths)); st.Encoded != 4 || enc.calls != 1 {
		t.Errorf("%+v in %d encoder calls, want 4 in 1", st, enc.calls)
	}
}

// EmbedSeq pulls sources one at a time, never more than the window ahead
// of what was emitted, and gives the same results as Embed; Open sources
// read through it, and its errors name the source.
func TestEmbedSeqStreams(t *testing.T) {
	const n = 200
	path := filepath.Join(kit, "coffee_444.jpg")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	yielded, emitted, ahead := 0, 0, 0
	seq := func(yield func(Source) bool) {
		for i := range n {
			src := Source{Name: fmt.Sprintf("img%d", i), Data: data}
			switch {
			case i%10 == 2:
				src.Data, src.Open = nil, func() (io.ReadCloser, error) { return nil, errors.New("gone") }
			case i%3 == 1:
				src.Data, src.Open = nil, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			}
			mu.Lock()
			yielded++
			ahead = max(ahead, yielded-emitted)
			mu.Unlock()
			if !yield(src) {
				return
			}
		}
	}
	w := want(t, path)
	cfg := Config{Encoder: &fakeEncoder{}, Workers: 2, Batch: 4}
	st, err := EmbedSeq(context.Background(), cfg, seq, func(r Result) error {
		mu.Lock()
		if r.Index != emitted {
			t.Errorf("result %d at position %d", r.Index, emitted)
		}
		emitted++
		mu.Unlock()
		if r.Index%10 == 2 {
			if r.Err == nil || !strings.Contains(r.Err.Error(), r.Name) || !strings.Contains(r.Err.Error(), "gone") {
				t.Errorf("%s: err = %v", r.Name, r.Err)
			}
			return nil
		}
		if r.Err != nil || !slices.Equal(r.Embedding, w) {
			t.Errorf("%s: %v %v", r.Name, r.Err, r.Embedding)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Images != n || emitted != n || st.Failed != n/10 {
		t.Errorf("stats %+v, %d emitted", st, emitted)
	}
	// The window is max(4·batch, 2·workers) = 16 sources, plus the one the
	// feed holds while it waits for a slot.
	if ahead > 17 {
		t.Errorf("the sequence ran %d sources ahead of the results", ahead)
	}
	// An empty sequence ends at once.
	if st, err := EmbedSeq(context.Background(), cfg, func(func(Source) bool) {}, func(Result) error { return nil }); err != nil || st.Images != 0 {
		t.Errorf("empty: %+v %v", st, err)
	}
}
