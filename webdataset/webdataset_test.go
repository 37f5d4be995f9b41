package webdataset

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
)

type member struct {
	name string
	data string
}

func shard(t *testing.T, ms ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		typ := byte(tar.TypeReg)
		if m.name[len(m.name)-1] == '/' {
			typ = tar.TypeDir
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Size: int64(len(m.data)), Mode: 0o644, Typeflag: typ}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(r *Reader) ([]*Sample, error) {
	var out []*Sample
	for {
		s, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
}

func TestSamples(t *testing.T) {
	data := shard(t,
		member{"dir/", ""},
		member{"dir/000.jpg", "jpeg 0"},
		member{"dir/000.json", `{"k":"000"}`},
		member{"dir/000.txt", "a cat"},
		member{"dir/001.seg.png", "mask"},
		member{"dir/001.PNG", "png 1"},
		member{"README", "no extension: skipped"},
		member{"dir/002.jpg", "a large image"},
		member{"dir/002.txt", "big"},
	)
	got, err := readAll(NewReader(bytes.NewReader(data), 12))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d samples, want 3", len(got))
	}
	if s := got[0]; s.Key != "dir/000" || len(s.Files) != 3 || string(s.Files["json"]) != `{"k":"000"}` {
		t.Errorf("sample 0: %+v", s)
	}
	if c, ok := got[0].Text("txt"); !ok || c != "a cat" {
		t.Errorf("caption %q %v", c, ok)
	}
	if ext, d, _, ok := got[1].Image(); got[1].Key != "dir/001" || !ok || ext != "PNG" || string(d) != "png 1" {
		t.Errorf("sample 1: key %s image %s %q %v", got[1].Key, ext, d, ok)
	}
	if _, ok := got[1].Files["seg.png"]; !ok {
		t.Errorf("sample 1 lost its seg.png: %v", got[1].Files)
	}
	ext, _, size, ok := got[2].Image()
	if ok || ext != "jpg" || size != 13 || got[2].TooBig["jpg"] != 13 {
		t.Errorf("sample 2: image %s %d %v, TooBig %v", ext, size, ok, got[2].TooBig)
	}
}

func TestTruncated(t *testing.T) {
	data := shard(t,
		member{"0.jpg", "jpeg 0"},
		member{"1.jpg", string(make([]byte, 3000))},
		member{"2.jpg", "jpeg 2"},
	)
	got, err := readAll(NewReader(bytes.NewReader(data[:512+512+1024]), 0))
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrFormat", err)
	}
	if len(got) != 1 || got[0].Key != "0" {
		t.Fatalf("samples before the damage: %v", got)
	}
	if _, err := NewReader(bytes.NewReader([]byte("not a tar file at all, just some text")), 0).Next(); !errors.Is(err, ErrFormat) {
		t.Fatalf("text: err = %v", err)
	}
}
