package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WriteSafetensors writes tensors to path as a safetensors file of the
// given dtype (F32, F16 or BF16; the narrowing conversions round to nearest
// even like torch's .half() and .bfloat16()), with optional string
// metadata. As the reference writer does, tensors are laid out sorted by
// name and the JSON header is padded with spaces to a multiple of 8 bytes,
// so every tensor's data is 8-byte aligned in the file. The file is written
// to a temporary name and renamed into place.
func WriteSafetensors(path string, tensors []NamedTensor, dtype DType, metadata map[string]string) error {
	sorted, err := checkTensors(tensors, dtype)
	if err != nil {
		return writeErr(path, err)
	}
	header, err := safetensorsHeader(sorted, dtype, metadata)
	if err != nil {
		return writeErr(path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(header); err != nil {
			return err
		}
		for _, t := range sorted {
			if err := writeElements(w, t.Data, dtype); err != nil {
				return err
			}
		}
		return nil
	})
}

// safetensorsHeader returns the padded JSON header for sorted tensors.
func safetensorsHeader(sorted []NamedTensor, dtype DType, metadata map[string]string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	quote := func(s string) {
		q, _ := json.Marshal(s) // a string always marshals
		b.Write(q)
	}
	if len(metadata) > 0 {
		b.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			quote(k)
			b.WriteByte(':')
			quote(metadata[k])
		}
		b.WriteByte('}')
	}
	offset := 0
	for i, t := range sorted {
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		quote(t.Name)
		fmt.Fprintf(&b, `:{"dtype":%q,"shape":[`, dtype.String())
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := offset + len(t.Data)*dtype.Size()
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	if pad := (8 - b.Len()%8) % 8; pad > 0 {
		b.WriteString(strings.Repeat(" ", pad))
	}
	if b.Len() > maxHeaderSize {
		return nil, fmt.Errorf("safetensors header of %d bytes exceeds the %d-byte limit", b.Len(), maxHeaderSize)
	}
	return []byte(b.String()), nil
}
