package imageproc

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goclip/goclip/checkpoint"
)

const kitDir = "../testdata/kit"

// tensor is one float32 tensor of a safetensors file.
type tensor struct {
	shape []int
	data  []float32
}

// readSafetensors reads a safetensors file holding F32 tensors, copying the
// values out so the file can be closed.
func readSafetensors(t testing.TB, path string) map[string]tensor {
	t.Helper()
	st, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]tensor{}
	for _, name := range st.Names() {
		tn, _ := st.Tensor(name)
		if tn.DType != checkpoint.F32 {
			t.Fatalf("%s: %s: dtype %s", path, name, tn.DType)
		}
		v, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tensor{tn.Shape, append([]float32(nil), v...)}
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
	table, stats := goldenTable(t, all, func(path string) (*RGB, error) { return DecodeFile(path, Limits{}) })
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
