// Package eval evaluates zero-shot classification over a labelled dataset
// and reports the results the way scikit-learn does.
package eval

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Metrics is the summary of one classification run: per-class precision,
// recall, F1 and support, their averages, the accuracy and the confusion
// matrix. Every number is computed with the same floating-point operations,
// in the same order, as scikit-learn's precision_recall_fscore_support with
// zero_division="warn", so reports printed from it are byte-identical to
// sklearn's classification_report. Per-class slices follow Labels.
type Metrics struct {
	// Labels are the classes the metrics are reported for, in report order.
	Labels []string

	Precision []float64
	Recall    []float64
	F1        []float64
	// Support[i] is the number of samples whose true label is Labels[i].
	Support []int
	// TotalSupport is the sum of Support: the support of every average.
	TotalSupport int

	// Accuracy is the fraction of all samples whose prediction equals the
	// truth (sklearn's accuracy_score), whatever Labels is.
	Accuracy float64

	// The micro average over Labels. When MicroIsAccuracy is true,
	// MicroF1 is what sklearn prints on the "accuracy" row; it can differ
	// from Accuracy in the last bit, since sklearn computes it as
	// 2·p·r/(p+r).
	MicroPrecision, MicroRecall, MicroF1 float64
	// MicroIsAccuracy reports whether Labels is exactly the set of labels
	// seen in the data, in which case the micro average equals the
	// accuracy and the report prints an "accuracy" row instead of a
	// "micro avg" row.
	MicroIsAccuracy bool

	// The unweighted mean of the per-class scores.
	MacroPrecision, MacroRecall, MacroF1 float64
	// The mean of the per-class scores weighted by support.
	WeightedPrecision, WeightedRecall, WeightedF1 float64

	// Confusion[i][j] counts samples of true class Labels[i] predicted as
	// Labels[j]. Samples whose true or predicted label is not in Labels
	// are not counted.
	Confusion [][]int
	// Samples is the number of (y_true, y_pred) pairs.
	Samples int

	// Warnings are the UndefinedMetricWarning messages sklearn emits while
	// building the report, each distinct message once, in the order sklearn
	// first emits it. (sklearn 1.2 repeats a message for every average it
	// computes; one copy says all there is.)
	Warnings []string
}

// Confusion counts (true, predicted) class pairs over a fixed list of
// labels. It is all a classification report is made of, so evaluations of
// parts of a dataset (shards, workers, machines) Merge into the report of
// the whole, byte for byte the report of one run over every image.
type Confusion struct {
	Labels []string
	// Counts[t][p] is the number of samples of true class Labels[t]
	// predicted as Labels[p].
	Counts [][]int
}

// NewConfusion returns empty counts over labels (which must be distinct).
func NewConfusion(labels []string) *Confusion {
	c := &Confusion{Labels: append([]string(nil), labels...), Counts: make([][]int, len(labels))}
	for i := range c.Counts {
		c.Counts[i] = make([]int, len(labels))
	}
	return c
}

// Add counts one sample of class Labels[truth] predicted as Labels[pred].
func (c *Confusion) Add(truth, pred int) { c.Counts[truth][pred]++ }

// AddLabels counts one sample by label names, adding labels not seen yet.
func (c *Confusion) AddLabels(truth, pred string) {
	c.Counts[c.index(truth)][c.index(pred)]++
}

// index returns the position of label, adding it if it is new.
func (c *Confusion) index(label string) int {
	for i, l := range c.Labels {
		if l == label {
			return i
		}
	}
	c.Labels = append(c.Labels, label)
	for i := range c.Counts {
		c.Counts[i] = append(c.Counts[i], 0)
	}
	c.Counts = append(c.Counts, make([]int, len(c.Labels)))
	return len(c.Labels) - 1
}

// Merge adds o's counts to c, matching classes by label; labels only o has
// are added to c.
func (c *Confusion) Merge(o *Confusion) {
	for t, row := range o.Counts {
		for p, n := range row {
			if n != 0 {
				c.Counts[c.index(o.Labels[t])][c.index(o.Labels[p])] += n
			}
		}
	}
}

