// Package npy reads and writes NumPy's .npy files holding the 2-D float
// arrays embeddings are stored in: little-endian float16 ('<f2') or float32
// ('<f4'), C order, shape (rows, cols); a 1-D array (one embedding) reads
// as one row. It writes format version 1.0 with
// the header padded to 64 bytes, as numpy.save does, so numpy.load,
// embedding-reader and FAISS users read the files as they are; it reads
// versions 1.0, 2.0 and 3.0.
//
// The format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/goclip/goclip/checkpoint"
)

// DType is an element type, as the header's descr spells it.
type DType string

const (
	Float16 DType = "<f2"
	Float32 DType = "<f4"
)

// ParseDType accepts "float16"/"f16"/"<f2" and "float32"/"f32"/"<f4".
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "float16", "f16", "half", "<f2":
		return Float16, nil
	case "float32", "f32", "float", "<f4":
		return Float32, nil
	}
	return "", fmt.Errorf("dtype %q: want float16 or float32", s)
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	if d == Float16 {
		return 2
	}
	return 4
}

// Name is NumPy's name of the type: "float16" or "float32".
func (d DType) Name() string {
	if d == Float16 {
		return "float16"
	}
	return "float32"
}

// Header describes an array file.
type Header struct {
	DType      DType
	Rows, Cols int
	// DataOffset is where the elements start in the file.
	DataOffset int64
}

// DataSize is the number of bytes of the elements.
func (h Header) DataSize() int64 { return int64(h.Rows) * int64(h.Cols) * int64(h.DType.Size()) }

const magic = "\x93NUMPY"

// maxHeader bounds the header a reader accepts: numpy's own limit for
// headers it reads without allow_pickle is 10,000 bytes.
const maxHeader = 1 << 16

// Write writes rows (each of cols values) as an array of dt. float16
// values are rounded to nearest, ties to even, as NumPy's astype does.
// An empty rows writes a (0, cols) array.
func Write(w io.Writer, dt DType, cols int, rows [][]float32) error {
	if dt != Float16 && dt != Float32 {
		return fmt.Errorf("npy: unsupported dtype %q", dt)
	}
	for i, r := range rows {
		if len(r) != cols {
			return fmt.Errorf("npy: row %d has %d values, want %d", i, len(r), cols)
		}
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", dt, len(rows), cols)
	// magic (6) + version (2) + length (2) + dict + padding + '\n' is a
	// multiple of 64.
	total := (10 + len(dict) + 1 + 63) / 64 * 64
	hdr := make([]byte, 0, total)
	hdr = append(hdr, magic...)
	hdr = append(hdr, 1, 0)
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(total-10))
	hdr = append(hdr, dict...)
	for len(hdr) < total-1 {
		hdr = append(hdr, ' ')
	}
	hdr = append(hdr, '\n')
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, cols*dt.Size())
	for _, r := range rows {
		for j, v := range r {
			if dt == Float16 {
				binary.LittleEndian.PutUint16(buf[2*j:], checkpoint.F32ToF16(v))
			} else {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
			}
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ErrFormat is wrapped by every error about a file that is not a 2-D
// float16/float32 .npy array.
var ErrFormat = errors.New("not a 1-D or 2-D float16/float32 .npy array")

// ReadHeader reads the header at the start of r and leaves r at the first
// element.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if string(pre[:6]) != magic {
		return Header{}, fmt.Errorf("%w: no \\x93NUMPY magic", ErrFormat)
	}
	var n, off int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
		}
		n, off = int(binary.LittleEndian.Uint16(b[:])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
		}
		u := binary.LittleEndian.Uint32(b[:])
		if u > maxHeader {
			return Header{}, fmt.Errorf("%w: header of %d bytes", ErrFormat, u)
		}
		n, off = int(u), 12
	default:
		return Header{}, fmt.Errorf("%w: format version %d.%d", ErrFormat, pre[6], pre[7])
	}
	dict := make([]byte, n)
	if _, err := io.ReadFull(r, dict); err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	h, err := parseDict(string(dict))
	if err != nil {
		return Header{}, err
	}
	h.DataOffset = int64(off + n)
	return h, nil
}

