package checkpoint

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPickleSize caps a data.pkl that has to be decompressed.
const maxPickleSize = 1 << 30

// heapBudget returns how many bytes opening a torch archive of size bytes
// may allocate for decompressed entries, byte-swapped storages and copies
// of non-contiguous views. Real archives need at most a few times their
// size; the cap stops small hostile files (deflate bombs, a view expanding
// one element with stride 0 to billions, thousands of names for one view)
// from exhausting memory.
func heapBudget(size int) int64 { return 16*int64(size) + 256<<20 }

// parsePyTorch reads a torch.save zip archive (the default format since
// torch 1.6): <dir>/data.pkl is the pickled state dict, <dir>/data/<key>
// holds each storage's raw elements, <dir>/byteorder (torch ≥ 2.1) says
// "little" or "big". Storages stored uncompressed (as torch writes them)
// are used in place, without a copy; views that are not contiguous are
// copied into contiguous tensors. The CRCs of uncompressed storages are not
// checked, as torch.load does not check them either.
func parsePyTorch(data []byte, file string) (map[string]*Tensor, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: torch zip: %s", file, fmt.Sprintf(format, args...))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fail("unreadable zip directory (truncated file?): %v", err)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	var prefixes []string
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			return nil, fail("entry %q appears twice", f.Name)
		}
		entries[f.Name] = f
		if dir, ok := strings.CutSuffix(f.Name, "/data.pkl"); ok && dir != "" && !strings.Contains(dir, "/") {
			prefixes = append(prefixes, dir)
		}
	}
	switch len(prefixes) {
	case 0:
		return nil, fail("no <archive>/data.pkl entry: not a torch.save file")
	case 1:
	default:
		return nil, fail("%d data.pkl entries (%s): ambiguous archive", len(prefixes), strings.Join(prefixes, ", "))
	}
	prefix := prefixes[0] + "/"

	bigEndian := false
	if f, ok := entries[prefix+"byteorder"]; ok {
		b, err := entryBytes(data, f, 16, nil)
		if err != nil {
			return nil, fail("byteorder: %v", err)
		}
		switch string(bytes.TrimSpace(b)) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return nil, fail("unknown byteorder %q", b)
		}
	}

	budget := heapBudget(len(data))
	pkl, err := entryBytes(data, entries[prefix+"data.pkl"], maxPickleSize, &budget)
	if err != nil {
		return nil, fail("data.pkl: %v", err)
	}
	storages := make(map[string]*pyStorage)
	root, err := unpickle(pkl, func(pid any) (any, error) { return loadStorage(pid, storages) })
	if err != nil {
		return nil, fail("data.pkl: %v", err)
	}
	dict, ok := root.(*pyDict)
	if !ok {
		return nil, fail("data.pkl holds a %s, not a state dict", typeName(root))
	}
	if sd, ok := dict.get("state_dict"); ok { // a training checkpoint wrapping its weights
		if d, ok := sd.(*pyDict); ok {
			dict = d
		}
	}

	raws := make(map[string][]byte)     // storage key → its elements, little-endian
	views := make(map[*pyTensor][]byte) // a view object named twice is made once
	tensors := make(map[string]*Tensor, len(dict.keys))
	for i, k := range dict.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fail("state dict key of type %s", typeName(k))
		}
		pt, ok := dict.vals[i].(*pyTensor)
		if !ok {
			return nil, fail("tensor %q: entry is a %s, not a tensor", name, typeName(dict.vals[i]))
		}
		st := pt.storage
		es := st.dtype.Size()
		raw, ok := raws[st.key]
		if !ok {
			f, ok := entries[prefix+"data/"+st.key]
			if !ok {
				return nil, fail("tensor %q: storage %s/data/%s is missing", name, prefixes[0], st.key)
			}
			_, need, err := shapeSize([]int64{st.numel}, es)
			if err != nil {
				return nil, fail("tensor %q: storage %s: %v", name, st.key, err)
			}
			if raw, err = entryBytes(data, f, int64(need), &budget); err != nil {
				return nil, fail("tensor %q: storage %s: %v", name, st.key, err)
			}
			if len(raw) < need {
				return nil, fail("tensor %q: storage %s has %d bytes, %d %v elements need %d",
					name, st.key, len(raw), st.numel, st.dtype, need)
			}
			raw = raw[:need:need]
			if bigEndian && es > 1 {
				if budget -= int64(len(raw)); budget < 0 {
					return nil, fail("tensor %q: byte-swapping storage %s exceeds the memory budget", name, st.key)
				}
				raw = swapBytes(raw, es)
			}
			raws[st.key] = raw
		}
		view, ok := views[pt]
		if !ok {
			if view, err = viewBytes(raw, pt, es, &budget); err != nil {
				return nil, fail("tensor %q: %v", name, err)
			}
			views[pt] = view
		}
		tensors[name] = &Tensor{
			Name:  name,
			DType: st.dtype,
			Shape: intShape(pt.size),
			File:  file,
			data:  view,
		}
	}
	return tensors, nil
}