// Samples returns the number of samples counted.
func (c *Confusion) Samples() int {
	n := 0
	for _, row := range c.Counts {
		n += sumCounts(row)
	}
	return n
}

// Metrics returns the report over the labels that occur as a truth or a
// prediction, as classification_report(y_true, y_pred) gives without
// labels=; nil if nothing was counted.
func (c *Confusion) Metrics() *Metrics {
	m, err := c.MetricsFor(nil)
	if err != nil {
		return nil
	}
	return m
}

// NewMetrics computes the metrics of the predictions yPred against the
// ground truth yTrue over the sorted union of their labels, as
// classification_report(y_true, y_pred) does without labels=. The slices
// must have the same, non-zero length; NewMetrics returns nil otherwise.
func NewMetrics(yTrue, yPred []string) *Metrics {
	m, err := NewMetricsWithLabels(yTrue, yPred, nil)
	if err != nil {
		return nil
	}
	return m
}

// NewMetricsWithLabels is NewMetrics with sklearn's labels= argument (see
// Confusion.MetricsFor).
func NewMetricsWithLabels(yTrue, yPred, labels []string) (*Metrics, error) {
	if len(yTrue) != len(yPred) {
		return nil, fmt.Errorf("eval: metrics: %d true labels but %d predictions", len(yTrue), len(yPred))
	}
	c := NewConfusion(nil)
	for i, t := range yTrue {
		c.AddLabels(t, yPred[i])
	}
	return c.MetricsFor(labels)
}

// MetricsFor computes the metrics with sklearn's labels= argument.
//
// If labels is empty the report covers the sorted union of the labels
// counted as a truth or a prediction, as sklearn's unique_labels does (Go's
// byte order on UTF-8 strings is Python's code point order). Otherwise it
// covers exactly labels, in that order: labels absent from the counts get
// zero scores, and unless labels is exactly the set of labels seen the
// report shows a "micro avg" row instead of "accuracy" (so passing every
// class folder, one of them empty, changes the report's layout).
func (c *Confusion) MetricsFor(labels []string) (*Metrics, error) {
	samples := c.Samples()
	if samples == 0 {
		return nil, errors.New("eval: metrics: no samples")
	}
	// sklearn's tp_sum, pred_sum and true_sum, per label of c.
	all := len(c.Labels)
	rowSum, colSum := make([]int, all), make([]int, all)
	correct := 0
	for t, row := range c.Counts {
		for p, n := range row {
			rowSum[t] += n
			colSum[p] += n
		}
		correct += row[t]
	}
	var present []string
	for i, l := range c.Labels {
		if rowSum[i] > 0 || colSum[i] > 0 {
			present = append(present, l)
		}
	}
	sort.Strings(present)
	microIsAccuracy := true
	if len(labels) == 0 {
		labels = present
	} else {
		labels = append([]string(nil), labels...)
		seen := make(map[string]bool, len(labels))
		for _, l := range labels {
			if seen[l] {
				return nil, fmt.Errorf("eval: metrics: label %q listed twice", l)
			}
			seen[l] = true
		}
		microIsAccuracy = len(seen) == len(present)
		for _, l := range present {
			microIsAccuracy = microIsAccuracy && seen[l]
		}
	}

	where := make(map[string]int, all) // label -> index in c
	for i, l := range c.Labels {
		where[l] = i
	}
	n := len(labels)
	confusion := make([][]int, n)
	tp, pred, actual := make([]int, n), make([]int, n), make([]int, n)
	for i, li := range labels {
		confusion[i] = make([]int, n)
		ci, ok := where[li]
		if !ok {
			continue
		}
		tp[i], pred[i], actual[i] = c.Counts[ci][ci], colSum[ci], rowSum[ci]
		for j, lj := range labels {
			if cj, ok := where[lj]; ok {
				confusion[i][j] = c.Counts[ci][cj]
			}
		}
	}

	m := &Metrics{
		Labels:          labels,
		Support:         actual,
		TotalSupport:    sumCounts(actual),
		Accuracy:        float64(correct) / float64(samples),
		MicroIsAccuracy: microIsAccuracy,
		Confusion:       confusion,
		Samples:         samples,
	}

	// classification_report calls precision_recall_fscore_support four
	// times: per class, then micro, macro and weighted averages, each
	// emitting its own warnings (recorded once each).
	m.Precision, m.Recall, m.F1 = m.scores(tp, pred, actual)

	p, r, f := m.scores([]int{sumCounts(tp)}, []int{sumCounts(pred)}, []int{m.TotalSupport})
	m.MicroPrecision, m.MicroRecall, m.MicroF1 = p[0], r[0], f[0]

	p, r, f = m.scores(tp, pred, actual)
	m.MacroPrecision, m.MacroRecall, m.MacroF1 = numpyMean(p), numpyMean(r), numpyMean(f)

	p, r, f = m.scores(tp, pred, actual)
	if m.TotalSupport > 0 {
		// With no true sample at all sklearn returns zeros (for
		// zero_division="warn") instead of dividing by a zero weight sum.
		m.WeightedPrecision = numpyWeightedMean(p, actual)
		m.WeightedRecall = numpyWeightedMean(r, actual)
		m.WeightedF1 = numpyWeightedMean(f, actual)
	}
	return m, nil
}

