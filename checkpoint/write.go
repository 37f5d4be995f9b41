package checkpoint

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/goclip/goclip/internal/atomicfile"
)

// checkTensors validates tensors to write and returns them sorted by name.
func checkTensors(tensors []NamedTensor, dtype DType) ([]NamedTensor, error) {
	if dtype != F32 && dtype != F16 && dtype != BF16 {
		return nil, fmt.Errorf("cannot write dtype %v: want F32, F16 or BF16", dtype)
	}
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b NamedTensor) int { return strings.Compare(a.Name, b.Name) })
	for i, t := range sorted {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("tensor name %q is reserved", t.Name)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return nil, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		shape := make([]int64, len(t.Shape))
		for j, d := range t.Shape {
			shape[j] = int64(d)
		}
		n, _, err := shapeSize(shape, 4)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %q: shape %v needs %d values, have %d", t.Name, t.Shape, n, len(t.Data))
		}
	}
	return sorted, nil
}

// writeElements writes data as dtype, little-endian, through a small buffer.
func writeElements(w io.Writer, data []float32, dtype DType) error {
	var buf [8192]byte
	es := dtype.Size()
	for len(data) > 0 {
		n := min(len(data), len(buf)/es)
		for i, v := range data[:n] {
			switch dtype {
			case F32:
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			case F16:
				binary.LittleEndian.PutUint16(buf[2*i:], F32ToF16(v))
			case BF16:
				binary.LittleEndian.PutUint16(buf[2*i:], F32ToBF16(v))
			}
		}
		if _, err := w.Write(buf[:n*es]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// writeAtomic writes a checkpoint file through fill (see package
// atomicfile: readers never see a partial file).
func writeAtomic(path string, fill func(w io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, fill); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// writeErr wraps a writer's error with the file name.
func writeErr(path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("checkpoint: writing %s: %w", path, err)
}
