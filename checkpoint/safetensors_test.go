package checkpoint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func TestKitSafetensors(t *testing.T) {
	s := mustOpen(t, kitModel)
	checkAgainstGolden(t, s, nil, 0)
	// F32 data is a view of the mapping, not a copy.
	tn, _ := s.Tensor("text_model.embeddings.token_embedding.weight")
	v, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.Pointer(&v[0]) != unsafe.Pointer(&tn.Bytes()[0]) {
		t.Error("F32 tensor was copied, want a view of the file")
	}
}

func TestUseAfterClose(t *testing.T) {
	s, err := Open(kitModel)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := s.Tensor("logit_scale")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := tn.Float32(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Float32 after Close: %v", err)
	}
}

func TestOpenDir(t *testing.T) {
	s, err := OpenDir(filepath.Dir(kitModel))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if filepath.Base(s.Path()) != "model.safetensors" {
		t.Errorf("OpenDir picked %s", s.Path())
	}
	if _, err := OpenDir(t.TempDir()); err == nil {
		t.Error("OpenDir of an empty directory succeeded")
	}
}

// testTensors returns a few tensors with awkward shapes and values.
func testTensors() []NamedTensor {
	mk := func(n int, f func(i int) float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	return []NamedTensor{
		{Name: "z.weight", Shape: []int{3, 5}, Data: mk(15, func(i int) float32 { return float32(i)/7 - 1 })},
		{Name: "a.bias", Shape: []int{7}, Data: mk(7, func(i int) float32 { return float32(i) * 1e-3 })},
		{Name: "scalar", Shape: []int{}, Data: []float32{4.6051702}},
		{Name: "empty", Shape: []int{0, 3}, Data: []float32{}},
		{Name: "odd", Shape: []int{1, 1, 3}, Data: []float32{1e-8, -65504, 3.4e38}},
	}
}

// convertVia rounds v through dtype, as the writers do.
func convertVia(v []float32, dtype DType) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		switch dtype {
		case F16:
			out[i] = F16ToF32(F32ToF16(x))
		case BF16:
			out[i] = BF16ToF32(F32ToBF16(x))
		default:
			out[i] = x
		}
	}
	return out
}

// checkRoundTrip checks that s holds exactly in, rounded through dtype.
func checkRoundTrip(t *testing.T, s Store, in []NamedTensor, dtype DType) {
	t.Helper()
	if len(s.Names()) != len(in) {
		t.Fatalf("%d tensors, want %d", len(s.Names()), len(in))
	}
	for _, want := range in {
		tn, ok := s.Tensor(want.Name)
		if !ok {
			t.Fatalf("tensor %s missing", want.Name)
		}
		if tn.DType != dtype || !slices.Equal(tn.Shape, want.Shape) {
			t.Errorf("%s: %v %v, want %v %v", want.Name, tn.DType, tn.Shape, dtype, want.Shape)
		}
		got := mustFloat32(t, s, want.Name)
		if !slices.Equal(got, convertVia(want.Data, dtype)) {
			t.Errorf("%s: %v, want %v", want.Name, got, convertVia(want.Data, dtype))
		}
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	for _, dtype := range []DType{F32, F16, BF16} {
		t.Run(dtype.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			meta := map[string]string{"format": "pt", "quote": `"<&>"`}
			if err := WriteSafetensors(path, testTensors(), dtype, meta); err != nil {
				t.Fatal(err)
			}
			s := mustOpen(t, path)
			checkRoundTrip(t, s, testTensors(), dtype)
			if got := s.Metadata(); got["format"] != "pt" || got["quote"] != `"<&>"` {
				t.Errorf("metadata %v", got)
			}
			raw, _ := os.ReadFile(path)
			if n := int(raw[0]) | int(raw[1])<<8; n%8 != 0 || raw[8+n-1] != ' ' && raw[8+n-1] != '}' {
				t.Errorf("header length %d is not padded to 8", n)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]NamedTensor{
		"duplicate": {{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{2}}},
		"count":     {{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}},
		"negative":  {{Name: "a", Shape: []int{-1}, Data: nil}},
		"reserved":  {{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}},
	}
	for name, ts := range cases {
		path := filepath.Join(dir, name)
		if err := WriteSafetensors(path, ts, F32, nil); err == nil {
			t.Errorf("%s: WriteSafetensors succeeded", name)
		}
		if err := WritePyTorch(path, ts, F32); err == nil {
			t.Errorf("%s: WritePyTorch succeeded", name)
		}
	}
	if err := WriteSafetensors(filepath.Join(dir, "x"), testTensors(), I64, nil); err == nil {
		t.Error("writing I64 succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

// FuzzSafetensors runs the safetensors validator on arbitrary files and
// reads every tensor it accepts.
func FuzzSafetensors(f *testing.F) {
	body := make([]byte, 24)
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, body))
	f.Add(stFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}  `, body))
	f.Add(stFile(`{"a":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}`, body))
	if raw, err := os.ReadFile("../testdata/kit/golden/tiny-synth.safetensors"); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, _, err := parseSafetensors(data, "fuzz")
		if err != nil {
			return
		}
		for _, tn := range tensors {
			if len(tn.Bytes()) != tn.NumElements()*tn.DType.Size() {
				t.Fatalf("%s: %d bytes for %v %v", tn.Name, len(tn.Bytes()), tn.DType, tn.Shape)
			}
			if tn.DType.IsFloat() {
				if _, err := tn.Float32(); err != nil {
					t.Fatal(err)
				}
			} else if _, err := tn.Int64(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
