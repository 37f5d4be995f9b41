// Package clipretrieval writes embeddings in the folder layout of
// clip-retrieval's inference, which embedding-reader, autofaiss and FAISS
// users read as it is:
//
//	OUT/img_emb/img_emb_N.npy           (rows, dim) float16 or float32, L2-normalised
//	OUT/metadata/metadata_N.parquet     one row per embedding, same order
//
// N is the shard number, zero-padded to the number of digits of the shard
// count as clip-retrieval pads it (10 shards: 0..9, 100 shards: 000..099),
// so a sort by name is a sort by number. The metadata has image_path (the
// file, or the sample key of a webdataset), and for webdatasets the key,
// the caption and the fields of the sample's JSON.
package clipretrieval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// Folder names of the layout.
const (
	EmbeddingsDir = "img_emb"
	MetadataDir   = "metadata"
)

// ShardID is shard n's number as it appears in file names, for a run of
// count shards: zero-padded to int(log10(count))+1 digits.
func ShardID(n, count int) string {
	digits := 1
	for c := count; c >= 10; c /= 10 {
		digits++
	}
	return fmt.Sprintf("%0*d", digits, n)
}

// EmbeddingsFile is shard n's embeddings file, relative to the output folder.
func EmbeddingsFile(n, count int) string {
	return path.Join(EmbeddingsDir, "img_emb_"+ShardID(n, count)+".npy")
}

// MetadataFile is shard n's metadata file, relative to the output folder.
func MetadataFile(n, count int) string {
	return path.Join(MetadataDir, "metadata_"+ShardID(n, count)+".parquet")
}

// Table is a flat table of named columns, filled row by row, written as
// Parquet with one optional column per name. A column's type follows its
// values: all strings → string, all integers → int64, numbers → double,
// all booleans → boolean, anything else (objects, arrays, a mix) → the
// values' JSON text as a string. nil is null.
type Table struct {
	names []string
	index map[string]int
	rows  []map[int]any
}

// NewTable returns an empty table whose first columns are names, in order.
func NewTable(names ...string) *Table {
	t := &Table{index: map[string]int{}}
	for _, n := range names {
		t.column(n)
	}
	return t
}

func (t *Table) column(name string) int {
	if i, ok := t.index[name]; ok {
		return i
	}
	t.index[name] = len(t.names)
	t.names = append(t.names, name)
	return len(t.names) - 1
}

// Add appends a row. Values of names the table does not have yet add
// columns (null in earlier rows). Allowed values: nil, string, bool, int,
// int64, float32, float64, and whatever encoding/json decodes into any.
func (t *Table) Add(row map[string]any) {
	r := make(map[int]any, len(row))
	// Sorted, so columns added by a row come in a fixed order.
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r[t.column(k)] = row[k]
	}
	t.rows = append(t.rows, r)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Columns are the column names in order.
func (t *Table) Columns() []string { return t.names }

type kind int

const (
	kNull kind = iota
	kString
	kInt
	kFloat
	kBool
	kJSON
)

func kindOf(v any) kind {
	switch x := v.(type) {
	case nil:
		return kNull
	case string:
		return kString
	case bool:
		return kBool
	case int, int64:
		return kInt
	case float32:
		return kFloat
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return kInt
		}
		return kFloat
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return kInt
		}
		return kFloat
	}
	return kJSON
}

// join is the kind of a column holding values of kinds a and b.
func join(a, b kind) kind {
	switch {
	case a == b || b == kNull:
		return a
	case a == kNull:
		return b
	case (a == kInt || a == kFloat) && (b == kInt || b == kFloat):
		return kFloat
	}
	return kJSON
}

// WriteParquet writes the table as a Parquet file (zstd-compressed pages,
// columns sorted by name, as parquet-go orders a group's fields; readers
// find them by name).
func (t *Table) WriteParquet(w io.Writer) error {
	kinds := make([]kind, len(t.names))
	for _, r := range t.rows {
		for i, v := range r {
			kinds[i] = join(kinds[i], kindOf(v))
		}
	}
	// parquet.Group orders its fields by name; the schema's column i is
	// the table's column order[i].
	group := parquet.Group{}
	for i, n := range t.names {
		var leaf parquet.Node
		switch kinds[i] {
		case kInt:
			leaf = parquet.Int(64)
		case kFloat:
			leaf = parquet.Leaf(parquet.DoubleType)
		case kBool:
			leaf = parquet.Leaf(parquet.BooleanType)
		default: // strings, JSON text, and all-null columns
			leaf = parquet.String()
		}
		group[n] = parquet.Compressed(parquet.Optional(leaf), &parquet.Zstd)
	}
	schema := parquet.NewSchema("schema", group)
	cols := schema.Columns()
	order := make([]int, len(cols))
	for ci, p := range cols {
		order[ci] = t.index[p[0]]
	}
	pw := parquet.NewWriter(w, schema)
	rows := make([]parquet.Row, 0, 1024)
	flush := func() error {
		if _, err := pw.WriteRows(rows); err != nil {
			return err
		}
		rows = rows[:0]
		return nil
	}
	for _, r := range t.rows {
		row := make(parquet.Row, len(cols))
		for ci, ti := range order {
			v, err := value(r[ti], kinds[ti])
			if err != nil {
				return fmt.Errorf("column %s: %w", t.names[ti], err)
			}
			if r[ti] == nil {
				row[ci] = parquet.NullValue().Level(0, 0, ci)
			} else {
				row[ci] = v.Level(0, 1, ci)
			}
		}
		rows = append(rows, row)
		if len(rows) == cap(rows) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return pw.Close()
}

// value converts v to a Parquet value of the column's kind.
func value(v any, k kind) (parquet.Value, error) {
	if v == nil {
		return parquet.NullValue(), nil
	}
	switch k {
	case kInt:
		switch x := v.(type) {
		case int:
			return parquet.Int64Value(int64(x)), nil
		case int64:
			return parquet.Int64Value(x), nil
		case float64:
			return parquet.Int64Value(int64(x)), nil
		case json.Number:
			n, err := x.Int64()
			return parquet.Int64Value(n), err
		}
	case kFloat:
		switch x := v.(type) {
		case int:
			return parquet.DoubleValue(float64(x)), nil
		case int64:
			return parquet.DoubleValue(float64(x)), nil
		case float32:
			return parquet.DoubleValue(float64(x)), nil
		case float64:
			return parquet.DoubleValue(x), nil
		case json.Number:
			f, err := x.Float64()
			return parquet.DoubleValue(f), err
		}
	case kBool:
		return parquet.BooleanValue(v.(bool)), nil
	case kString:
		return parquet.ByteArrayValue([]byte(v.(string))), nil
	}
	// kJSON: every value as its JSON text (a string stays a string).
	if s, ok := v.(string); ok {
		return parquet.ByteArrayValue([]byte(s)), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return parquet.Value{}, err
	}
	return parquet.ByteArrayValue(b), nil
}
