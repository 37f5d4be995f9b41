package eval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// sklearnFixture is testdata/sklearn/cases.json, written by gen.py from
// Debian's python3-sklearn.
type sklearnFixture struct {
	SklearnVersion string               `json:"sklearn_version"`
	Digits         []int                `json:"digits"`
	Cases          []sklearnCase        `json:"cases"`
	FloatFormat    [][3]json.RawMessage `json:"float_format"`
}

type sklearnCase struct {
	Name        string            `json:"name"`
	Samples     [][3]any          `json:"samples"` // [true, pred, count] runs
	Labels      []string          `json:"labels"`
	Warnings    []string          `json:"warnings"`
	WarningsAll []string          `json:"warnings_all"`
	Reports     map[string]string `json:"reports"`
	LabelsUsed  []string          `json:"labels_used"`
	Precision   []float64         `json:"precision"`
	Recall      []float64         `json:"recall"`
	F1          []float64         `json:"f1"`
	Support     []int             `json:"support"`
	Micro       [3]float64        `json:"micro"`
	Macro       [3]float64        `json:"macro"`
	Weighted    [3]float64        `json:"weighted"`
	Accuracy    float64           `json:"accuracy"`
	Confusion   [][]int           `json:"confusion"`
}

func loadSklearnFixture(t *testing.T) *sklearnFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sklearn", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f sklearnFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decode cases.json: %v", err)
	}
	if len(f.Cases) < 30 {
		t.Fatalf("only %d cases in cases.json", len(f.Cases))
	}
	return &f
}

// expand turns the run-length encoded samples back into y_true and y_pred.
func (c *sklearnCase) expand(t *testing.T) (yTrue, yPred []string) {
	t.Helper()
	for _, run := range c.Samples {
		tl, ok1 := run[0].(string)
		pl, ok2 := run[1].(string)
		n, ok3 := run[2].(float64)
		if !ok1 || !ok2 || !ok3 {
			t.Fatalf("bad run %v", run)
		}
		for range int(n) {
			yTrue = append(yTrue, tl)
			yPred = append(yPred, pl)
		}
	}
	return yTrue, yPred
}

// sameFloat compares bit patterns: the fixture's floats round-trip exactly
// through JSON, so any difference is a real last-place difference.
func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func TestMetricsMatchSklearn(t *testing.T) {
	f := loadSklearnFixture(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			yTrue, yPred := c.expand(t)
			m, err := NewMetricsWithLabels(yTrue, yPred, c.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Labels, c.LabelsUsed) {
				t.Fatalf("labels = %q, sklearn %q", m.Labels, c.LabelsUsed)
			}
			for i, l := range m.Labels {
				if !sameFloat(m.Precision[i], c.Precision[i]) || !sameFloat(m.Recall[i], c.Recall[i]) ||
					!sameFloat(m.F1[i], c.F1[i]) || m.Support[i] != c.Support[i] {
					t.Errorf("class %q = p=%v r=%v f=%v s=%d, sklearn p=%v r=%v f=%v s=%d", l,
						m.Precision[i], m.Recall[i], m.F1[i], m.Support[i], c.Precision[i], c.Recall[i], c.F1[i], c.Support[i])
				}
			}
			for _, a := range []struct {
				name string
				got  [3]float64
				want [3]float64
			}{
				{"micro", [3]float64{m.MicroPrecision, m.MicroRecall, m.MicroF1}, c.Micro},
				{"macro", [3]float64{m.MacroPrecision, m.MacroRecall, m.MacroF1}, c.Macro},
				{"weighted", [3]float64{m.WeightedPrecision, m.WeightedRecall, m.WeightedF1}, c.Weighted},
			} {
				for k := range a.got {
					if !sameFloat(a.got[k], a.want[k]) {
						t.Errorf("%s avg = %v, sklearn %v", a.name, a.got, a.want)
						break
					}
				}
			}
			if !sameFloat(m.Accuracy, c.Accuracy) {
				t.Errorf("accuracy = %v, sklearn %v", m.Accuracy, c.Accuracy)
			}
			if c.Confusion != nil && !slices.EqualFunc(m.Confusion, c.Confusion, slices.Equal) {
				t.Errorf("confusion = %v, sklearn %v", m.Confusion, c.Confusion)
			}
			// sklearn repeats a warning for each average; goclip keeps
			// each distinct message once, in the same order.
			var distinct []string
			for _, w := range c.Warnings {
				if !slices.Contains(distinct, w) {
					distinct = append(distinct, w)
				}
			}
			if !slices.Equal(m.Warnings, distinct) || !slices.Equal(c.Warnings, c.WarningsAll) {
				t.Errorf("warnings:\n%q\nsklearn (distinct):\n%q", m.Warnings, distinct)
			}
		})
	}
}

