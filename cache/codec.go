package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// A stored vector is
//
//	byte 0     format version (valueVersion)
//	bytes 1-4  dimension, uint32 little-endian
//	bytes 5-8  CRC-32C (Castagnoli) of the payload, little-endian
//	bytes 9-   dimension float32 values, little-endian
//
// The checksum catches damage bbolt cannot see: it checksums its meta pages
// but not the data pages.
const (
	valueVersion = 1
	headerSize   = 9
	maxDim       = 1 << 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeVector returns v in the stored format. It refuses empty, huge and
// non-finite vectors: caching an encoder's NaN would keep a bug alive.
func encodeVector(v []float32) ([]byte, error) {
	if len(v) == 0 {
		return nil, errors.New("empty vector")
	}
	if len(v) > maxDim {
		return nil, fmt.Errorf("vector of %d values is longer than the limit %d", len(v), maxDim)
	}
	b := make([]byte, headerSize+4*len(v))
	b[0] = valueVersion
	binary.LittleEndian.PutUint32(b[1:], uint32(len(v)))
	p := b[headerSize:]
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("non-finite value %v at index %d", x, i)
		}
		binary.LittleEndian.PutUint32(p[4*i:], math.Float32bits(x))
	}
	binary.LittleEndian.PutUint32(b[5:], crc32.Checksum(p, castagnoli))
	return b, nil
}

// decodeVector validates a stored value and returns a copy of its vector
// (b belongs to the transaction and must not be kept).
func decodeVector(b []byte) ([]float32, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("entry of %d bytes is shorter than its header", len(b))
	}
	if b[0] != valueVersion {
		return nil, fmt.Errorf("entry format version %d, want %d", b[0], valueVersion)
	}
	dim := binary.LittleEndian.Uint32(b[1:])
	if dim == 0 || dim > maxDim || int64(len(b)) != headerSize+4*int64(dim) {
		return nil, fmt.Errorf("entry of %d bytes does not hold %d values", len(b), dim)
	}
	p := b[headerSize:]
	if got, want := crc32.Checksum(p, castagnoli), binary.LittleEndian.Uint32(b[5:]); got != want {
		return nil, fmt.Errorf("entry checksum %08x, want %08x", got, want)
	}
	v := make([]float32, dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return v, nil
}