// scores returns precision, recall and F1 for each entry of the count
// vectors and records the warnings sklearn's _prf_divide would emit.
func (m *Metrics) scores(tp, pred, actual []int) (precision, recall, f1 []float64) {
	precision = m.divide(tp, pred, "Precision", "predicted")
	recall = m.divide(tp, actual, "Recall", "true")
	f1 = make([]float64, len(tp))
	for i := range f1 {
		// f = (1 + beta²)·p·r / (beta²·p + r) with beta = 1, evaluated
		// left to right as numpy does; a zero denominator becomes 1.
		denom := precision[i] + recall[i]
		if denom == 0 {
			denom = 1
		}
		f1[i] = float64(2*precision[i]) * recall[i] / denom
	}
	return precision, recall, f1
}

// divide returns num/den elementwise with 0 where den is 0, and records
// sklearn's UndefinedMetricWarning when any denominator is 0.
func (m *Metrics) divide(num, den []int, metric, modifier string) []float64 {
	out := make([]float64, len(num))
	undefined := false
	for i := range num {
		if den[i] == 0 {
			undefined = true
			continue
		}
		out[i] = float64(num[i]) / float64(den[i])
	}
	if undefined {
		where := "in labels with"
		if len(num) == 1 {
			where = "due to"
		}
		w := fmt.Sprintf(
			"%s and F-score are ill-defined and being set to 0.0 %s no %s samples. "+
				"Use `zero_division` parameter to control this behavior.",
			metric, where, modifier)
		if !slices.Contains(m.Warnings, w) {
			m.Warnings = append(m.Warnings, w)
		}
	}
	return out
}

// sumCounts returns the sum of v.
func sumCounts(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// numpyMean is numpy's mean of a float64 vector: pairwise sum divided by length.
func numpyMean(v []float64) float64 {
	return numpyPairwiseSum(v) / float64(len(v))
}

// numpyWeightedMean is numpy's average(v, weights=w): the pairwise sum of the
// products divided by the pairwise sum of the weights.
func numpyWeightedMean(v []float64, w []int) float64 {
	prod := make([]float64, len(v))
	wf := make([]float64, len(v))
	for i := range v {
		wf[i] = float64(w[i])
		prod[i] = float64(v[i] * wf[i])
	}
	return numpyPairwiseSum(prod) / numpyPairwiseSum(wf)
}

// numpyPairwiseSum adds v in exactly the order numpy's float64 add.reduce does
// (pairwise summation with an 8-way unrolled leaf of up to 128 elements),
// so averages agree with sklearn to the last bit; a plain left-to-right
// sum differs in the last place for most vectors of 8 or more elements,
// which can flip a printed digit on a rounding tie.
func numpyPairwiseSum(v []float64) float64 {
	n := len(v)
	switch {
	case n < 8:
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], v[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += v[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += v[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return numpyPairwiseSum(v[:n2]) + numpyPairwiseSum(v[n2:])
	}
}
