package checkpoint

import "fmt"

// DType is the element type of a tensor. Its string form is the safetensors
// spelling ("F32", "BF16", ...).
type DType int

// The element types a checkpoint may hold. Only the floating types convert
// to float32; the integer and boolean types (position_ids buffers, masks)
// are loaded so that a checkpoint holding them opens, and read with
// [Tensor.Int64].
const (
	Invalid DType = iota
	F32
	F16
	BF16
	F64
	I64
	I32
	I16
	I8
	U8
	Bool
)

// info returns the safetensors name and element size of d.
func (d DType) info() (name string, size int, ok bool) {
	switch d {
	case F32:
		return "F32", 4, true
	case F16:
		return "F16", 2, true
	case BF16:
		return "BF16", 2, true
	case F64:
		return "F64", 8, true
	case I64:
		return "I64", 8, true
	case I32:
		return "I32", 4, true
	case I16:
		return "I16", 2, true
	case I8:
		return "I8", 1, true
	case U8:
		return "U8", 1, true
	case Bool:
		return "BOOL", 1, true
	}
	return "", 0, false
}

// String returns the safetensors name of d, such as "F32".
func (d DType) String() string {
	if name, _, ok := d.info(); ok {
		return name
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Size returns the size of one element in bytes, or 0 for an invalid DType.
func (d DType) Size() int {
	_, size, _ := d.info()
	return size
}

// IsFloat reports whether d is a floating-point type that [Tensor.Float32]
// converts.
func (d DType) IsFloat() bool {
	return d == F32 || d == F16 || d == BF16 || d == F64
}

// ParseDType returns the DType with safetensors name s.
func ParseDType(s string) (DType, error) {
	for d := F32; d <= Bool; d++ {
		if name, _, _ := d.info(); name == s {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("unknown dtype %q", s)
}
