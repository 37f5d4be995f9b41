package clipretrieval

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		n, count int
		want     string
	}{{0, 1, "0"}, {3, 9, "3"}, {3, 10, "03"}, {12, 100, "012"}, {99, 99, "99"}} {
		if got := ShardID(c.n, c.count); got != c.want {
			t.Errorf("ShardID(%d, %d) = %s, want %s", c.n, c.count, got, c.want)
		}
	}
	if e, m := EmbeddingsFile(7, 20), MetadataFile(7, 20); e != "img_emb/img_emb_07.npy" || m != "metadata/metadata_07.parquet" {
		t.Errorf("%s %s", e, m)
	}
}

func TestTableParquet(t *testing.T) {
	var meta map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(`{"width": 512, "exif": {"Make": "X"}, "status": "success", "similarity": 0.25}`)))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		t.Fatal(err)
	}
	tb := NewTable("image_path", "caption")
	tb.Add(map[string]any{"image_path": "a.jpg", "caption": "a cat", "ok": true, "n": 1})
	tb.Add(map[string]any{"image_path": "b.jpg", "caption": nil, "ok": false, "n": 2.5})
	row := map[string]any{"image_path": "c.jpg"}
	for k, v := range meta {
		row[k] = v
	}
	tb.Add(row)
	if got := tb.Columns(); len(got) != 8 || got[0] != "image_path" || got[1] != "caption" {
		t.Fatalf("columns %v", got)
	}
	var b bytes.Buffer
	if err := tb.WriteParquet(&b); err != nil {
		t.Fatal(err)
	}
	type rec struct {
		ImagePath  *string  `parquet:"image_path,optional"`
		Caption    *string  `parquet:"caption,optional"`
		OK         *bool    `parquet:"ok,optional"`
		N          *float64 `parquet:"n,optional"`
		Width      *int64   `parquet:"width,optional"`
		Exif       *string  `parquet:"exif,optional"`
		Status     *string  `parquet:"status,optional"`
		Similarity *float64 `parquet:"similarity,optional"`
	}
	rows, err := parquet.Read[rec](bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	r0, r1, r2 := rows[0], rows[1], rows[2]
	if *r0.ImagePath != "a.jpg" || *r0.Caption != "a cat" || !*r0.OK || *r0.N != 1 || r0.Width != nil {
		t.Errorf("row 0: %+v", r0)
	}
	if *r1.ImagePath != "b.jpg" || r1.Caption != nil || *r1.OK || *r1.N != 2.5 {
		t.Errorf("row 1: %+v", r1)
	}
	if *r2.ImagePath != "c.jpg" || *r2.Width != 512 || *r2.Exif != `{"Make":"X"}` || *r2.Status != "success" || *r2.Similarity != 0.25 || r2.OK != nil {
		t.Errorf("row 2: %+v", r2)
	}
}