// TestFormatFloatMatchesPython checks that strconv's 'f' formatting rounds
// exactly like Python's format(x, ".Nf"), ties included.
func TestFormatFloatMatchesPython(t *testing.T) {
	f := loadSklearnFixture(t)
	if len(f.FloatFormat) == 0 {
		t.Fatal("no float_format entries")
	}
	for _, e := range f.FloatFormat {
		var v float64
		var d int
		var want string
		if json.Unmarshal(e[0], &v) != nil || json.Unmarshal(e[1], &d) != nil || json.Unmarshal(e[2], &want) != nil {
			t.Fatalf("bad float_format entry %s", e)
		}
		if got := strconv.FormatFloat(v, 'f', d, 64); got != want {
			t.Errorf("FormatFloat(%v, %d) = %q, Python %q", v, d, got, want)
		}
	}
}

func TestNewMetricsErrors(t *testing.T) {
	for _, tc := range []struct {
		name                string
		yTrue, yPred, label []string
	}{
		{"length mismatch", []string{"a", "b"}, []string{"a"}, nil},
		{"no samples", nil, nil, nil},
		{"duplicate label", []string{"a"}, []string{"a"}, []string{"a", "b", "a"}},
	} {
		if _, err := NewMetricsWithLabels(tc.yTrue, tc.yPred, tc.label); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if tc.label == nil && NewMetrics(tc.yTrue, tc.yPred) != nil {
			t.Errorf("%s: NewMetrics returned metrics", tc.name)
		}
	}
}

func TestNewMetricsDoesNotAliasLabels(t *testing.T) {
	labels := []string{"b", "a"}
	m, err := NewMetricsWithLabels([]string{"a", "b"}, []string{"a", "a"}, labels)
	if err != nil {
		t.Fatal(err)
	}
	labels[0] = "changed"
	if m.Labels[0] != "b" || !m.MicroIsAccuracy {
		t.Errorf("Labels = %q, MicroIsAccuracy = %v", m.Labels, m.MicroIsAccuracy)
	}
}

func TestPairwiseSumOrder(t *testing.T) {
	// Summed left to right, 1 + 2^-53 loses every small term; numpy's
	// 8-way leaf keeps them in separate accumulators first.
	v := []float64{1, 0x1p-53, 0x1p-53, 0x1p-53, 0x1p-53, 0x1p-53, 0x1p-53, 0x1p-53, 0x1p-53}
	seq := 0.0
	for _, x := range v {
		seq += x
	}
	// numpy.sumCounts(v) is 0x1.0000000000004p+0.
	if got := numpyPairwiseSum(v); got == seq || got != 0x1.0000000000004p+0 {
		t.Errorf("numpyPairwiseSum = %v (left-to-right %v)", got, seq)
	}
}

// Confusion counts of parts of the samples, merged in any order (each part
// seeing only some labels), give the report of all the samples, byte for
// byte.
func TestConfusionMerge(t *testing.T) {
	f := loadSklearnFixture(t)
	for _, c := range f.Cases {
		yTrue, yPred := c.expand(t)
		whole, err := NewMetricsWithLabels(yTrue, yPred, c.Labels)
		if err != nil {
			t.Fatal(err)
		}
		const shards = 3
		parts := make([]*Confusion, shards)
		for i := range parts {
			parts[i] = NewConfusion(nil)
		}
		for i := range yTrue {
			parts[(i*7)%shards].AddLabels(yTrue[i], yPred[i])
		}
		merged := NewConfusion(nil)
		for i := shards - 1; i >= 0; i-- {
			merged.Merge(parts[i])
		}
		if merged.Samples() != len(yTrue) {
			t.Fatalf("%s: merged %d samples, want %d", c.Name, merged.Samples(), len(yTrue))
		}
		m, err := merged.MetricsFor(c.Labels)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Digits {
			if got, want := m.ClassificationReport(d), whole.ClassificationReport(d); got != want {
				t.Errorf("%s, %d digits: merged report\n%s\nwhole\n%s", c.Name, d, got, want)
			}
		}
		if !slices.Equal(m.Warnings, whole.Warnings) {
			t.Errorf("%s: merged warnings %q, whole %q", c.Name, m.Warnings, whole.Warnings)
		}
	}
	if m := NewConfusion([]string{"a"}).Metrics(); m != nil {
		t.Errorf("metrics of no sample: %+v, want nil", m)
	}
}
