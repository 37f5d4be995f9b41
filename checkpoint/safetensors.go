package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// maxHeaderSize caps a safetensors JSON header, as the format's reference
// implementation does, so that a lying length cannot make us allocate.
const maxHeaderSize = 100_000_000

// stInfo is one tensor entry of a safetensors header.
type stInfo struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets []uint64 `json:"data_offsets"`
}

// parseSafetensors validates the safetensors file data and returns its
// tensors, which alias data, and its metadata. file names the file in
// errors.
//
// The layout is an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}), then the tensor bytes; offsets are
// relative to the end of the header. Everything is checked: the length
// against the file size and the 100 MB cap, the JSON (duplicate names
// included), dtypes, dimensions, that each byte span matches its shape and
// lies inside the file, and that no two spans overlap.
func parseSafetensors(data []byte, file string) (map[string]*Tensor, map[string]string, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: safetensors: %s", file, fmt.Sprintf(format, args...))
	}
	if len(data) < 8 {
		return nil, nil, fail("file of %d bytes is too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeaderSize {
		return nil, nil, fail("header length %d exceeds the %d-byte limit (not a safetensors file?)", n, maxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, nil, fail("header length %d runs past the end of the %d-byte file (truncated?)", n, len(data))
	}
	header := data[8 : 8+n]
	body := data[8+n:]
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, fail("header does not start with '{' (not a safetensors file?)")
	}

	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // the '{' checked above
		return nil, nil, fail("header JSON: %v", err)
	}
	tensors := make(map[string]*Tensor)
	var meta map[string]string
	seenMeta := false
	type span struct {
		begin, end uint64
		name       string
	}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fail("header JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fail("header JSON: object key expected")
		}
		if name == "__metadata__" {
			if seenMeta {
				return nil, nil, fail("header has two __metadata__ entries")
			}
			seenMeta = true
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fail("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		if _, dup := tensors[name]; dup {
			return nil, nil, fail("tensor %q appears twice in the header", name)
		}
		var info stInfo
		if err := dec.Decode(&info); err != nil {
			return nil, nil, fail("tensor %q: header entry: %v", name, err)
		}
		t, err := stTensor(name, &info, body, file)
		if err != nil {
			return nil, nil, fail("tensor %q: %v", name, err)
		}
		tensors[name] = t
		if len(t.data) > 0 {
			spans = append(spans, span{info.Offsets[0], info.Offsets[1], name})
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, fail("header JSON: %v", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("unexpected %v after the header object", tok)
		}
		return nil, nil, fail("header JSON: %v", err)
	}

	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.begin < b.begin:
			return -1
		case a.begin > b.begin:
			return 1
		}
		return 0
	})
	for i := 1; i < len(spans); i++ {
		if prev, cur := spans[i-1], spans[i]; cur.begin < prev.end {
			return nil, nil, fail("tensor %q (bytes %d..%d) overlaps tensor %q (bytes %d..%d)",
				cur.name, cur.begin, cur.end, prev.name, prev.begin, prev.end)
		}
	}
	return tensors, meta, nil
}

// stTensor validates one header entry and makes its tensor.
func stTensor(name string, info *stInfo, body []byte, file string) (*Tensor, error) {
	if info.DType == nil || info.Shape == nil || info.Offsets == nil {
		return nil, errors.New(`header entry needs "dtype", "shape" and "data_offsets"`)
	}
	dt, err := ParseDType(*info.DType)
	if err != nil {
		return nil, err
	}
	_, nbytes, err := shapeSize(*info.Shape, dt.Size())
	if err != nil {
		return nil, err
	}
	if len(info.Offsets) != 2 {
		return nil, fmt.Errorf("data_offsets has %d values, want 2", len(info.Offsets))
	}
	begin, end := info.Offsets[0], info.Offsets[1]
	if begin > end {
		return nil, fmt.Errorf("data_offsets [%d, %d] are reversed", begin, end)
	}
	if end > uint64(len(body)) {
		return nil, fmt.Errorf("data_offsets [%d, %d] run past the end of the data (%d bytes; truncated file?)", begin, end, len(body))
	}
	if end-begin != uint64(nbytes) {
		return nil, fmt.Errorf("data_offsets [%d, %d] span %d bytes, but %v shape %v needs %d", begin, end, end-begin, dt, *info.Shape, nbytes)
	}
	return &Tensor{
		Name:  name,
		DType: dt,
		Shape: intShape(*info.Shape),
		File:  file,
		data:  body[begin:end:end],
	}, nil
}
