package eval

import (
	"strconv"
	"strings"
	"testing"
)

// TestClassificationReportMatchesSklearn compares every report in
// testdata/sklearn/cases.json byte for byte.
func TestClassificationReportMatchesSklearn(t *testing.T) {
	f := loadSklearnFixture(t)
	reports := 0
	for _, c := range f.Cases {
		yTrue, yPred := c.expand(t)
		m, err := NewMetricsWithLabels(yTrue, yPred, c.Labels)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		for _, d := range f.Digits {
			want, ok := c.Reports[strconv.Itoa(d)]
			if !ok {
				t.Fatalf("%s: no report for digits=%d", c.Name, d)
			}
			reports++
			if got := m.ClassificationReport(d); got != want {
				t.Errorf("%s digits=%d: report differs from sklearn %s\n%s", c.Name, d, f.SklearnVersion, lineDiff(got, want))
			}
		}
	}
	t.Logf("%d cases, %d reports compared with scikit-learn %s", len(f.Cases), reports, f.SklearnVersion)
}

// lineDiff shows the first differing line of two reports, quoted so that
// spacing is visible.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + strconv.Quote(gl) + "\n want " + strconv.Quote(wl)
		}
	}
	return "(same lines)"
}

func TestClassificationReportNegativeDigits(t *testing.T) {
	m := NewMetrics([]string{"a", "b"}, []string{"a", "a"})
	if got, want := m.ClassificationReport(-3), m.ClassificationReport(0); got != want {
		t.Errorf("digits=-3:\n%s\nwant digits=0:\n%s", got, want)
	}
}

func TestConfusionMatrixText(t *testing.T) {
	var yTrue, yPred []string
	add := func(tl, pl string, n int) {
		for range n {
			yTrue = append(yTrue, tl)
			yPred = append(yPred, pl)
		}
	}
	add("cat", "cat", 480)
	add("cat", "dog", 5)
	add("cat", "wild", 15)
	add("dog", "cat", 20)
	add("dog", "dog", 420)
	add("dog", "wild", 60)
	add("wild", "cat", 30)
	add("wild", "dog", 80)
	add("wild", "wild", 390)
	add("été", "cat", 1234)
	m := NewMetrics(yTrue, yPred)
	want := "" +
		"confusion matrix (rows: true, columns: predicted)\n" +
		"       cat  dog  wild  été\n" +
		"cat    480    5    15    0\n" +
		"dog     20  420    60    0\n" +
		"wild    30   80   390    0\n" +
		"été   1234    0     0    0\n"
	if got := m.ConfusionMatrixText(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
