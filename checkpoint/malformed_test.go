package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stFile returns a safetensors file with the given header and body.
func stFile(header string, body []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, body...)
}

// expectRefused writes data to a file, opens it and checks that the error
// names the file and contains every one of want.
func expectRefused(t *testing.T, name string, data []byte, want ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err == nil {
		s.Close()
		t.Errorf("%s: opened, want an error containing %q", name, want)
		return
	}
	msg := err.Error()
	t.Logf("%s: %v", name, err)
	for _, w := range append([]string{path}, want...) {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: error %q does not contain %q", name, msg, w)
		}
	}
}

func TestSafetensorsMalformed(t *testing.T) {
	body := make([]byte, 24)
	good := `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"too short"}},
		{"seven-bytes", []byte{1, 2, 3, 4, 5, 6, 7}, []string{"too short"}},
		{"huge-length", append(binary.LittleEndian.AppendUint64(nil, 1<<60), "{}"...), []string{"exceeds"}},
		{"length-past-eof", append(binary.LittleEndian.AppendUint64(nil, 100), good...), []string{"past the end"}},
		{"not-json", stFile("hello world", nil), []string{"does not start with '{'"}},
		{"bad-json", stFile(`{"a":{"dtype":"F32",`, nil), []string{"header"}},
		{"trailing-garbage", stFile(good+"x", body), []string{"header JSON"}},
		{"top-array", stFile(`[1,2]`, nil), []string{"does not start"}},
		{"unknown-dtype", stFile(`{"a":{"dtype":"F31","shape":[6],"data_offsets":[0,24]}}`, body), []string{`"a"`, "F31"}},
		{"missing-offsets", stFile(`{"a":{"dtype":"F32","shape":[6]}}`, body), []string{`"a"`, "data_offsets"}},
		{"negative-dim", stFile(`{"a":{"dtype":"F32","shape":[-2,-3],"data_offsets":[0,24]}}`, body), []string{`"a"`, "negative"}},
		{"fraction-dim", stFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,24]}}`, body), []string{`"a"`}},
		{"overflow-shape", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,24]}}`, body), []string{`"a"`, "too many"}},
		{"overflow-bytes", stFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,24]}}`, body), []string{`"a"`, "too "}},
		{"shape-mismatch", stFile(`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}}`, body), []string{`"a"`, "needs 16"}},
		{"out-of-range", stFile(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}`, body), []string{`"a"`, "past the end"}},
		{"huge-offset", stFile(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[18446744073709551600,18446744073709551615]}}`, body), []string{`"a"`}},
		{"reversed", stFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[24,0]}}`, body), []string{`"a"`, "reversed"}},
		{"three-offsets", stFile(`{"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24,24]}}`, body), []string{`"a"`, "3 values"}},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}`, body), []string{"overlaps"}},
		{"duplicate", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, body), []string{`"a"`, "twice"}},
		{"bad-metadata", stFile(`{"__metadata__":{"n":1}}`, nil), []string{"__metadata__"}},
		{"null-shape", stFile(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,24]}}`, body), []string{`"a"`}},
		{"legacy-torch", append([]byte(legacyTorchMagic), make([]byte, 20)...), []string{"legacy", "torch>=1.6"}},
		{"bare-pickle", []byte{0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0, 'N', '.'}, []string{"bare pickle"}},
	}
	for _, c := range cases {
		expectRefused(t, c.name+".safetensors", c.data, c.want...)
	}

	// A valid file cut at every interesting point.
	full := stFile(good, body)
	for _, n := range []int{1, 8, 9, 20, 8 + len(good) - 1, 8 + len(good), len(full) - 1} {
		expectRefused(t, fmt.Sprintf("cut-%d.safetensors", n), full[:n])
	}
	// Header lengths whose first byte looks like a pickle's PROTO opcode.
	for _, n := range []int{0x80, 0x280, 0x380} {
		h := `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`
		h += strings.Repeat(" ", n-len(h))
		path := filepath.Join(t.TempDir(), "x.safetensors")
		os.WriteFile(path, stFile(h, body), 0o644)
		s, err := Open(path)
		if err != nil {
			t.Errorf("header of %#x bytes: %v", n, err)
			continue
		}
		s.Close()
	}
	// Zero-length tensors may share offsets; gaps and trailing bytes are fine.
	path := filepath.Join(t.TempDir(), "ok.safetensors")
	ok := stFile(`{"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}  `, body)
	if err := os.WriteFile(path, ok, 0o644); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path)
	if len(s.Names()) != 2 {
		t.Errorf("names %v", s.Names())
	}
}

func TestLegacyTorchRefused(t *testing.T) {
	_, err := Open(fixture("legacy.bin"))
	if err == nil || !strings.Contains(err.Error(), "legacy") || !strings.Contains(err.Error(), "legacy.bin") {
		t.Errorf("legacy format: %v", err)
	}
}

func TestProtocol5(t *testing.T) {
	s := mustOpen(t, fixture("proto5.bin"))
	v := mustFloat32(t, s, "b")
	// b = base[1:].transpose(0, 1) with base = arange(60).reshape(3,4,5)/8-3.
	tn, _ := s.Tensor("b")
	if fmt.Sprint(tn.Shape) != "[4 2 5]" || v[0] != 20.0/8-3 || v[5] != 40.0/8-3 || v[10] != 25.0/8-3 {
		t.Errorf("b = %v %v", tn.Shape, v[:11])
	}
	if c, _ := s.Tensor("c"); c.DType != F16 || c.NumElements() != 4 {
		t.Errorf("c = %v %v", c.DType, c.Shape)
	}
}

