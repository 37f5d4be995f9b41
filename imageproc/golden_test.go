package imageproc

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const kitDir = "../testdata/kit"

// tensor is one float32 tensor of a safetensors file.
type tensor struct {
	shape []int
	data  []float32
}

// readSafetensors reads a safetensors file holding F32 tensors: an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets}}, then the data. (A minimal reader, so that this package's
// tests do not depend on the model loader.)
func readSafetensors(t testing.TB, path string) map[string]tensor {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 8 {
		t.Fatalf("%s: too short", path)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n > uint64(len(raw)-8) {
		t.Fatalf("%s: header length %d", path, n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	body := raw[8+n:]
	out := map[string]tensor{}
	for name, m := range header {
		if name == "__metadata__" {
			continue
		}
		var meta struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(m, &meta); err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		if meta.Dtype != "F32" {
			t.Fatalf("%s: %s: dtype %s", path, name, meta.Dtype)
		}
		b := body[meta.Offsets[0]:meta.Offsets[1]]
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = tensor{meta.Shape, v}
	}
	return out
}

// lossy reports whether a kit image is compressed lossily, so that our
// decoder may legitimately differ from PIL's (libjpeg-turbo, libwebp).
func lossy(name string) bool {
	return strings.HasSuffix(name, ".jpg") || strings.HasSuffix(name, "_lossy.webp")
}

// diffStats compares preprocessed pixels with the golden ones: the largest
// and mean absolute difference, the largest difference in 8-bit levels
// (|Δ|·std·255 for the value's channel), and how many values differ.
type diffStats struct {
	max, mean, maxLevels float64
	n                    int
}

func compareGolden(got, want []float32) diffStats {
	var s diffStats
	plane := len(want) / 3
	sum := 0.0
	for i, v := range got {
		d := math.Abs(float64(v) - float64(want[i]))
		sum += d
		s.max = max(s.max, d)
		s.maxLevels = max(s.maxLevels, d*clipStd[i/plane]*255)
		if d > 1e-6 {
			s.n++
		}
	}
	s.mean = sum / float64(len(got))
	return s
}

// goldenTable preprocesses the kit images that only accepts, decoded with
// decode, and compares them with golden/pixels.safetensors. It returns a
// printable table and the statistics per image.
func goldenTable(t *testing.T, only func(name string) bool, decode func(path string) (*RGB, error)) (string, map[string]diffStats) {
	golden := readSafetensors(t, filepath.Join(kitDir, "golden", "pixels.safetensors"))
	names := make([]string, 0, len(golden))
	for name := range golden {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != 29 {
		t.Errorf("golden has %d images, want 29", len(names))
	}
	cfg := DefaultConfig()
	stats := map[string]diffStats{}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-26s %9s %9s %7s %7s\n", "image", "max|Δ|", "mean|Δ|", "levels", "≠")
	for _, name := range names {
		if !only(name) {
			continue
		}
		want := golden[name]
		img, err := decode(filepath.Join(kitDir, "images", name))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		got, err := cfg.Preprocess(img)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(want.data) {
			t.Errorf("%s: %d values, want %d", name, len(got), len(want.data))
			continue
		}
		s := compareGolden(got, want.data)
		stats[name] = s
		fmt.Fprintf(&table, "%-26s %9.3g %9.3g %7.2f %7d\n", name, s.max, s.mean, s.maxLevels, s.n)
	}
	return table.String(), stats
}

func TestGoldenPixels(t *testing.T) {
	all := func(string) bool { return true }
	table, stats := goldenTable(t, all, func(path string) (*RGB, error) { return DecodeFile(path, Options{}) })
	t.Log(table)
	for name, s := range stats {
		// The JPEG decoder reproduces libjpeg-turbo and the WebP conversion
		// libwebp, so every kit image is expected bit-exact after resizing;
		// the bound for lossy files only guards against gross errors should
		// the JPEG decoder be swapped (see TestStdlibJPEGFallback).
		limit := 1e-6
		if lossy(name) && !exactJPEG {
			limit = 0.5
		}
		if s.max > limit {
			t.Errorf("%s: max |Δ| %.3g (%d values differ), want ≤ %g", name, s.max, s.n, limit)
		}
	}
}
