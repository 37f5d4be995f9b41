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

// dtypeInfo lists, for every DType, its safetensors name and element size.
var dtypeInfo = [...]struct {
	name string
	size int
}{
	Invalid: {"invalid", 0},
	F32:     {"F32", 4},
	F16:     {"F16", 2},
	BF16:    {"BF16", 2},
	F64:     {"F64", 8},
	I64:     {"I64", 8},
	I32:     {"I32", 4},
	I16:     {"I16", 2},
	I8:      {"I8", 1},
	U8:      {"U8", 1},
	Bool:    {"BOOL", 1},
}

// String returns the safetensors name of d, such as "F32".
func (d DType) String() string {
	if d <= Invalid || int(d) >= len(dtypeInfo) {
		return fmt.Sprintf("DType(%d)", int(d))
	}
	return dtypeInfo[d].name
}

// Size returns the size of one element in bytes, or 0 for an invalid DType.
func (d DType) Size() int {
	if d <= Invalid || int(d) >= len(dtypeInfo) {
		return 0
	}
	return dtypeInfo[d].size
}

// IsFloat reports whether d is a floating-point type that [Tensor.Float32]
// converts.
func (d DType) IsFloat() bool {
	return d == F32 || d == F16 || d == BF16 || d == F64
}

// ParseDType returns the DType with safetensors name s.
func ParseDType(s string) (DType, error) {
	for d := F32; int(d) < len(dtypeInfo); d++ {
		if dtypeInfo[d].name == s {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("unknown dtype %q", s)
}
