package synth

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/goclip/goclip/clip"
)

// TestWeightsCheck rebuilds both kit models and compares every tensor's
// shape, float64 sum and first values with the kit's weights-check files.
func TestWeightsCheck(t *testing.T) {
	for _, model := range []string{"tiny-synth", "vit-b-32-synth"} {
		t.Run(model, func(t *testing.T) {
			if model == "vit-b-32-synth" && testing.Short() {
				t.Skip("full-size weights in -short mode")
			}
			cfg, err := clip.LoadConfig("../../testdata/kit/models/" + model + "/config.json")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile("../../testdata/kit/golden/" + model + ".weights-check.json")
			if err != nil {
				t.Fatal(err)
			}
			var check map[string]struct {
				Shape []int     `json:"shape"`
				Sum   float64   `json:"sum"`
				First []float64 `json:"first"`
			}
			if err := json.Unmarshal(raw, &check); err != nil {
				t.Fatal(err)
			}
			w, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(check) != len(w.Data) {
				t.Errorf("%d tensors generated, the kit has %d", len(w.Data), len(check))
			}
			for name, c := range check {
				data, ok := w.Data[name]
				if !ok {
					t.Errorf("missing %s", name)
					continue
				}
				n := 1
				for _, d := range c.Shape {
					n *= d
				}
				if n != len(data) {
					t.Errorf("%s: %d values, kit shape %v", name, len(data), c.Shape)
					continue
				}
				var sum float64
				for _, v := range data {
					sum += float64(v)
				}
				if math.Abs(sum-c.Sum) > 1e-9*math.Max(1, math.Abs(c.Sum)) {
					t.Errorf("%s: sum %.12g, kit %.12g", name, sum, c.Sum)
				}
				for i, f := range c.First {
					if float64(data[i]) != f {
						t.Errorf("%s[%d] = %v, kit %v", name, i, data[i], f)
					}
				}
			}
		})
	}
}
