package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goclip/goclip/internal/mmap"
)

// maxIndexSize caps a sharded checkpoint's index file.
const maxIndexSize = 64 << 20

// openSharded opens a sharded checkpoint from its index file
// (model.safetensors.index.json or pytorch_model.bin.index.json):
// {"metadata": {...}, "weight_map": {tensor name: shard file name}}.
// Shards must be plain file names in the index's directory; each is opened
// and validated like a single file. A tensor listed in weight_map must be in
// the shard it names; tensors a shard holds beyond the map are kept unless
// another shard also holds them.
func openSharded(path string) (Store, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint: %s: %s", path, fmt.Sprintf(format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fail("%v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	f.Close()
	if err != nil {
		return nil, fail("%v", err)
	}
	if len(raw) > maxIndexSize {
		return nil, fail("index is larger than %d bytes", maxIndexSize)
	}
	weightMap, meta, err := parseIndex(raw)
	if err != nil {
		return nil, fail("index: %v", err)
	}
	if len(weightMap) == 0 {
		return nil, fail("index has an empty weight_map")
	}

	dir := filepath.Dir(path)
	shards := make(map[string]*store) // by shard file name
	var maps []*mmap.File
	cleanup := func() {
		for _, m := range maps {
			m.Close()
		}
	}
	tensors := make(map[string]*Tensor)
	from := make(map[string]string) // unlisted tensor name → shard holding it
	for _, name := range sortedKeys(weightMap) {
		shard := weightMap[name]
		if shard == "" || shard != filepath.Base(shard) || !filepath.IsLocal(shard) || strings.ContainsAny(shard, `/\`) ||
			strings.HasSuffix(shard, ".index.json") {
			cleanup()
			return nil, fail("tensor %q: shard %q must be a plain file name in the index's directory", name, shard)
		}
		s, ok := shards[shard]
		if !ok {
			s, err = openFile(filepath.Join(dir, shard))
			if err != nil {
				cleanup()
				return nil, fmt.Errorf("%w (a shard of %s)", err, path)
			}
			shards[shard] = s
			maps = append(maps, s.maps...)
			for tn, t := range s.tensors {
				if owner, listed := weightMap[tn]; listed {
					if owner == shard {
						tensors[tn] = t
					}
					continue
				}
				if other, dup := from[tn]; dup {
					cleanup()
					return nil, fail("tensor %q is in both %s and %s", tn, other, shard)
				}
				tensors[tn], from[tn] = t, shard
			}
		}
		if _, ok := s.tensors[name]; !ok {
			cleanup()
			return nil, fail("tensor %q: weight_map names shard %s, which does not hold it", name, shard)
		}
	}
	// The index leads the store's files (see Files), as a heap "mapping",
	// then the shards in name order.
	slices.SortFunc(maps, func(a, b *mmap.File) int { return strings.Compare(a.Path, b.Path) })
	index := &mmap.File{Path: path, Info: info, Data: raw}
	return newStore(path, append([]*mmap.File{index}, maps...), tensors, meta), nil
}

// parseIndex decodes a sharded checkpoint index, refusing a tensor name that
// appears twice in weight_map. Metadata values that are not strings (such
// as total_size) are kept as their JSON text.
func parseIndex(raw []byte) (weightMap, meta map[string]string, err error) {
	var top struct {
		Metadata  map[string]json.RawMessage `json:"metadata"`
		WeightMap json.RawMessage            `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, nil, err
	}
	if top.WeightMap == nil {
		return nil, nil, fmt.Errorf("no weight_map")
	}
	dec := json.NewDecoder(bytes.NewReader(top.WeightMap))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("weight_map is not an object")
	}
	weightMap = make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := tok.(string)
		var shard string
		if err := dec.Decode(&shard); err != nil {
			return nil, nil, fmt.Errorf("weight_map[%q]: %v", name, err)
		}
		if _, dup := weightMap[name]; dup {
			return nil, nil, fmt.Errorf("tensor %q appears twice in weight_map", name)
		}
		weightMap[name] = shard
	}
	if top.Metadata != nil {
		meta = make(map[string]string, len(top.Metadata))
		for k, v := range top.Metadata {
			var s string
			if json.Unmarshal(v, &s) == nil {
				meta[k] = s
			} else {
				meta[k] = string(v)
			}
		}
	}
	return weightMap, meta, nil
}

// sortedKeys returns the keys of m in order, so shards open deterministically.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
