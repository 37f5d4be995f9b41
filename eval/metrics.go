// Package eval evaluates zero-shot classification over a labelled dataset
// and reports the results the way scikit-learn does.
package eval

import (
	"errors"
	"fmt"
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
	// building the report, in order and with repetitions: sklearn 1.2
	// prints every one of them on stderr (its internal catch_warnings
	// blocks reset Python's once-per-location registry on every call).
	Warnings []string
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

// NewMetricsWithLabels is NewMetrics with sklearn's labels= argument.
//
// If labels is empty the report covers the sorted union of the labels in
// yTrue and yPred, as sklearn's unique_labels does (Go's byte order on
// UTF-8 strings is Python's code point order). Otherwise it covers exactly
// labels, in that order: labels absent from the data get zero scores, and
// unless labels is exactly the set of labels seen in the data the report
// shows a "micro avg" row instead of "accuracy" (so passing every class
// folder, one of them empty, changes the report's layout).
func NewMetricsWithLabels(yTrue, yPred, labels []string) (*Metrics, error) {
	if len(yTrue) != len(yPred) {
		return nil, fmt.Errorf("eval: metrics: %d true labels but %d predictions", len(yTrue), len(yPred))
	}
	if len(yTrue) == 0 {
		return nil, errors.New("eval: metrics: no samples")
	}
	present := uniqueSortedLabels(yTrue, yPred)
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

	n := len(labels)
	index := make(map[string]int, n)
	for i, l := range labels {
		index[l] = i
	}
	confusion := make([][]int, n)
	for i := range confusion {
		confusion[i] = make([]int, n)
	}
	// tp, pred and actual are sklearn's tp_sum, pred_sum and true_sum.
	tp := make([]int, n)
	pred := make([]int, n)
	actual := make([]int, n)
	correct := 0
	for k, t := range yTrue {
		p := yPred[k]
		if t == p {
			correct++
		}
		ti, tok := index[t]
		pi, pok := index[p]
		if tok {
			actual[ti]++
		}
		if pok {
			pred[pi]++
		}
		if tok && pok {
			confusion[ti][pi]++
			if ti == pi {
				tp[ti]++
			}
		}
	}

	m := &Metrics{
		Labels:          labels,
		Support:         actual,
		TotalSupport:    sumCounts(actual),
		Accuracy:        float64(correct) / float64(len(yTrue)),
		MicroIsAccuracy: microIsAccuracy,
		Confusion:       confusion,
		Samples:         len(yTrue),
	}

	// classification_report calls precision_recall_fscore_support four
	// times: per class, then micro, macro and weighted averages. Each call
	// emits its own warnings, so they are recorded in that order.
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
		m.Warnings = append(m.Warnings, fmt.Sprintf(
			"%s and F-score are ill-defined and being set to 0.0 %s no %s samples. "+
				"Use `zero_division` parameter to control this behavior.",
			metric, where, modifier))
	}
	return out
}

// uniqueSortedLabels is sklearn's unique_labels for string targets.
func uniqueSortedLabels(a, b []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, s := range [][]string{a, b} {
		for _, l := range s {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	sort.Strings(out)
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