// rezip copies a zip archive, letting edit change, drop (nil) or add
// entries.
func rezip(t *testing.T, src []byte, method uint16, edit func(name string, data []byte) []byte, extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if edit != nil {
			data = edit(f.Name, data)
		}
		if data != nil {
			write(f.Name, data)
		}
	}
	for name, data := range extra {
		write(name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPyTorchMalformed(t *testing.T) {
	views, err := os.ReadFile(fixture("views.bin"))
	if err != nil {
		t.Fatal(err)
	}
	replacePickle := func(p []byte) func(string, []byte) []byte {
		return func(name string, data []byte) []byte {
			if strings.HasSuffix(name, "data.pkl") {
				return p
			}
			return data
		}
	}
	origPkl := func() []byte {
		zr, _ := zip.NewReader(bytes.NewReader(views), int64(len(views)))
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, "data.pkl") {
				rc, _ := f.Open()
				b, _ := io.ReadAll(rc)
				return b
			}
		}
		t.Fatal("no data.pkl")
		return nil
	}()
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"no-data-pkl", rezip(t, views, zip.Store, func(n string, d []byte) []byte {
			if strings.HasSuffix(n, "data.pkl") {
				return nil
			}
			return d
		}, nil), []string{"data.pkl"}},
		{"plain-zip", rezip(t, views, zip.Deflate, func(string, []byte) []byte { return nil }, map[string][]byte{"readme.txt": []byte("hi")}), []string{"not a torch.save file"}},
		{"missing-storage", rezip(t, views, zip.Store, func(n string, d []byte) []byte {
			if strings.HasSuffix(n, "data/0") {
				return nil
			}
			return d
		}, nil), []string{"storage", "missing"}},
		{"short-storage", rezip(t, views, zip.Store, func(n string, d []byte) []byte {
			if strings.HasSuffix(n, "data/0") {
				return d[:len(d)-4]
			}
			return d
		}, nil), []string{"storage 0 has"}},
		{"two-archives", rezip(t, views, zip.Store, nil, map[string][]byte{"other/data.pkl": origPkl}), []string{"ambiguous"}},
		{"bad-byteorder", rezip(t, views, zip.Store, nil, map[string][]byte{"views/byteorder": []byte("middle")}), []string{"byteorder"}},
		{"unknown-opcode", rezip(t, views, zip.Store, replacePickle([]byte{0x80, 2, 'i', 'x', '\n'}), nil), []string{"opcode 0x69 ('i')", "unsupported"}},
		{"truncated-pickle", rezip(t, views, zip.Store, replacePickle(origPkl[:len(origPkl)/2]), nil), []string{"pickle", "truncated"}},
		{"not-a-dict", rezip(t, views, zip.Store, replacePickle([]byte{0x80, 2, 'K', 1, '.'}), nil), []string{"not a state dict"}},
		{"non-tensor", rezip(t, views, zip.Store, replacePickle([]byte{0x80, 2, '}', 'X', 1, 0, 0, 0, 'w', 'K', 1, 's', '.'}), nil), []string{`"w"`, "not a tensor"}},
	}
	for _, c := range cases {
		expectRefused(t, c.name+".bin", c.data, c.want...)
	}
	// One float expanded (stride 0) to 2^28 elements, named twice.
	bomb := p(0x80, 2, "}(", "X", u4(1), "a", "ctorch._utils\n_rebuild_tensor_v2\n(", storagePID(60), "K\x00",
		"(", 0x8a, 6, "\x00\x00\x00\x10\x00\x00", "t", "(K\x00t", 0x89, "NtRq\x01", "X", u4(1), "b", "h\x01", "u.")
	expectRefused(t, "expand-bomb.bin", rezip(t, views, zip.Store, replacePickle(bomb), nil), `"a"`, "memory budget")
	for _, frac := range []float64{0.1, 0.5, 0.9, 0.99} {
		expectRefused(t, fmt.Sprintf("cut-%v.bin", frac), views[:int(frac*float64(len(views)))])
	}
}

// TestPyTorchDeflated loads an archive whose entries were recompressed.
func TestPyTorchDeflated(t *testing.T) {
	views, err := os.ReadFile(fixture("views.bin"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "deflated.bin")
	if err := os.WriteFile(path, rezip(t, views, zip.Deflate, nil, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	a := mustOpen(t, path)
	b := mustOpen(t, fixture("views.bin"))
	for _, name := range b.Names() {
		ta, _ := a.Tensor(name)
		tb, _ := b.Tensor(name)
		if !bytes.Equal(ta.Bytes(), tb.Bytes()) {
			t.Errorf("%s differs after recompression", name)
		}
	}
}

// TestPyTorchBigEndian builds an archive marked byteorder "big" and checks
// that its values are swapped into place.
func TestPyTorchBigEndian(t *testing.T) {
	in := []NamedTensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, -2, 3.5, 1e-3}}}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	add("archive/data.pkl", statePickle(in, F32))
	add("archive/byteorder", []byte("big"))
	var be []byte
	for _, v := range in[0].Data {
		be = binary.BigEndian.AppendUint32(be, math.Float32bits(v))
	}
	add("archive/data/0", be)
	add("archive/version", []byte("3\n"))
	zw.Close()
	path := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(path, buf.Bytes(), 0o644)
	s := mustOpen(t, path)
	if got := mustFloat32(t, s, "w"); fmt.Sprint(got) != fmt.Sprint(in[0].Data) {
		t.Errorf("w = %v, want %v", got, in[0].Data)
	}
}
