package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const (
	kitModel    = "../testdata/kit/models/tiny-synth/model.safetensors"
	kitWeights  = "../testdata/kit/golden/tiny-synth.weights-check.json"
	fixturesDir = "../testdata/checkpoint"
)

// fixture returns the path of a torch-generated fixture.
func fixture(name string) string { return filepath.Join(fixturesDir, name) }

// mustOpen opens path and closes it when the test ends.
func mustOpen(t testing.TB, path string) Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustFloat32 returns a tensor's float32 values.
func mustFloat32(t testing.TB, s Store, name string) []float32 {
	t.Helper()
	v, err := Float32(s, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// weightCheck is one entry of the kit's weights-check golden file.
type weightCheck struct {
	Shape []int     `json:"shape"`
	Sum   float64   `json:"sum"`
	First []float64 `json:"first"`
}

func readWeightChecks(t testing.TB) map[string]weightCheck {
	t.Helper()
	raw, err := os.ReadFile(kitWeights)
	if err != nil {
		t.Fatal(err)
	}
	var checks map[string]weightCheck
	if err := json.Unmarshal(raw, &checks); err != nil {
		t.Fatal(err)
	}
	return checks
}

// checkAgainstGolden compares every tensor of s with the kit's shapes, sums
// and first values; tol is relative to the values' magnitude (0 for F32).
func checkAgainstGolden(t *testing.T, s Store, skip func(string) bool, tol float64) {
	t.Helper()
	checks := readWeightChecks(t)
	seen := 0
	for name, want := range checks {
		if skip != nil && skip(name) {
			continue
		}
		seen++
		tn, ok := s.Tensor(name)
		if !ok {
			t.Errorf("tensor %s missing", name)
			continue
		}
		if !slices.Equal(tn.Shape, want.Shape) {
			t.Errorf("%s: shape %v, want %v", name, tn.Shape, want.Shape)
		}
		v, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		var sum, abs float64
		for _, x := range v {
			sum += float64(x)
			abs += math.Abs(float64(x))
		}
		if math.Abs(sum-want.Sum) > 1e-9*abs+tol*abs+1e-12 {
			t.Errorf("%s: sum %.12g, want %.12g", name, sum, want.Sum)
		}
		for i, f := range want.First {
			if math.Abs(float64(v[i])-f) > tol*math.Abs(f)+1e-30 {
				t.Errorf("%s[%d] = %.9g, want %.9g", name, i, v[i], f)
			}
		}
	}
	if len(s.Names()) != seen && skip == nil {
		t.Errorf("store has %d tensors, golden file %d", len(s.Names()), seen)
	}
}
