package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestTorchSavedTinySynth loads the kit's model re-saved by torch.save and
// checks that it equals the safetensors file, tensor for tensor, bit for bit.
func TestTorchSavedTinySynth(t *testing.T) {
	pt := mustOpen(t, fixture("tiny-synth/pytorch_model.bin"))
	st := mustOpen(t, kitModel)
	if !slices.Equal(pt.Names(), st.Names()) {
		t.Fatalf("names differ:\n%v\n%v", pt.Names(), st.Names())
	}
	for _, name := range st.Names() {
		a, b := mustFloat32(t, pt, name), mustFloat32(t, st, name)
		ta, _ := pt.Tensor(name)
		tb, _ := st.Tensor(name)
		if !slices.Equal(ta.Shape, tb.Shape) || ta.DType != F32 || !slices.Equal(a, b) {
			t.Errorf("%s differs", name)
		}
		if len(a) > 0 && unsafe.Pointer(&a[0]) != unsafe.Pointer(&ta.Bytes()[0]) {
			t.Errorf("%s: F32 storage was copied, want a view of the file", name)
		}
	}
	checkAgainstGolden(t, pt, nil, 0)
}

// TestTorchSavedHalf loads F16 and BF16 state dicts made by torch's .half()
// and .bfloat16() and checks them against our own rounding of the F32 file.
func TestTorchSavedHalf(t *testing.T) {
	st := mustOpen(t, kitModel)
	for _, c := range []struct {
		file  string
		dtype DType
	}{{"tiny-synth-f16.bin", F16}, {"tiny-synth-bf16.bin", BF16}} {
		pt := mustOpen(t, fixture(c.file))
		if len(pt.Names()) != len(st.Names())-1 {
			t.Errorf("%s: %d tensors", c.file, len(pt.Names()))
		}
		for _, name := range pt.Names() {
			tn, _ := pt.Tensor(name)
			if tn.DType != c.dtype {
				t.Fatalf("%s: %s is %v", c.file, name, tn.DType)
			}
			want := convertVia(mustFloat32(t, st, name), c.dtype)
			if got := mustFloat32(t, pt, name); !slices.Equal(got, want) {
				t.Errorf("%s: %s differs from our rounding", c.file, name)
			}
		}
		checkAgainstGolden(t, pt, func(n string) bool { return n == "text_model.embeddings.token_embedding.weight" }, 1.0/128)
	}
}

