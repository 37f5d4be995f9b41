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

func TestGoldenPixels(t *testing.T) {
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
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-28s %10s %10s %8s %8s\n", "image", "max|Δ|", "mean|Δ|", "max lvl", "≠ vals")
	for _, name := range names {
		want := golden[name]
		img, err := DecodeFile(filepath.Join(kitDir, "images", name), Options{})
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
		var maxd, sum float64
		diff := 0
		for i, v := range got {
			d := math.Abs(float64(v) - float64(want.data[i]))
			sum += d
			maxd = max(maxd, d)
			if d > 1e-6 {
				diff++
			}
		}
		mean := sum / float64(len(got))
		// A level is 1/255/std ≈ 0.0146; report the difference in levels.
		fmt.Fprintf(&table, "%-28s %10.3g %10.3g %8.1f %8d\n", name, maxd, mean, maxd*0.26862954*255, diff)
		if lossy(name) {
			if maxd > 0.5 || mean > 0.02 {
				t.Errorf("%s: max |Δ| %.3g, mean %.3g: beyond what decoder differences explain", name, maxd, mean)
			}
		} else if maxd > 1e-6 {
			t.Errorf("%s: max |Δ| %.3g (%d values differ), want ≤ 1e-6", name, maxd, diff)
		}
	}
	t.Log(table.String())
}
