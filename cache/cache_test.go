package cache

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// testVector derives a vector from key deterministically (xorshift seeded
// by FNV-1a), so a reader can check an entry byte for byte without knowing
// who wrote it.
func testVector(key string, dim int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(key))
	s := h.Sum64() | 1
	v := make([]float32, dim)
	for i := range v {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		v[i] = float32(int32(s>>32)) / (1 << 31)
	}
	return v
}

// sameBits reports whether a and b are bit-for-bit equal.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func openTemp(t *testing.T) (*Cache, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "dir", DefaultFile)
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func TestRoundTrip(t *testing.T) {
	c, path := openTemp(t)
	model := "model-config-weights"
	imgs := map[string][]float32{}
	var keys []string
	for i := range 16 {
		k := fmt.Sprintf("%064x", i)
		keys = append(keys, k)
		imgs[k] = testVector(k, 512)
	}
	if err := c.PutImages(model, imgs); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a very long prompt ", 100)
	texts := map[string][]float32{"a photo of a cat": testVector("cat", 512), "": testVector("empty", 512), long: testVector("long", 512)}
	if err := c.PutTexts(model, texts); err != nil {
		t.Fatal(err)
	}
	// Survives a reopen, including read-only.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		c, err := Open(path, Options{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			v, ok, err := c.GetImage(model, k)
			if err != nil || !ok || !sameBits(v, imgs[k]) {
				t.Fatalf("GetImage(%s) = ok %v, err %v, equal %v", k, ok, err, sameBits(v, imgs[k]))
			}
		}
		vs, err := c.GetImages(model, append([]string{"missing"}, keys...))
		if err != nil {
			t.Fatal(err)
		}
		if vs[0] != nil {
			t.Error("GetImages returned a vector for a missing key")
		}
		for i, k := range keys {
			if !sameBits(vs[i+1], imgs[k]) {
				t.Errorf("GetImages[%d] differs", i+1)
			}
		}
		for text, want := range texts {
			v, ok, err := c.GetText(model, text)
			if err != nil || !ok || !sameBits(v, want) {
				t.Errorf("GetText(%.20q) = ok %v, err %v", text, ok, err)
			}
		}
		if _, ok, _ := c.GetText(model, long+"x"); ok {
			t.Error("a longer text hit the long text's entry")
		}
		got := c.Counters()
		if want := (Counters{Hits: 32 + 3, Misses: 2}); got != want {
			t.Errorf("Counters = %+v, want %+v", got, want)
		}
		c.Close()
	}
}

