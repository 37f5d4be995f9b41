package npy

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// numpyF16 is what numpy.save(f, np.array([[1, -2.5, 65504], [0.1, 1e-8, 3]], dtype=np.float16)) writes.
var numpyF16 = "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }" +
	strings.Repeat(" ", 58) + "\n" +
	"\x00\x3c\x00\xc1\xff\x7b\x66\x2e\x00\x00\x00\x42"

func TestWriteMatchesNumpy(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, Float16, 3, [][]float32{{1, -2.5, 65504}, {0.1, 1e-8, 3}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != numpyF16 {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), numpyF16)
	}
	if b.Len() != 128+12 || (b.Len()-12)%64 != 0 {
		t.Fatalf("header not 64-aligned: %d bytes", b.Len())
	}
}

func TestRoundTrip(t *testing.T) {
	rows := [][]float32{{1, 2, 3, 4}, {-1, 0.5, float32(math.Pi), 1e-3}, {0, 0, 0, 0}}
	for _, dt := range []DType{Float16, Float32} {
		var b bytes.Buffer
		if err := Write(&b, dt, 4, rows); err != nil {
			t.Fatal(err)
		}
		h, got, err := Read(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(dt, err)
		}
		if h.DType != dt || h.Rows != 3 || h.Cols != 4 || h.DataOffset+h.DataSize() != int64(b.Len()) {
			t.Fatalf("%s: header %+v, file %d bytes", dt, h, b.Len())
		}
		for i, r := range rows {
			for j, v := range r {
				w := got[i*4+j]
				tol := 0.0
				if dt == Float16 {
					tol = 1e-3 * math.Abs(float64(v))
				}
				if math.Abs(float64(w-v)) > tol {
					t.Errorf("%s [%d,%d] = %v, want %v", dt, i, j, w, v)
				}
			}
		}
	}
	var b bytes.Buffer
	if err := Write(&b, Float32, 512, nil); err != nil {
		t.Fatal(err)
	}
	if h, got, err := Read(&b); err != nil || h.Rows != 0 || h.Cols != 512 || len(got) != 0 {
		t.Fatalf("empty array: %+v %d %v", h, len(got), err)
	}
}

func TestRefused(t *testing.T) {
	head := func(dict string) string {
		return "\x93NUMPY\x01\x00" + string([]byte{byte(len(dict)), 0}) + dict
	}
	for name, data := range map[string]string{
		"empty":         "",
		"no magic":      "PK\x03\x04 a zip file",
		"version 9":     "\x93NUMPY\x09\x00\x10\x00",
		"short header":  "\x93NUMPY\x01\x00\x40\x00{'descr'",
		"int dtype":     head("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }"),
		"big endian":    head("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"),
		"fortran":       head("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"),
		"0-d":           head("{'descr': '<f4', 'fortran_order': False, 'shape': (), }"),
		"3-d":           head("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }"),
		"object":        head("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }"),
		"negative":      head("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }"),
		"truncated":     head("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") + "\x00\x00\x80\x3f",
		"not a dict":    head("['descr', '<f4']"),
		"duplicate key": head("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
	} {
		if _, _, err := Read(strings.NewReader(data)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	if err := Write(new(bytes.Buffer), Float32, 3, [][]float32{{1, 2}}); err == nil {
		t.Error("a short row was written")
	}
}

func TestVector(t *testing.T) {
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
	data := "\x93NUMPY\x01\x00" + string([]byte{byte(len(dict)), 0}) + dict + "\x00\x00\x80\x3f\x00\x00\x00\x40"
	h, v, err := Read(strings.NewReader(data))
	if err != nil || h.Rows != 1 || h.Cols != 2 || v[0] != 1 || v[1] != 2 {
		t.Fatalf("%+v %v %v", h, v, err)
	}
}
