package imageproc

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// pilExpect is testdata/pil/expect.json.gz, written by testdata/gen_pil.py
// with PIL 9.4: what Image.open(f).convert("RGB") and Image.resize return.
type pilExpect struct {
	Decode map[string]struct {
		W, H int
		Mode string
		RGB  []byte
	}
	Resize []struct {
		Src    string
		Filter Filter
		W, H   int
		RGB    []byte
	}
}

func loadPILExpect(t *testing.T) *pilExpect {
	var e pilExpect
	loadGzipJSON(t, filepath.Join("testdata", "pil", "expect.json.gz"), &e)
	return &e
}

func loadGzipJSON(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// compareRGB describes how got differs from want ("" if identical).
func compareRGB(got *RGB, w, h int, want []byte) string {
	if got.W != w || got.H != h {
		return fmt.Sprintf("size %dx%d, want %dx%d", got.W, got.H, w, h)
	}
	n, maxd, first := 0, 0, -1
	for i := range want {
		d := int(got.Pix[i]) - int(want[i])
		if d != 0 {
			if first < 0 {
				first = i
			}
			n++
			maxd = max(maxd, d, -d)
		}
	}
	if n == 0 {
		return ""
	}
	p := first / 3
	return fmt.Sprintf("%d of %d bytes differ (max %d levels); first at (%d,%d) channel %d: got %d, want %d",
		n, len(want), maxd, p%w, p/w, first%3, got.Pix[first], want[first])
}

func TestDecodeMatchesPIL(t *testing.T) {
	e := loadPILExpect(t)
	names := make([]string, 0, len(e.Decode))
	for name := range e.Decode {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want := e.Decode[name]
		img, err := DecodeFile(filepath.Join("testdata", "pil", name), Limits{})
		if err != nil {
			t.Errorf("%s (PIL mode %s): %v", name, want.Mode, err)
			continue
		}
		if msg := compareRGB(img, want.W, want.H, want.RGB); msg != "" {
			if strings.HasSuffix(name, ".jpg") {
				t.Logf("%s (PIL mode %s, lossy): %s", name, want.Mode, msg)
				continue
			}
			t.Errorf("%s (PIL mode %s): %s", name, want.Mode, msg)
		}
	}
}

func TestResizeMatchesPIL(t *testing.T) {
	e := loadPILExpect(t)
	srcs := map[string]*RGB{}
	for _, c := range e.Resize {
		src := srcs[c.Src]
		if src == nil {
			var err error
			src, err = DecodeFile(filepath.Join("testdata", "pil", c.Src), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			srcs[c.Src] = src
		}
		got, err := Resize(src, c.W, c.H, c.Filter)
		if err != nil {
			t.Errorf("%s %dx%d -> %dx%d %v: %v", c.Src, src.W, src.H, c.W, c.H, c.Filter, err)
			continue
		}
		if msg := compareRGB(got, c.W, c.H, c.RGB); msg != "" {
			t.Errorf("%s %dx%d -> %dx%d %v: %s", c.Src, src.W, src.H, c.W, c.H, c.Filter, msg)
		}
	}
}