func TestMisses(t *testing.T) {
	c, _ := openTemp(t)
	if v, ok, err := c.GetImage("m", "k"); v != nil || ok || err != nil {
		t.Errorf("empty cache: GetImage = %v, %v, %v", v, ok, err)
	}
	if vs, err := c.GetTexts("m", []string{"a", "b"}); err != nil || len(vs) != 2 || vs[0] != nil || vs[1] != nil {
		t.Errorf("empty cache: GetTexts = %v, %v", vs, err)
	}
	if err := c.PutImages("m", map[string][]float32{"k": {1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.GetImage("m", "k2"); ok {
		t.Error("hit for an absent key")
	}
	// Read-only open of a file that does not exist is an error, and
	// creates nothing.
	missing := filepath.Join(t.TempDir(), "none", "x.db")
	if _, err := Open(missing, Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open of a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Error("read-only open created a directory")
	}
}

func TestModelAndKindIsolation(t *testing.T) {
	c, _ := openTemp(t)
	a, b := "model-a", "model-b"
	if err := c.PutImages(a, map[string][]float32{"k": {1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.GetImage(b, "k"); ok {
		t.Error("model b sees model a's image")
	}
	if _, ok, _ := c.GetText(a, "k"); ok {
		t.Error("a text sees an image with the same key")
	}
	if err := c.PutImages(b, map[string][]float32{"k": {4, 5}}); err != nil {
		t.Fatal(err)
	}
	va, _, _ := c.GetImage(a, "k")
	vb, _, _ := c.GetImage(b, "k")
	if !sameBits(va, []float32{1, 2, 3}) || !sameBits(vb, []float32{4, 5}) {
		t.Errorf("got a=%v b=%v", va, vb)
	}
}

func TestInvalidInput(t *testing.T) {
	c, _ := openTemp(t)
	for name, err := range map[string]error{
		"empty model":    c.PutImages("", map[string][]float32{"k": {1}}),
		"long model":     c.PutImages(strings.Repeat("m", 2000), map[string][]float32{"k": {1}}),
		"empty key":      c.PutImages("m", map[string][]float32{"": {1}}),
		"empty vector":   c.PutImages("m", map[string][]float32{"k": {}}),
		"NaN":            c.PutTexts("m", map[string][]float32{"k": {1, float32(math.NaN())}}),
		"Inf":            c.PutTexts("m", map[string][]float32{"k": {float32(math.Inf(-1))}}),
		"get empty key":  func() error { _, _, err := c.GetImage("m", ""); return err }(),
		"get bad model":  func() error { _, err := c.GetTexts("", []string{"x"}); return err }(),
		"delete nothing": func() error { _, err := c.DeleteModel(""); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A batch with one bad vector stores nothing.
	if err := c.PutImages("m", map[string][]float32{"good": {1}, "bad": {float32(math.NaN())}}); err == nil {
		t.Error("bad batch accepted")
	}
	if _, ok, _ := c.GetImage("m", "good"); ok {
		t.Error("part of a refused batch was stored")
	}
	if err := c.PutImages("m", nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	c, path := openTemp(t)
	c.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.PutImages("m", map[string][]float32{"k": {1}}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("PutImages on a read-only cache: %v", err)
	}
	if _, err := ro.Prune(nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Prune on a read-only cache: %v", err)
	}
}

func TestStatsDeletePrune(t *testing.T) {
	c, path := openTemp(t)
	for i, m := range []string{"m1", "m2", "m3"} {
		imgs := map[string][]float32{}
		for j := range i + 1 {
			imgs[fmt.Sprint(j)] = []float32{1}
		}
		if err := c.PutImages(m, imgs); err != nil {
			t.Fatal(err)
		}
		if err := c.PutTexts(m, map[string][]float32{"t": {1}}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if s.Path != path || s.FileSize != fi.Size() || s.FileSize == 0 {
		t.Errorf("Stats path %q size %d, file size %d", s.Path, s.FileSize, fi.Size())
	}
	want := []ModelStats{{"m1", 1, 1}, {"m2", 2, 1}, {"m3", 3, 1}}
	if fmt.Sprint(s.Models) != fmt.Sprint(want) {
		t.Errorf("Stats.Models = %v, want %v", s.Models, want)
	}
	if ok, err := c.DeleteModel("m2"); !ok || err != nil {
		t.Errorf("DeleteModel(m2) = %v, %v", ok, err)
	}
	if ok, err := c.DeleteModel("m2"); ok || err != nil {
		t.Errorf("second DeleteModel(m2) = %v, %v", ok, err)
	}
	removed, err := c.Prune([]string{"m3", "other"})
	if err != nil || fmt.Sprint(removed) != "[m1]" {
		t.Errorf("Prune = %v, %v", removed, err)
	}
	s, _ = c.Stats()
	if fmt.Sprint(s.Models) != fmt.Sprint([]ModelStats{{"m3", 3, 1}}) {
		t.Errorf("after prune: %v", s.Models)
	}
	if _, ok, _ := c.GetImage("m1", "0"); ok {
		t.Error("pruned model still answers")
	}
}

// rawUpdate edits a closed cache file with bbolt directly.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptValueIsMiss(t *testing.T) {
	c, path := openTemp(t)
	good := testVector("x", 8)
	keys := []string{"short", "version", "dim", "payload", "checksum", "ok"}
	batch := map[string][]float32{}
	for _, k := range keys {
		batch[k] = good
	}
	if err := c.PutImages("m", batch); err != nil {
		t.Fatal(err)
	}
	c.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(modelsBucket).Bucket([]byte("m")).Bucket([]byte(Image))
		edit := func(k string, f func([]byte) []byte) {
			v := append([]byte(nil), b.Get([]byte(k))...)
			if err := b.Put([]byte(k), f(v)); err != nil {
				t.Fatal(err)
			}
		}
		edit("short", func(v []byte) []byte { return v[:5] })
		edit("version", func(v []byte) []byte { v[0] = 9; return v })
		edit("dim", func(v []byte) []byte { v[1]++; return v })
		edit("payload", func(v []byte) []byte { return v[:len(v)-4] })
		edit("checksum", func(v []byte) []byte { v[len(v)-1] ^= 1; return v })
		return nil
	})
	var reported []string
	c, err := Open(path, Options{OnCorrupt: func(e CorruptEntry) {
		if e.Model != "m" || e.Kind != Image || e.Err == nil {
			t.Errorf("bad report %+v", e)
		}
		reported = append(reported, e.Key)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	vs, err := c.GetImages("m", keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if (vs[i] != nil) != (k == "ok") {
			t.Errorf("%s: got %v", k, vs[i])
		}
	}
	if fmt.Sprint(reported) != fmt.Sprint(keys[:5]) {
		t.Errorf("reported %v", reported)
	}
	if got := c.Counters(); got != (Counters{Hits: 1, Misses: 5, Corrupt: 5}) {
		t.Errorf("Counters = %+v", got)
	}
	// A new Put repairs the entry.
	if err := c.PutImages("m", map[string][]float32{"checksum": good}); err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := c.GetImage("m", "checksum"); !ok || !sameBits(v, good) {
		t.Error("rewritten entry not readable")
	}
}

// checkRefused checks that opening path fails with ErrCorrupt, names the
// file, suggests deleting it, and leaves its bytes alone.
func checkRefused(t *testing.T, path string) {
	t.Helper()
	before, _ := os.ReadFile(path)
	for _, ro := range []bool{false, true} {
		c, err := Open(path, Options{ReadOnly: ro})
		if err == nil {
			c.Close()
			t.Fatalf("read-only %v: opened", ro)
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), "delete the file") || !strings.Contains(err.Error(), "--no-cache") {
			t.Errorf("read-only %v: error %q", ro, err)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the refused file was modified")
	}
}

func TestBadFileRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pattern := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + i>>8)
		}
		return b
	}
	t.Run("text", func(t *testing.T) { checkRefused(t, write("text.db", []byte("not a database\n"))) })
	// One page: bbolt would map its second meta page past the end of the file.
	t.Run("one page", func(t *testing.T) { checkRefused(t, write("page.db", pattern(4096))) })
	t.Run("garbage", func(t *testing.T) { checkRefused(t, write("garbage.db", pattern(1<<16))) })
	t.Run("other bbolt data", func(t *testing.T) {
		p := filepath.Join(dir, "other.db")
		rawUpdate(t, p, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err })
		checkRefused(t, p)
	})
	t.Run("future format", func(t *testing.T) {
		p := filepath.Join(dir, "future.db")
		c, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		rawUpdate(t, p, func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(formatKey, []byte("2")) })
		checkRefused(t, p)
	})
	t.Run("meta pages zeroed", func(t *testing.T) {
		p := filepath.Join(dir, "zeroed.db")
		c, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		c.PutImages("m", map[string][]float32{"k": {1}})
		c.Close()
		b, _ := os.ReadFile(p)
		clear(b[:2*os.Getpagesize()])
		checkRefused(t, write("zeroed.db", b))
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := Open(dir, Options{}); err == nil || errors.Is(err, ErrCorrupt) {
			t.Errorf("opening a directory: %v", err)
		}
	})
}

// TestTruncatedFile cuts a cache file at several lengths. Whatever the cut,
// the package must not crash: Open or a read fails with ErrCorrupt, or the
// reads that succeed return correct vectors.
func TestTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "full.db")
	c, err := Open(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for b := range 8 {
		batch := map[string][]float32{}
		for i := range 16 {
			k := fmt.Sprintf("b%d-%d", b, i)
			keys = append(keys, k)
			batch[k] = testVector(k, 512)
		}
		if err := c.PutImages("m", batch); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	full, _ := os.ReadFile(src)
	page := os.Getpagesize()
	damaged := map[string][]byte{}
	for _, n := range []int{page, 2 * page, 3 * page, 4 * page} {
		damaged[fmt.Sprint("cut at ", n)] = full[:n]
	}
	for i := 1; i < 16; i++ {
		n := len(full) * i / 16 / page * page
		damaged[fmt.Sprint("cut at ", n)] = full[:n]
		// Lost writes: a run of zero pages after the meta pages.
		z := bytes.Clone(full)
		clear(z[2*page : max(3*page, n)])
		damaged[fmt.Sprint("zeroed to ", n)] = z
	}
	for k := 2; k*page < len(full); k++ {
		// A garbled page header (flipped sector, bad RAM): bbolt trusts
		// page headers and runs off the end of a slice.
		g := bytes.Clone(full)
		for i := k*page + 8; i < k*page+72; i++ {
			g[i] = 0xff
		}
		damaged[fmt.Sprint("garbled page ", k)] = g
	}
	for name, b := range damaged {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Open(p, Options{ReadOnly: true})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: Open: %v", name, err)
			}
			if strings.Contains(err.Error(), "runtime error") || strings.Contains(err.Error(), "nil pointer") {
				t.Errorf("%s: Open: %v reads like a crash of goclip's", name, err)
			}
			t.Logf("%s of %d bytes: Open: %v", name, len(full), err)
			continue
		}
		vs, err := c.GetImages("m", keys)
		if err != nil && (strings.Contains(err.Error(), "runtime error") || strings.Contains(err.Error(), "nil pointer")) {
			t.Errorf("%s: GetImages: %v reads like a crash of goclip's", name, err)
		}
		switch {
		case err != nil && !errors.Is(err, ErrCorrupt):
			t.Errorf("%s: GetImages: %v", name, err)
		case err == nil:
			for i, v := range vs {
				if v != nil && !sameBits(v, testVector(keys[i], 512)) {
					t.Errorf("%s: wrong vector for %s", name, keys[i])
				}
			}
		}
		t.Logf("%s of %d bytes: read error %v", name, len(full), err)
		c.Close()
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	c, _ := openTemp(t)
	const workers, batches = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			model := fmt.Sprint("model", w%2)
			for b := range batches {
				batch := map[string][]float32{}
				var keys []string
				for i := range 4 {
					k := fmt.Sprintf("w%d-b%d-%d", w, b, i)
					keys = append(keys, k)
					batch[k] = testVector(k, 64)
				}
				if err := c.PutImages(model, batch); err != nil {
					errs <- err
					return
				}
				vs, err := c.GetImages(model, keys)
				if err != nil {
					errs <- err
					return
				}
				for i, v := range vs {
					if !sameBits(v, batch[keys[i]]) {
						errs <- fmt.Errorf("%s: read back a different vector", keys[i])
						return
					}
				}
				if _, err := c.Stats(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, _ := c.Stats()
	if len(s.Models) != 2 || s.Models[0].Images+s.Models[1].Images != workers*batches*4 {
		t.Errorf("Stats after concurrent writes: %+v", s.Models)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg-test")
	p, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/tmp/xdg-test", "goclip"); runtime.GOOS == "linux" && p != want {
		t.Errorf("DefaultDir = %s, want %s", p, want)
	}
}