// parseDict reads the header's Python dict literal: the three keys numpy
// writes, in any order, with the values this package supports.
func parseDict(s string) (Header, error) {
	bad := func(format string, a ...any) (Header, error) {
		return Header{}, fmt.Errorf("%w: "+format, append([]any{ErrFormat}, a...)...)
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return bad("header %q is not a dict", s)
	}
	var h Header
	fields := map[string]string{}
	rest := strings.TrimSpace(s[1 : len(s)-1])
	for rest != "" {
		if len(rest) < 2 || rest[0] != '\'' {
			return bad("header %q: want a quoted key", s)
		}
		end := strings.IndexByte(rest[1:], '\'')
		if end < 0 {
			return bad("header %q: unterminated key", s)
		}
		key := rest[1 : 1+end]
		rest = strings.TrimSpace(rest[2+end:])
		if !strings.HasPrefix(rest, ":") {
			return bad("header %q: want ':' after %q", s, key)
		}
		rest = strings.TrimSpace(rest[1:])
		var val string
		switch {
		case strings.HasPrefix(rest, "("):
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return bad("header %q: unterminated shape", s)
			}
			val, rest = rest[:end+1], rest[end+1:]
		case strings.HasPrefix(rest, "'"):
			end := strings.IndexByte(rest[1:], '\'')
			if end < 0 {
				return bad("header %q: unterminated value", s)
			}
			val, rest = rest[1:1+end], rest[2+end:]
		default:
			end := strings.IndexAny(rest, ",}")
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		if _, dup := fields[key]; dup {
			return bad("header %q: key %q twice", s, key)
		}
		fields[key] = val
		rest = strings.TrimSpace(rest)
		rest = strings.TrimPrefix(rest, ",")
		rest = strings.TrimSpace(rest)
	}
	switch DType(fields["descr"]) {
	case Float16, Float32:
		h.DType = DType(fields["descr"])
	default:
		return bad("dtype %q (want '<f2' or '<f4')", fields["descr"])
	}
	if fields["fortran_order"] != "False" {
		return bad("fortran_order %q (want False)", fields["fortran_order"])
	}
	shape := strings.Trim(fields["shape"], "()")
	dims := strings.Split(shape, ",")
	if strings.TrimSpace(dims[len(dims)-1]) == "" {
		dims = dims[:len(dims)-1] // (n,) or (r, c,)
	}
	if len(dims) == 1 {
		dims = []string{"1", dims[0]} // a vector reads as one row
	}
	if len(dims) != 2 {
		return bad("shape %s (want 1 or 2 dimensions)", fields["shape"])
	}
	for i, d := range dims {
		v, err := strconv.Atoi(strings.TrimSpace(d))
		if err != nil || v < 0 || v > math.MaxInt32 {
			return bad("shape %s", fields["shape"])
		}
		if i == 0 {
			h.Rows = v
		} else {
			h.Cols = v
		}
	}
	return h, nil
}

// Read reads a whole array as float32 values, row after row (float16 is
// widened exactly). It fails if the data is shorter than the header says.
func Read(r io.Reader) (Header, []float32, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return h, nil, err
	}
	n := h.Rows * h.Cols
	out := make([]float32, n)
	if err := Decode(bufio.NewReaderSize(r, 1<<16), h.DType, out); err != nil {
		return h, nil, err
	}
	return h, out, nil
}

// Decode reads len(dst) elements of dt from r into dst.
func Decode(r io.Reader, dt DType, dst []float32) error {
	buf := make([]byte, 4096*dt.Size())
	for done := 0; done < len(dst); {
		k := min(len(dst)-done, 4096)
		b := buf[:k*dt.Size()]
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("%w: data ends after %d of %d values", ErrFormat, done, len(dst))
		}
		for j := range k {
			if dt == Float16 {
				dst[done+j] = checkpoint.F16ToF32(binary.LittleEndian.Uint16(b[2*j:]))
			} else {
				dst[done+j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
			}
		}
		done += k
	}
	return nil
}
