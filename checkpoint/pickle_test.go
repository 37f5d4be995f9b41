package checkpoint

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// p concatenates pickle fragments: strings and bytes as they are.
func p(parts ...any) []byte {
	var b []byte
	for _, x := range parts {
		switch x := x.(type) {
		case string:
			b = append(b, x...)
		case byte:
			b = append(b, x)
		case int:
			b = append(b, byte(x))
		case []byte:
			b = append(b, x...)
		}
	}
	return b
}

// u4 returns a 4-byte little-endian count.
func u4(n int) string { return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}) }

// storagePID is a protocol-2 persistent id for storage key "0" of numel floats.
func storagePID(numel int) []byte {
	return p("(X", u4(7), "storage", "ctorch\nFloatStorage\n", "X", u4(1), "0", "X", u4(3), "cpu", "K", numel, "tQ")
}

func unpickleTest(data []byte) (any, error) {
	storages := make(map[string]*pyStorage)
	return unpickle(data, func(pid any) (any, error) { return loadStorage(pid, storages) })
}

func TestUnpickleValues(t *testing.T) {
	prog := p(0x80, 2, "}q\x00(",
		"X", u4(1), "i", "J", "\xff\xff\xff\xff", // -1
		"X", u4(1), "l", 0x8a, 2, "\x00\x80", // LONG1 -32768
		"X", u4(1), "f", "G", "\x3f\xf8\x00\x00\x00\x00\x00\x00", // 1.5
		"X", u4(1), "n", "N",
		"X", u4(1), "t", 0x88,
		"X", u4(1), "b", "U", 3, "abc", // bytes
		"X", u4(1), "s", 0x8c, 2, "hi",
		"X", u4(1), "L", "](K\x01K\x02e", // list [1, 2]
		"X", u4(1), "m", "h\x00", // memo: the dict itself
		"u.")
	v, err := unpickle(prog, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*pyDict)
	want := map[string]any{"i": int64(-1), "l": int64(-32768), "f": 1.5, "n": pyNone{}, "t": true, "b": pyBytes("abc"), "s": "hi"}
	for k, w := range want {
		if got, _ := d.get(k); got != w {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	if l, _ := d.get("L"); len(l.(*pyList).items) != 2 {
		t.Errorf("L = %#v", l)
	}
	if m, _ := d.get("m"); m != d {
		t.Error("memo did not return the same dict")
	}
}

func TestUnpickleTensor(t *testing.T) {
	tensor := func(offset int, size, stride any) []byte {
		return p(0x80, 2, "ccollections\nOrderedDict\n)R(", "X", u4(1), "w",
			"ctorch._utils\n_rebuild_tensor_v2\n(", storagePID(6), "K", offset, size, stride,
			0x89, "ccollections\nOrderedDict\n)R", "tR", "u.")
	}
	v, err := unpickleTest(tensor(1, "K\x02K\x02\x86", "K\x01K\x03\x86"))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := v.(*pyDict).get("w")
	pt := w.(*pyTensor)
	raw := []byte{0, 1, 2, 3, 4, 5}
	// elements offset 1 + i*1 + j*3: [[1,4],[2,5]]
	budget := int64(4)
	if got, err := viewBytes(raw, pt, 1, &budget); err != nil || string(got) != "\x01\x04\x02\x05" {
		t.Errorf("view = %v", got)
	}
	bad := map[string][]byte{
		"reaches element":   tensor(2, "K\x02K\x02\x86", "K\x01K\x03\x86"),
		"non-negative ints": tensor(0, "J\xff\xff\xff\xff\x85", "K\x01\x85"),
		"differ in length":  tensor(0, "K\x02\x85", "K\x01K\x01\x86"),
		"overflows":         tensor(0, "K\x05K\x02\x86", p("(", 0x8a, 8, "\x00\x00\x00\x00\x00\x00\x00\x40", "K\x01t")),
		"too many":          tensor(0, p("(", 0x8a, 8, "\x00\x00\x00\x00\x00\x00\x00\x40", 0x8a, 8, "\x00\x00\x00\x00\x00\x00\x00\x40t"), "K\x01K\x01\x86"),
	}
	for want, prog := range bad {
		if _, err := unpickleTest(prog); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}

func TestUnpickleRefuses(t *testing.T) {
	cases := map[string][]byte{
		"posix.system is not allowed":   p(0x80, 2, "cposix\nsystem\nX", u4(2), "ls\x85R."),
		"os.system is not allowed":      p(0x80, 4, 0x8c, 2, "os", 0x8c, 6, "system", 0x93, "."),
		"builtins.eval is not allowed":  p(0x80, 2, "cbuiltins\neval\n."),
		"torch.load is not allowed":     p("ctorch\nload\n."),
		"unsupported opcode":            p(0x80, 2, "I1\n."),
		"protocol 6":                    p(0x80, 6, "N."),
		"stack underflow":               p(0x80, 2, "s."),
		"no MARK":                       p("Nt."),
		"never stored":                  p("h\x05."),
		"runs past the end":             p("X", u4(1000), "abc."),
		"integer of 9 bytes":            p(0x8a, 9, "123456789."),
		"negative length":               p("T\xff\xff\xff\xff."),
		"calling str is not allowed":    p("X", u4(1), "f)R."),
		"instantiating":                 p("ctorch._utils\n_rebuild_tensor\n)", 0x81, "."),
		"setting the state of list":     p("]}b."),
		"appending to dict":             p("}Na."),
		"SETITEM on list":               p("]NNs."),
		"odd number":                    p("}(Nu."),
		"dict key of type list":         p("}]Ns."),
		"persistent ids are not allowe": p("NQ."),
		"no STOP":                       p(0x80, 2, "N"),
		"unterminated":                  p("cposix"),
		"OrderedDict of a str":          p("ccollections\nOrderedDict\nX", u4(1), "a\x85R."),
		"_rebuild_parameter of a None":  p("ctorch._utils\n_rebuild_parameter\nN\x89N\x87R."),
	}
	for want, prog := range cases {
		_, err := unpickle(prog, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
	pids := map[string][]byte{
		"5-tuple":         p("(X", u4(7), "storage", "t", "Q."),
		"kind \"module\"": p("(X", u4(6), "module", "ctorch\nFloatStorage\nX", u4(1), "0X", u4(3), "cpuK\x01tQ."),
		"non-negative":    p("(X", u4(7), "storage", "ctorch\nFloatStorage\nX", u4(1), "0X", u4(3), "cpuJ\xff\xff\xff\xfftQ."),
		"used as":         p("(", storagePID(6), storagePID(7), "t."),
	}
	for want, prog := range pids {
		if _, err := unpickleTest(prog); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}

// TestUnpickleCycles checks that self-referential lists and dicts do not
// hang or blow up.
func TestUnpickleCycles(t *testing.T) {
	v, err := unpickle(p("]q\x00h\x00a}q\x01X", u4(1), "kh\x01s", "a."), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := v.(*pyList)
	if len(l.items) != 2 || l.items[0] != l {
		t.Errorf("cycle not kept: %#v", l.items)
	}
}

// fixturePickles returns the data.pkl of every torch-made fixture.
func fixturePickles(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"views.bin", "proto5.bin", "evil-system.bin", "evil-eval.bin", "convert.bin", "tiny-synth-f16.bin"} {
		data, err := os.ReadFile(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, "/data.pkl") {
				rc, _ := f.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				out = append(out, b)
			}
		}
	}
	return out
}

// FuzzUnpickle runs the restricted unpickler on arbitrary bytes, then
// materialises every tensor view it accepts: nothing may panic, hang or
// allocate more than the input justifies.
func FuzzUnpickle(f *testing.F) {
	for _, b := range fixturePickles(f) {
		f.Add(b)
	}
	f.Add(statePickle(testTensors(), F16))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := unpickleTest(data)
		if err != nil {
			return
		}
		d, ok := v.(*pyDict)
		if !ok {
			return
		}
		budget := int64(1 << 22)
		raws := make(map[*pyStorage][]byte)
		for _, x := range d.vals {
			pt, ok := x.(*pyTensor)
			if !ok || pt.storage.numel > 1<<20 {
				continue
			}
			es := pt.storage.dtype.Size()
			raw, ok := raws[pt.storage]
			if !ok {
				raw = make([]byte, int(pt.storage.numel)*es)
				raws[pt.storage] = raw
			}
			n := 1
			for _, s := range pt.size {
				n *= int(s)
			}
			got, err := viewBytes(raw, pt, es, &budget)
			if err != nil {
				return
			}
			if len(got) != n*es {
				t.Fatalf("view of %d elements has %d bytes", n, len(got))
			}
		}
	})
}
