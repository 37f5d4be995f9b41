package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// Tensor is one named array of a checkpoint. Its elements are stored
// contiguously in row-major order, little-endian.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// File is the file the tensor was read from; errors name it.
	File string

	data   []byte // len(data) == NumElements()*DType.Size()
	closed bool   // the store was closed: data is gone
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d // validated when the tensor was made: no overflow
	}
	return n
}

// Bytes returns the raw little-endian elements. The slice may alias a
// read-only mapping of the file: it must not be modified, and is valid only
// until the store is closed (after which Bytes returns nil).
func (t *Tensor) Bytes() []byte { return t.data }

// Float32 returns the elements as float32. For an F32 tensor that is 4-byte
// aligned in its file (always, for files this package writes and for
// torch.save archives) on a little-endian machine, the slice is a view of
// the mapped file: it costs nothing, must not be modified (the mapping is
// read-only, writing faults) and is valid only until the store is closed;
// clone it to keep or change it. Otherwise a new slice is returned: F16 and
// BF16 convert exactly, F64 rounds to nearest. Integer tensors are an error.
func (t *Tensor) Float32() ([]float32, error) {
	if t.closed {
		return nil, t.errorf("store is closed")
	}
	n := len(t.data) / max(t.DType.Size(), 1)
	switch t.DType {
	case F32:
		if n == 0 {
			return []float32{}, nil
		}
		if littleEndianHost() && uintptr(unsafe.Pointer(&t.data[0]))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(&t.data[0])), n), nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
		}
		return out, nil
	case F16:
		out := make([]float32, n)
		for i := range out {
			out[i] = F16ToF32(binary.LittleEndian.Uint16(t.data[2*i:]))
		}
		return out, nil
	case BF16:
		out := make([]float32, n)
		for i := range out {
			out[i] = BF16ToF32(binary.LittleEndian.Uint16(t.data[2*i:]))
		}
		return out, nil
	case F64:
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.data[8*i:])))
		}
		return out, nil
	}
	return nil, t.errorf("dtype %v does not convert to float32", t.DType)
}

// Int64 returns the elements of an integer or boolean tensor as int64
// (position_ids buffers, for instance). Floating tensors are an error.
func (t *Tensor) Int64() ([]int64, error) {
	if t.closed {
		return nil, t.errorf("store is closed")
	}
	size := t.DType.Size()
	if t.DType.IsFloat() || size == 0 {
		return nil, t.errorf("dtype %v is not an integer type", t.DType)
	}
	out := make([]int64, len(t.data)/size)
	le := binary.LittleEndian
	for i := range out {
		switch t.DType {
		case I64:
			out[i] = int64(le.Uint64(t.data[8*i:]))
		case I32:
			out[i] = int64(int32(le.Uint32(t.data[4*i:])))
		case I16:
			out[i] = int64(int16(le.Uint16(t.data[2*i:])))
		case I8:
			out[i] = int64(int8(t.data[i]))
		case U8, Bool:
			out[i] = int64(t.data[i])
		}
	}
	return out, nil
}

// errorf returns an error naming the tensor and its file.
func (t *Tensor) errorf(format string, args ...any) error {
	return fmt.Errorf("checkpoint: %s: tensor %q: %s", t.File, t.Name, fmt.Sprintf(format, args...))
}

// NamedTensor is a float32 tensor to write with [WriteSafetensors] or
// [WritePyTorch]: Data holds the product of Shape elements, row-major.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// littleEndianHost reports whether the machine stores integers
// little-endian, so that file bytes can be viewed as float32 directly.
func littleEndianHost() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// shapeSize returns the number of elements and bytes of a tensor of the
// given shape and element size, refusing negative dimensions and any
// product that overflows an int.
func shapeSize(shape []int64, elemSize int) (elems, nbytes int, err error) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n = lo
	}
	hi, b := bits.Mul64(n, uint64(elemSize))
	if hi != 0 || b > math.MaxInt {
		return 0, 0, fmt.Errorf("shape %v is too large in bytes", shape)
	}
	return int(n), int(b), nil
}

// intShape converts a validated shape to []int.
func intShape(shape []int64) []int {
	out := make([]int, len(shape))
	for i, d := range shape {
		out[i] = int(d)
	}
	return out
}
