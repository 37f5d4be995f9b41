// Package index is goclip's search index: one file holding the
// L2-normalised image embeddings of a photo collection as float16, the
// path, size and modification time of each image, and the fingerprint of
// the model that made them. The file is memory-mapped: opening it reads
// its header only, and a search streams the vectors once (Search), with
// SIMD on every core.
//
// Layout (little-endian; sections 64-byte aligned):
//
//	header   4096 bytes: "GOCLIPIX", version, dtype, dim, count, section
//	         offsets, the model fingerprint, a CRC-32 of the header
//	vectors  count × dim float16, row after row
//	entries  count × 32 bytes: path offset, path length, size, mtime (ns)
//	paths    the paths, one after another
//	ivf      optional: the inverted file of approximate search (ivf.go)
//
// Rows are sorted by path. Build and Import write a new file next to the
// old one and rename it over it, so a reader never sees half an index.
package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unsafe"

	"github.com/goclip/goclip/internal/mmap"
)

const (
	magic      = "GOCLIPIX"
	version    = 1
	dtypeF16   = 1
	headerSize = 4096
	entrySize  = 32
	maxModel   = 1024 // bytes of the fingerprint, and of the model reference
	maxDim     = 1 << 16
)

// ErrFormat is wrapped by the errors of a file that is not a goclip index,
// or a damaged one.
var ErrFormat = errors.New("not a goclip search index")

// ErrModel is wrapped by the error of a query or a build with another
// model than the index's.
var ErrModel = errors.New("index was made by another model")

// Entry is what the index knows of one image.
type Entry struct {
	Path    string
	Size    int64 // bytes; 0 for an imported entry
	ModTime int64 // Unix nanoseconds; 0 for an imported entry
}

// Index is an open index file. It is safe for concurrent use; its methods
// must not be called after Close.
type Index struct {
	path    string
	model   string
	ref     string
	dim     int
	n       int
	f       *mmap.File
	vecs    []uint16
	entries []byte
	paths   []byte
	ivf     *ivfView // nil without one
}

// Open opens the index file at path, checking its header and that the
// sections fit the file; the vectors and paths are not read.
func Open(path string) (*Index, error) {
	f, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	x, err := parse(path, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	return x, nil
}

type header struct {
	dim, n                         int
	vecOff, entOff, strOff, strLen uint64
	nlist                          int
	ivfOff                         uint64
	model                          string
	ref                            string // the model as the user named it (Index.ModelRef)
}

// modelAt is where the fingerprint starts in the header; refAt where the
// model reference does.
const (
	modelAt = 128
	refAt   = modelAt + maxModel
)

// end is the file size the header describes.
func (h header) end() uint64 {
	if h.nlist > 0 {
		return h.ivfOff + ivfSize(h.n, h.dim, h.nlist)
	}
	return h.strOff + h.strLen
}

func (h header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], version)
	le.PutUint32(b[12:], dtypeF16)
	le.PutUint32(b[16:], uint32(h.dim))
	le.PutUint32(b[20:], uint32(len(h.model)))
	le.PutUint64(b[24:], uint64(h.n))
	le.PutUint64(b[32:], h.vecOff)
	le.PutUint64(b[40:], h.entOff)
	le.PutUint64(b[48:], h.strOff)
	le.PutUint64(b[56:], h.strLen)
	le.PutUint32(b[64:], uint32(h.nlist))
	le.PutUint64(b[72:], h.ivfOff)
	le.PutUint32(b[80:], uint32(len(h.ref)))
	copy(b[modelAt:], h.model)
	copy(b[refAt:], h.ref)
	le.PutUint32(b[headerSize-4:], crc32.ChecksumIEEE(b[:headerSize-4]))
	return b
}

