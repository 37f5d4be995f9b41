package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goclip/goclip/internal/mmap"
)

// Store is an open checkpoint: a set of named tensors. A Store is safe for
// concurrent reads. After Close, tensors report an error instead of data,
// but float32 views obtained before must no longer be used: their memory is
// unmapped.
type Store interface {
	// Path returns the file the store was opened from.
	Path() string
	// Names returns the tensor names, sorted.
	Names() []string
	// Tensor returns the named tensor.
	Tensor(name string) (*Tensor, bool)
	// Metadata returns the safetensors "__metadata__" (or the "metadata"
	// of a sharded index); nil when there is none.
	Metadata() map[string]string
	// Close releases the file mappings.
	Close() error
}

// SearchOrder returns the file names [OpenDir] looks for, in order of
// preference: safetensors before pickles, single files before shards,
// Hugging Face names before open_clip's.
func SearchOrder() []string {
	return []string{
		"model.safetensors",
		"model.safetensors.index.json",
		"pytorch_model.bin",
		"pytorch_model.bin.index.json",
		"open_clip_model.safetensors",
		"open_clip_pytorch_model.bin",
	}
}

// OpenDir opens the checkpoint of a model directory: the first file of
// [SearchOrder] that exists.
func OpenDir(dir string) (Store, error) {
	for _, name := range SearchOrder() {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return Open(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil, fmt.Errorf("checkpoint: %s: no weights found (looked for %s)", dir, strings.Join(SearchOrder(), ", "))
}

// Open opens a checkpoint file: a sharded index if the name ends in
// ".index.json", otherwise by content a torch.save zip archive
// (pytorch_model.bin) or a safetensors file.
func Open(path string) (Store, error) {
	if strings.HasSuffix(path, ".index.json") {
		return openSharded(path)
	}
	s, err := openFile(path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openFile opens one safetensors or torch zip file.
func openFile(path string) (*store, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var tensors map[string]*Tensor
	var meta map[string]string
	data := m.Data
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		tensors, err = parsePyTorch(data, path)
	case len(data) > 8 && data[8] == '{':
		tensors, meta, err = parseSafetensors(data, path)
	case bytes.HasPrefix(data, []byte(legacyTorchMagic)) || len(data) > 262 && string(data[257:262]) == "ustar":
		err = fmt.Errorf("checkpoint: %s: legacy (pre-1.6, non-zip) torch.save format is not supported: "+
			"re-save it with torch>=1.6 (torch.save(torch.load(f, weights_only=True), f)) or convert it to safetensors", path)
	case len(data) > 1 && data[0] == 0x80 && data[1] <= 5:
		err = fmt.Errorf("checkpoint: %s: a bare pickle, not a torch.save zip archive (torch>=1.6) or safetensors file: not supported", path)
	default:
		tensors, meta, err = parseSafetensors(data, path)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return newStore(path, []*mmap.File{m}, tensors, meta), nil
}

// legacyTorchMagic starts files of torch.save's pre-1.6 format: pickle
// protocol 2, then the LONG1 magic number 0x1950a86a20f9469cfc6c.
const legacyTorchMagic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"

// store is the Store of one file, or of the shards of an index.
type store struct {
	path     string
	maps     []*mmap.File
	tensors  map[string]*Tensor
	names    []string
	metadata map[string]string
}

func newStore(path string, maps []*mmap.File, tensors map[string]*Tensor, meta map[string]string) *store {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	return &store{path: path, maps: maps, tensors: tensors, names: names, metadata: meta}
}

func (s *store) Path() string    { return s.path }
func (s *store) Names() []string { return slices.Clone(s.names) }

func (s *store) Tensor(name string) (*Tensor, bool) {
	t, ok := s.tensors[name]
	return t, ok
}

func (s *store) Metadata() map[string]string {
	if s.metadata == nil {
		return nil
	}
	out := make(map[string]string, len(s.metadata))
	for k, v := range s.metadata {
		out[k] = v
	}
	return out
}

// File is one file a Store was read from.
type File struct {
	Path string
	// Info describes the open file as it was before its content was read
	// (so a later Stat that differs means the file has changed since).
	Info fs.FileInfo
}

// Files returns the files s was read from, and nothing else: the checkpoint
// file, or a sharded index followed by the shards its weight_map names, in
// name order. A model's fingerprint hashes exactly these. Stores of other
// kinds return nil.
func Files(s Store) []File {
	st, ok := s.(*store)
	if !ok {
		return nil
	}
	out := make([]File, len(st.maps))
	for i, m := range st.maps {
		out[i] = File{Path: m.Path, Info: m.Info}
	}
	return out
}

// ReleasePages drops the resident pages of a memory-mapped store, for a
// caller that has copied what it needs (a model packs its weights at load
// time): without it, every page read while loading stays in the process's
// resident set. Views stay valid; pages are read back from the file when
// touched again. Stores of other kinds are left as they are.
func ReleasePages(s Store) error {
	st, ok := s.(*store)
	if !ok {
		return nil
	}
	var errs []error
	for _, m := range st.maps {
		errs = append(errs, m.ReleasePages())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", st.path, err)
	}
	return nil
}

func (s *store) Close() error {
	for _, t := range s.tensors {
		t.data, t.closed = nil, true
	}
	var errs []error
	for _, m := range s.maps {
		if err := m.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.maps = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checkpoint: closing %s: %w", s.path, err)
	}
	return nil
}

// Float32 returns the named tensor of s as float32 (see [Tensor.Float32]),
// checking its shape when shape is given. Errors name the file and tensor,
// so model loaders can return them as they are.
func Float32(s Store, name string, shape ...int) ([]float32, error) {
	t, ok := s.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("checkpoint: %s: tensor %q is missing", s.Path(), name)
	}
	if shape != nil && !slices.Equal(t.Shape, shape) {
		return nil, t.errorf("shape %v, want %v", t.Shape, shape)
	}
	return t.Float32()
}
