package tensor

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// aligned returns a copy of b at a 64-byte aligned address, as a mapped
// file's pages are.
func aligned(b []byte) []byte {
	buf := make([]byte, len(b)+64)
	off := int(-uintptr(unsafe.Pointer(&buf[0])) & 63)
	return append(buf[off:off:off+len(b)], b...)
}

func TestEncodeView(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	p := NewPool(2)
	defer p.Close()
	for _, int8 := range []bool{false, true} {
		for _, shape := range [][2]int{{1, 1}, {50, 37}, {97, 130}, {768, 768}} {
			out, in := shape[0], shape[1]
			w := randSlice(r, out*in, 1)
			pack := Pack
			if int8 {
				pack = PackInt8
			}
			m, err := pack(w, out, in)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != m.EncodedSize() || buf.Len()%64 != 0 {
				t.Fatalf("int8 %v %dx%d: encoded %d bytes, EncodedSize %d", int8, out, in, buf.Len(), m.EncodedSize())
			}
			// Another matrix follows in the same buffer: View takes its own bytes only.
			b := aligned(append(buf.Bytes(), make([]byte, 128)...))
			v, n, err := View(b, out, in)
			if err != nil {
				t.Fatalf("int8 %v %dx%d: %v", int8, out, in, err)
			}
			if n != m.EncodedSize() || v.IsInt8() != int8 {
				t.Fatalf("int8 %v %dx%d: view took %d bytes (want %d), int8 %v", int8, out, in, n, m.EncodedSize(), v.IsInt8())
			}
			const rows = 9
			x := randSlice(r, rows*in, 1)
			bias := randSlice(r, out, 1)
			want := make([]float32, rows*out)
			got := make([]float32, rows*out)
			ep := Epilogue{Bias: bias, Act: QuickGELU}
			p.Linear(want, x, rows, m, ep)
			p.Linear(got, x, rows, v, ep)
			if !slices.Equal(got, want) {
				t.Fatalf("int8 %v %dx%d: Linear through the view differs from the packed matrix", int8, out, in)
			}
		}
	}
}

func TestViewRefuses(t *testing.T) {
	m, err := Pack(randSlice(rand.New(rand.NewPCG(2, 2)), 30*20, 1), 30, 20)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	good := aligned(buf.Bytes())
	edit := func(f func(b []byte)) []byte {
		b := aligned(good)
		f(b)
		return b
	}
	for _, c := range []struct {
		name    string
		b       []byte
		out, in int
		want    string
	}{
		{"short", good[:40], 30, 20, "at least 64"},
		{"truncated", good[:len(good)-64], 30, 20, "bytes"},
		{"shape", good, 20, 30, "a 30×20 matrix, want 20×30"},
		{"magic", edit(func(b []byte) { b[0] ^= 1 }), 30, 20, "not an encoded matrix"},
		{"kind", edit(func(b []byte) { binary.NativeEndian.PutUint32(b[4:], 9) }), 30, 20, "unknown kind"},
		{"layout", edit(func(b []byte) { binary.NativeEndian.PutUint64(b[24:], 7) }), 30, 20, "packed for panels of 7"},
		{"misaligned", aligned(append([]byte{0}, good...))[1:], 30, 20, "aligned"},
	} {
		if _, _, err := View(c.b, c.out, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}