// loadStorage resolves a persistent id ('storage', storage_type, key,
// location, numel), sharing one storage per key.
func loadStorage(pid any, storages map[string]*pyStorage) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return nil, fmt.Errorf("persistent id must be a 5-tuple ('storage', type, key, location, numel), got a %s", typeName(pid))
	}
	switch tag := t[0].(type) {
	case string:
		if tag != "storage" {
			return nil, fmt.Errorf("persistent id of kind %q is not allowed", tag)
		}
	case pyBytes:
		if tag != "storage" {
			return nil, fmt.Errorf("persistent id of kind %q is not allowed", string(tag))
		}
	default:
		return nil, fmt.Errorf("persistent id kind is a %s", typeName(t[0]))
	}
	typ, ok := t[1].(pyStorageType)
	if !ok {
		return nil, fmt.Errorf("storage type is a %s", typeName(t[1]))
	}
	key, ok1 := t[2].(string)
	loc, ok2 := t[3].(string)
	numel, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, errors.New("storage key and location must be strings, numel a non-negative int")
	}
	if st, ok := storages[key]; ok {
		if st.dtype != typ.dtype || st.numel != numel {
			return nil, fmt.Errorf("storage %s is used as %d %v and as %d %v elements", key, st.numel, st.dtype, numel, typ.dtype)
		}
		return st, nil
	}
	st := &pyStorage{dtype: typ.dtype, key: key, location: loc, numel: numel}
	storages[key] = st
	return st, nil
}

// entryBytes returns the content of a zip entry of at most limit bytes: a
// slice of data itself when the entry is stored uncompressed, otherwise the
// decompressed bytes (whose CRC the zip reader checks), which are charged to
// budget if it is not nil.
func entryBytes(data []byte, f *zip.File, limit int64, budget *int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("entry %s of %d bytes exceeds the %d expected", f.Name, f.UncompressedSize64, limit)
	}
	size := int64(f.UncompressedSize64)
	if f.Method == zip.Store {
		off, err := f.DataOffset()
		if err != nil {
			return nil, err
		}
		if f.CompressedSize64 != f.UncompressedSize64 || off < 0 || off > int64(len(data)) || size > int64(len(data))-off {
			return nil, fmt.Errorf("entry %s: stored data runs past the end of the archive (truncated?)", f.Name)
		}
		return data[off : off+size : off+size], nil
	}
	if budget != nil {
		if *budget -= size; *budget < 0 {
			return nil, fmt.Errorf("entry %s: decompressing %d bytes exceeds the memory budget", f.Name, size)
		}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, rc, size+1) // reading to EOF makes the reader check the CRC
	if err != io.EOF {
		if err == nil {
			err = errors.New("more data than the directory says")
		}
		return nil, fmt.Errorf("entry %s: %w", f.Name, err)
	}
	if n != size {
		return nil, fmt.Errorf("entry %s: %d bytes, the directory says %d", f.Name, n, size)
	}
	return buf.Bytes(), nil
}

// viewBytes returns the elements of a validated view of raw: a sub-slice
// when the view is contiguous, else a contiguous copy charged to budget.
func viewBytes(raw []byte, t *pyTensor, es int, budget *int64) ([]byte, error) {
	n := 1
	for _, d := range t.size {
		n *= int(d)
	}
	if n == 0 {
		return []byte{}, nil
	}
	off := int(t.offset)
	contiguous := true
	want := int64(1)
	for i := len(t.size) - 1; i >= 0; i-- {
		if t.size[i] != 1 && t.stride[i] != want {
			contiguous = false
			break
		}
		want *= t.size[i]
	}
	if contiguous {
		return raw[off*es : (off+n)*es : (off+n)*es], nil
	}
	if *budget -= int64(n) * int64(es); *budget < 0 {
		return nil, fmt.Errorf("copying a non-contiguous view of %d elements exceeds the memory budget", n)
	}
	out := make([]byte, 0, n*es)
	idx := make([]int64, len(t.size))
	src := t.offset
	for {
		out = append(out, raw[int(src)*es:int(src+1)*es]...)
		// Advance the odometer from the last dimension.
		d := len(idx) - 1
		for ; d >= 0; d-- {
			idx[d]++
			src += t.stride[d]
			if idx[d] < t.size[d] {
				break
			}
			src -= t.stride[d] * idx[d]
			idx[d] = 0
		}
		if d < 0 {
			return out, nil
		}
	}
}

// swapBytes returns a copy of raw with the bytes of each es-byte element
// reversed (big-endian archives).
func swapBytes(raw []byte, es int) []byte {
	out := make([]byte, len(raw))
	for i := 0; i+es <= len(raw); i += es {
		for j := 0; j < es; j++ {
			out[i+j] = raw[i+es-1-j]
		}
	}
	return out
}