// layout computes the section offsets of an index of n rows of dim values
// with strLen bytes of paths and an IVF of nlist lists (0: none).
func layout(n, dim int, strLen uint64, nlist int, model string) header {
	h := header{dim: dim, n: n, model: model, strLen: strLen, vecOff: headerSize, nlist: nlist}
	h.entOff = align(h.vecOff + uint64(n)*uint64(dim)*2)
	h.strOff = align(h.entOff + uint64(n)*entrySize)
	if nlist > 0 {
		h.ivfOff = align(h.strOff + strLen)
	}
	return h
}

func align(v uint64) uint64 { return (v + 63) &^ 63 }

func parse(path string, f *mmap.File) (*Index, error) {
	b := f.Data
	if len(b) < headerSize || string(b[:8]) != magic {
		return nil, fmt.Errorf("%w (no GOCLIPIX header)", ErrFormat)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != version {
		return nil, fmt.Errorf("%w: format version %d (this goclip reads %d)", ErrFormat, v, version)
	}
	if crc32.ChecksumIEEE(b[:headerSize-4]) != le.Uint32(b[headerSize-4:]) {
		return nil, fmt.Errorf("%w: header checksum mismatch (damaged file)", ErrFormat)
	}
	if d := le.Uint32(b[12:]); d != dtypeF16 {
		return nil, fmt.Errorf("%w: vector type %d", ErrFormat, d)
	}
	dim, mlen, n := le.Uint32(b[16:]), le.Uint32(b[20:]), le.Uint64(b[24:])
	if dim == 0 || dim > maxDim || mlen > maxModel || n > 1<<40 {
		return nil, fmt.Errorf("%w: header values out of range (dim %d, %d rows)", ErrFormat, dim, n)
	}
	nlist := le.Uint32(b[64:])
	if nlist > uint32(n) || n > 0 && nlist == 0 && le.Uint64(b[72:]) != 0 {
		return nil, fmt.Errorf("%w: %d IVF lists for %d rows", ErrFormat, nlist, n)
	}
	rlen := le.Uint32(b[80:])
	if rlen > maxModel {
		return nil, fmt.Errorf("%w: header values out of range (model reference of %d bytes)", ErrFormat, rlen)
	}
	h := layout(int(n), int(dim), le.Uint64(b[56:]), int(nlist), string(b[modelAt:modelAt+mlen]))
	h.ref = string(b[refAt : refAt+rlen])
	if le.Uint64(b[32:]) != h.vecOff || le.Uint64(b[40:]) != h.entOff || le.Uint64(b[48:]) != h.strOff || le.Uint64(b[72:]) != h.ivfOff {
		return nil, fmt.Errorf("%w: section offsets do not match the header", ErrFormat)
	}
	if end := h.end(); end != uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d bytes, the header says %d (truncated or appended to)", ErrFormat, len(b), end)
	}
	x := &Index{path: path, model: h.model, ref: h.ref, dim: h.dim, n: h.n, f: f}
	if h.n > 0 {
		// The file is 64-byte aligned in memory (a mapping starts on a
		// page; a heap copy on at least 8 bytes) and vecOff is even.
		x.vecs = unsafe.Slice((*uint16)(unsafe.Pointer(&b[h.vecOff])), h.n*h.dim)
	}
	x.entries = b[h.entOff : h.entOff+uint64(h.n)*entrySize]
	x.paths = b[h.strOff : h.strOff+h.strLen]
	if h.nlist > 0 {
		v, err := parseIVF(b[h.ivfOff:], h.n, h.dim, h.nlist)
		if err != nil {
			return nil, err
		}
		x.ivf = v
	}
	return x, nil
}

// Close unmaps the file.
func (x *Index) Close() error { return x.f.Close() }

// Path is the file's name.
func (x *Index) Path() string { return x.path }

// Model is the fingerprint of the model that made the embeddings.
func (x *Index) Model() string { return x.model }

// ModelRef is that model as it was named when the index was written (a
// folder or a Hub id), for a search to load by default; "" if unknown.
func (x *Index) ModelRef() string { return x.ref }