// TestTorchViews checks strided and offset views, shared storages, a
// Parameter, 0-dim, int64, float64 and empty tensors against torch's own
// contiguous values.
func TestTorchViews(t *testing.T) {
	s := mustOpen(t, fixture("views.bin"))
	raw, err := os.ReadFile(fixture("views.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		DType  string    `json:"dtype"`
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	dtypes := map[string]DType{"float32": F32, "float16": F16, "int64": I64, "float64": F64}
	if len(s.Names()) != len(want) {
		t.Errorf("%d tensors, want %d", len(s.Names()), len(want))
	}
	for name, w := range want {
		tn, ok := s.Tensor(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if tn.DType != dtypes[w.DType] || !slices.Equal(tn.Shape, w.Shape) {
			t.Errorf("%s: %v %v, want %s %v", name, tn.DType, tn.Shape, w.DType, w.Shape)
			continue
		}
		var got []float64
		if tn.DType == I64 {
			v, err := tn.Int64()
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				got = append(got, float64(x))
			}
		} else {
			v, err := tn.Float32()
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				got = append(got, float64(x))
			}
		}
		for i := range w.Values {
			w.Values[i] = float64(float32(w.Values[i])) // float64 tensors are read as float32
		}
		if !slices.Equal(got, w.Values) {
			t.Errorf("%s = %v, want %v", name, got, w.Values)
		}
	}
	// Contiguous views with an offset share the storage: no copy.
	base, _ := s.Tensor("base")
	row, _ := s.Tensor("row")
	if &row.Bytes()[0] != &base.Bytes()[(2*20+3*5)*4] {
		t.Error("contiguous offset view was copied")
	}
	pos, _ := s.Tensor("position_ids")
	if _, err := pos.Float32(); err == nil || !strings.Contains(err.Error(), "position_ids") {
		t.Errorf("Float32 of int64: %v", err)
	}
}

// TestConversionMatchesTorch checks F32ToF16 and F32ToBF16 against torch's
// .half() and .bfloat16() bit for bit: ties, subnormals, overflow, NaN and
// 4000 random values over a wide range.
func TestConversionMatchesTorch(t *testing.T) {
	s := mustOpen(t, fixture("convert.bin"))
	src := mustFloat32(t, s, "f32")
	for _, c := range []struct {
		name string
		conv func(float32) uint16
	}{{"f16", F32ToF16}, {"bf16", F32ToBF16}} {
		tn, _ := s.Tensor(c.name)
		b := tn.Bytes()
		for i, x := range src {
			want := uint16(b[2*i]) | uint16(b[2*i+1])<<8
			got := c.conv(x)
			if x != x { // any NaN will do: torch's scalar and vector paths differ
				if c.name == "f16" && got&0x7c00 == 0x7c00 && got&0x3ff != 0 || c.name == "bf16" && got&0x7f80 == 0x7f80 && got&0x7f != 0 {
					continue
				}
			}
			if got != want {
				t.Errorf("%s(%g = %#08x) = %#04x, torch %#04x", c.name, x, math.Float32bits(x), got, want)
			}
		}
	}
}

// TestHalfWidening checks that every F16 and BF16 value widens exactly and
// narrows back to itself.
func TestHalfWidening(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			if F32ToF16(f)&0x7e00 != 0x7e00 {
				t.Errorf("F16 NaN %#04x narrows to %#04x", h, F32ToF16(f))
			}
			continue
		}
		if got := F32ToF16(f); got != uint16(h) {
			t.Errorf("F16 %#04x -> %g -> %#04x", h, f, got)
		}
		if g := BF16ToF32(uint16(h)); g == g && F32ToBF16(g) != uint16(h) {
			t.Errorf("BF16 %#04x -> %g -> %#04x", h, g, F32ToBF16(g))
		}
	}
	if F16ToF32(0x0001) != float32(math.Ldexp(1, -24)) || F16ToF32(0x7bff) != 65504 || F16ToF32(0xc000) != -2 {
		t.Error("F16ToF32 of known values")
	}
}

func TestEvilPickles(t *testing.T) {
	for file, global := range map[string]string{"evil-system.bin": "posix.system", "evil-eval.bin": "__builtin__.eval"} {
		_, err := Open(fixture(file))
		if err == nil {
			t.Errorf("%s opened", file)
			continue
		}
		if !strings.Contains(err.Error(), global) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error does not name %s and the file: %v", file, global, err)
		}
		t.Logf("%s: %v", file, err)
	}
}

func TestPyTorchRoundTrip(t *testing.T) {
	for _, dtype := range []DType{F32, F16, BF16} {
		t.Run(dtype.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pytorch_model.bin")
			if err := WritePyTorch(path, testTensors(), dtype); err != nil {
				t.Fatal(err)
			}
			s := mustOpen(t, path)
			checkRoundTrip(t, s, testTensors(), dtype)
			for _, name := range s.Names() {
				tn, _ := s.Tensor(name)
				if b := tn.Bytes(); len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%pytorchAlign != 0 {
					t.Errorf("%s: storage not %d-byte aligned", name, pytorchAlign)
				}
			}
		})
	}
}

// TestTorchLoadsWhatWeWrite runs real torch.load(weights_only=True) on files
// WritePyTorch and WriteSafetensors made (skipped without Python and torch).
func TestTorchLoadsWhatWeWrite(t *testing.T) {
	python := "/usr/bin/python3"
	if testing.Short() {
		t.Skip("short mode")
	}
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("no torch: %v", err)
	}
	dir := t.TempDir()
	st := mustOpen(t, kitModel)
	var tensors []NamedTensor
	for _, name := range st.Names() {
		tn, _ := st.Tensor(name)
		tensors = append(tensors, NamedTensor{Name: name, Shape: tn.Shape, Data: mustFloat32(t, st, name)})
	}
	tensors = append(tensors, testTensors()...)
	for _, dtype := range []DType{F32, F16, BF16} {
		if err := WritePyTorch(filepath.Join(dir, dtype.String()+".bin"), tensors, dtype); err != nil {
			t.Fatal(err)
		}
		if err := WriteSafetensors(filepath.Join(dir, dtype.String()+".safetensors"), tensors, dtype, nil); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(python, fixture("check_go_written.py"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("torch refused our files: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
