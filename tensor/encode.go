package tensor

import (
	"encoding/binary"
	"fmt"
	"io"
	"unsafe"
)

// Saved matrices. Packing copies every weight once into new memory, which
// is most of a model's load time; a program can instead keep a Matrix's
// packed form in a file (Encode) and map it back (View) on later runs,
// as package clip's pack cache does. The form is this process's own: the
// values in native byte order, in the layout of the kernels in use, so a
// View of a form saved under another layout (another kernel set or CPU)
// or byte order is refused and the weights must be packed again.

// encodedHeader is the size of an encoded Matrix's header; its values
// follow at that offset, so they stay as aligned as the header is.
const encodedHeader = 64

// encodedMagic starts an encoded Matrix, in native byte order: a form
// written on a machine of the other byte order does not match it.
const encodedMagic uint32 = 0x676d7831 // "gmx1"

// Kinds of encoded matrices.
const (
	kindFloat32 uint32 = 1
	kindInt8    uint32 = 2
)

// PackedLayout describes the layout Pack (int8: PackInt8) uses in this
// process, e.g. "f32 nr48 kc128": an encoded Matrix is valid only where
// this is the same, so callers keying saved forms include it.
func PackedLayout(int8 bool) string {
	k := defaultKernels()
	if int8 {
		return fmt.Sprintf("i8 nr%d kc%d", k.layI8.nr, k.layI8.kc)
	}
	return fmt.Sprintf("f32 nr%d kc%d", k.lay.nr, k.lay.kc)
}

// EncodedSize is the number of bytes Encode writes for m: a multiple of 64.
func (m *Matrix) EncodedSize() int {
	n := 0
	if m.q != nil {
		n = len(m.q.b) + 4*len(m.q.scale) + 4*len(m.q.colSum)
	} else {
		n = 4 * len(m.p)
	}
	return encodedHeader + (n+63)&^63
}

// Encode writes m's packed form (EncodedSize bytes) to w; View reads it
// back.
func (m *Matrix) Encode(w io.Writer) error {
	var h [encodedHeader]byte
	ne := binary.NativeEndian
	ne.PutUint32(h[0:], encodedMagic)
	kind := kindFloat32
	if m.q != nil {
		kind = kindInt8
	}
	ne.PutUint32(h[4:], kind)
	ne.PutUint64(h[8:], uint64(m.out))
	ne.PutUint64(h[16:], uint64(m.in))
	ne.PutUint64(h[24:], uint64(m.lay.nr))
	ne.PutUint64(h[32:], uint64(m.lay.kc))
	ne.PutUint64(h[40:], uint64(m.lay.mc))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	n := 0
	write := func(b []byte) error {
		n += len(b)
		_, err := w.Write(b)
		return err
	}
	var err error
	if m.q != nil {
		err = write(bytesOf(m.q.b))
		if err == nil {
			err = write(bytesOf(m.q.scale))
		}
		if err == nil {
			err = write(bytesOf(m.q.colSum))
		}
	} else {
		err = write(bytesOf(m.p))
	}
	if err == nil && n%64 != 0 {
		err = write(make([]byte, 64-n%64))
	}
	return err
}

// View returns the Matrix that Encode wrote at the start of b, of out×in
// weights, reading its values from b itself: nothing is copied, so b must
// stay unchanged (a read-only mapping of a file, say) for as long as the
// Matrix is used. b must be 8-byte aligned. View checks the header (its
// shape, its layout against the one Pack or PackInt8 uses in this process)
// and the size, not the values: a caller reading b from a file checks the
// file's integrity itself. It returns the Matrix and the bytes it took
// (EncodedSize).
func View(b []byte, out, in int) (*Matrix, int, error) {
	if len(b) < encodedHeader {
		return nil, 0, fmt.Errorf("tensor: view: %d bytes, want at least %d", len(b), encodedHeader)
	}
	if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return nil, 0, fmt.Errorf("tensor: view: the bytes are not 8-byte aligned")
	}
	ne := binary.NativeEndian
	if ne.Uint32(b) != encodedMagic {
		return nil, 0, fmt.Errorf("tensor: view: not an encoded matrix (or one of the other byte order)")
	}
	kind := ne.Uint32(b[4:])
	lay := layout{nr: int(ne.Uint64(b[24:])), kc: int(ne.Uint64(b[32:])), mc: int(ne.Uint64(b[40:]))}
	if o, i := ne.Uint64(b[8:]), ne.Uint64(b[16:]); o != uint64(out) || i != uint64(in) {
		return nil, 0, fmt.Errorf("tensor: view: a %d×%d matrix, want %d×%d", o, i, out, in)
	}
	if out < 0 || in < 0 {
		return nil, 0, fmt.Errorf("tensor: view: shape %d×%d", out, in)
	}
	var want layout
	switch kind {
	case kindFloat32:
		want = defaultKernels().lay
	case kindInt8:
		want = defaultKernels().layI8
	default:
		return nil, 0, fmt.Errorf("tensor: view: unknown kind %d", kind)
	}
	if lay != want {
		return nil, 0, fmt.Errorf("tensor: view: packed for panels of %d, blocks of %d; this process packs for %d and %d", lay.nr, lay.kc, want.nr, want.kc)
	}
	m := &Matrix{out: out, in: in, lay: lay, panels: (out + lay.nr - 1) / lay.nr}
	data := b[encodedHeader:]
	var n int
	if kind == kindInt8 {
		k4 := (in + 3) / 4
		cols := m.panels * lay.nr
		nb := cols * 4 * k4
		n = nb + 8*cols
		if len(data) < n {
			return nil, 0, fmt.Errorf("tensor: view: %d bytes of values, want %d", len(data), n)
		}
		m.q = &qmat{
			k4:     k4,
			b:      viewOf[int8](data[:nb], nb),
			scale:  viewOf[float32](data[nb:nb+4*cols], cols),
			colSum: viewOf[int32](data[nb+4*cols:n], cols),
		}
	} else {
		np := m.panels * in * lay.nr
		n = 4 * np
		if len(data) < n {
			return nil, 0, fmt.Errorf("tensor: view: %d bytes of values, want %d", len(data), n)
		}
		m.p = viewOf[float32](data[:n], np)
	}
	size := encodedHeader + (n+63)&^63
	if len(b) < size {
		return nil, 0, fmt.Errorf("tensor: view: %d bytes, want %d", len(b), size)
	}
	return m, size, nil
}

// bytesOf is the memory of s as bytes.
func bytesOf[T int8 | int32 | float32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// viewOf is b read as n values of T (b holds exactly their bytes and is
// aligned for T).
func viewOf[T int8 | int32 | float32](b []byte, n int) []T {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}