// Dim is the length of the vectors.
func (x *Index) Dim() int { return x.dim }

// Len is the number of images.
func (x *Index) Len() int { return x.n }

// Vector returns row i's float16 values (their bits); it must not be
// modified.
func (x *Index) Vector(i int) []uint16 { return x.vecs[i*x.dim : (i+1)*x.dim] }

// Entry returns row i's entry. A path that runs outside the file is a
// damaged index.
func (x *Index) Entry(i int) (Entry, error) {
	e := x.entries[i*entrySize:]
	le := binary.LittleEndian
	off, n := le.Uint64(e), uint64(le.Uint32(e[8:]))
	if off > uint64(len(x.paths)) || n > uint64(len(x.paths))-off {
		return Entry{}, fmt.Errorf("index %s: %w: row %d's path lies outside the file", x.path, ErrFormat, i)
	}
	return Entry{Path: string(x.paths[off : off+n]), Size: int64(le.Uint64(e[16:])), ModTime: int64(le.Uint64(e[24:]))}, nil
}

// CheckModel returns an error wrapping ErrModel unless fingerprint is the
// index's model.
func (x *Index) CheckModel(fingerprint string) error {
	if fingerprint != x.model {
		return fmt.Errorf("index %s: %w (index: %.16s…, this model: %.16s…): query with the index's model, or build a new index", x.path, ErrModel, x.model, fingerprint)
	}
	return nil
}

// ivfData is the IVF a new index carries: centroids and lists (trainIVF).
type ivfData struct {
	centroids []float32
	lists     [][]uint32
}

// write writes an index of the given entries, sorted by path, row i's
// vector given by vec(i), with the IVF iv (nil: none).
func write(w io.Writer, model, ref string, dim int, entries []Entry, vec func(i int) []uint16, iv *ivfData) error {
	if len(model) > maxModel {
		return fmt.Errorf("model fingerprint of %d bytes", len(model))
	}
	if len(ref) > maxModel {
		ref = "" // an odd name: searches then need --model
	}
	var strLen uint64
	for _, e := range entries {
		strLen += uint64(len(e.Path))
	}
	nlist := 0
	if iv != nil {
		nlist = len(iv.lists)
	}
	h := layout(len(entries), dim, strLen, nlist, model)
	h.ref = ref
	if _, err := w.Write(h.encode()); err != nil {
		return err
	}
	pos := uint64(headerSize)
	pad := func(to uint64) error {
		if to > pos {
			if _, err := w.Write(make([]byte, to-pos)); err != nil {
				return err
			}
			pos = to
		}
		return nil
	}
	buf := make([]byte, 0, 1<<16)
	flush := func(force bool) error {
		if len(buf) > 0 && (force || len(buf) > cap(buf)-4096) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			pos += uint64(len(buf))
			buf = buf[:0]
		}
		return nil
	}
	for i := range entries {
		v := vec(i)
		if len(v) != dim {
			return fmt.Errorf("row %d: %d values, want %d", i, len(v), dim)
		}
		for _, bits := range v {
			buf = binary.LittleEndian.AppendUint16(buf, bits)
			if len(buf) == cap(buf) {
				if err := flush(true); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	if err := pad(h.entOff); err != nil {
		return err
	}
	var off uint64
	for _, e := range entries {
		buf = binary.LittleEndian.AppendUint64(buf, off)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(e.Path)))
		buf = binary.LittleEndian.AppendUint32(buf, 0)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.Size))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(e.ModTime))
		off += uint64(len(e.Path))
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	if err := pad(h.strOff); err != nil {
		return err
	}
	for _, e := range entries {
		buf = append(buf, e.Path...)
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	if iv == nil {
		return nil
	}
	if err := pad(h.ivfOff); err != nil {
		return err
	}
	_, err := w.Write(appendIVF(nil, iv.centroids, iv.lists))
	return err
}
