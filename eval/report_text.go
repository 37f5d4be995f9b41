package eval

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// reportHeaders are the column titles of sklearn's classification_report.
var reportHeaders = [...]string{"precision", "recall", "f1-score", "support"}

// ClassificationReport returns the text report of m, byte-identical to
// scikit-learn's classification_report(y_true, y_pred, digits=digits)
// (with labels= when the metrics were computed from an explicit label
// list), including its trailing newline.
//
// Layout, as in sklearn: the first column is as wide as the longest label
// counted in code points (Python's len), but at least len("weighted avg")
// and at least digits; every other column is 9 wide and preceded by one
// space; scores are printed with digits decimals, rounded half to even on
// their exact binary value as Python's format does. A negative digits is
// treated as 0 (Python would raise).
func (m *Metrics) ClassificationReport(digits int) string {
	digits = max(digits, 0)
	count := strconv.Itoa
	if m.Accuracy == 0 {
		// sklearn 1.2 quirk: when no sample at all is predicted correctly,
		// multilabel_confusion_matrix takes its "pathological case" branch
		// that makes the counts float64, so supports print as "4.0".
		count = func(n int) string { return strconv.Itoa(n) + ".0" }
	}
	width := max(len("weighted avg"), digits)
	for _, l := range m.Labels {
		width = max(width, utf8.RuneCountInString(l))
	}

	var b strings.Builder
	b.WriteString(padCodePoints("", width))
	b.WriteByte(' ')
	for _, h := range reportHeaders {
		b.WriteByte(' ')
		b.WriteString(padCodePoints(h, 9))
	}
	b.WriteString("\n\n")

	for i, l := range m.Labels {
		writeReportRow(&b, l, width, digits, m.Precision[i], m.Recall[i], m.F1[i], count(m.Support[i]))
	}
	b.WriteByte('\n')

	if m.MicroIsAccuracy {
		// sklearn formats "" with precision digits for the two empty
		// cells, which prints nine spaces each.
		b.WriteString(padCodePoints("accuracy", width))
		b.WriteString(" ")
		b.WriteString(strings.Repeat(" ", 2*10))
		b.WriteByte(' ')
		b.WriteString(padCodePoints(strconv.FormatFloat(m.MicroF1, 'f', digits, 64), 9))
		b.WriteByte(' ')
		b.WriteString(padCodePoints(count(m.TotalSupport), 9))
		b.WriteByte('\n')
	} else {
		writeReportRow(&b, "micro avg", width, digits, m.MicroPrecision, m.MicroRecall, m.MicroF1, count(m.TotalSupport))
	}
	writeReportRow(&b, "macro avg", width, digits, m.MacroPrecision, m.MacroRecall, m.MacroF1, count(m.TotalSupport))
	writeReportRow(&b, "weighted avg", width, digits, m.WeightedPrecision, m.WeightedRecall, m.WeightedF1, count(m.TotalSupport))
	return b.String()
}

// writeReportRow writes sklearn's row format
// "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n".
func writeReportRow(b *strings.Builder, name string, width, digits int, p, r, f float64, support string) {
	b.WriteString(padCodePoints(name, width))
	b.WriteByte(' ')
	for _, v := range [...]float64{p, r, f} {
		b.WriteByte(' ')
		b.WriteString(padCodePoints(strconv.FormatFloat(v, 'f', digits, 64), 9))
	}
	b.WriteByte(' ')
	b.WriteString(padCodePoints(support, 9))
	b.WriteByte('\n')
}

// ConfusionMatrixText returns the confusion matrix as a table with the
// true labels down the left (rows) and the predicted labels across the
// top (columns), in the order of m.Labels, counts right-aligned, ending
// with a newline:
//
//	confusion matrix (rows: true, columns: predicted)
//	       cat  dog  wild
//	cat    480    5    15
//	dog     20  420    60
//	wild    30   80   390
//
// Widths are counted in code points, like the classification report, so
// labels in wide scripts (CJK, emoji) may not line up on a terminal.
func (m *Metrics) ConfusionMatrixText() string {
	const gap = "  "
	first := 0
	for _, l := range m.Labels {
		first = max(first, utf8.RuneCountInString(l))
	}
	widths := make([]int, len(m.Labels))
	for j, l := range m.Labels {
		widths[j] = utf8.RuneCountInString(l)
		for i := range m.Confusion {
			widths[j] = max(widths[j], len(strconv.Itoa(m.Confusion[i][j])))
		}
	}

	var b strings.Builder
	b.WriteString("confusion matrix (rows: true, columns: predicted)\n")
	b.WriteString(strings.Repeat(" ", first))
	for j, l := range m.Labels {
		b.WriteString(gap)
		b.WriteString(padCodePoints(l, widths[j]))
	}
	b.WriteByte('\n')
	for i, l := range m.Labels {
		b.WriteString(l)
		b.WriteString(strings.Repeat(" ", first-utf8.RuneCountInString(l)))
		for j := range m.Labels {
			b.WriteString(gap)
			b.WriteString(padCodePoints(strconv.Itoa(m.Confusion[i][j]), widths[j]))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// padCodePoints right-aligns s in a field of width code points, as Python's
// "{:>{width}}" does; longer strings are returned unchanged. Invalid UTF-8
// bytes count one each, as they do in Python after surrogateescape
// decoding of file names.
func padCodePoints(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n >= width {
		return s
	}
	return strings.Repeat(" ", width-n) + s
}

// Text is the text of an evaluation as goclip eval prints it and
// goclip-beam eval writes it to report.txt: the classification report, an
// empty line, and the confusion matrix.
func (m *Metrics) Text(digits int) string {
	return m.ClassificationReport(digits) + "\n" + m.ConfusionMatrixText()
}
