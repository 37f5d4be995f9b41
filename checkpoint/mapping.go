package checkpoint

import (
	"fmt"
	"io"
	"math"
	"os"
)

// mapping is the read-only content of a whole file: a memory mapping where
// the system has one, otherwise a heap copy. Tensors of a store alias it.
type mapping struct {
	path    string
	info    os.FileInfo // of the open file, before its content was read
	data    []byte
	unmap   func() error // nil when data is on the heap
	release func() error // drops resident pages; nil when data is on the heap
}

// mapFile maps path read-only. Files larger than the address space are
// refused.
func mapFile(path string) (*mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size < 0 || uint64(size) > math.MaxInt {
		return nil, fmt.Errorf("%s: file of %d bytes is too large for this system", path, size)
	}
	if size == 0 {
		return &mapping{path: path, info: st}, nil
	}
	if m, err := mmapFile(f, int(size)); err == nil {
		m.path, m.info = path, st
		return m, nil
	}
	// No mmap (or it failed, e.g. on a file system without it): read.
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &mapping{path: path, info: st, data: data}, nil
}

// close releases the mapping; data must not be used afterwards.
func (m *mapping) close() error {
	if m == nil {
		return nil
	}
	unmap := m.unmap
	m.data, m.unmap = nil, nil
	if unmap != nil {
		return unmap()
	}
	return nil
}

// releasePages tells the system the mapped pages are not needed for now:
// they leave the process's resident set (the file stays in the page cache)
// and are read back on the next access. A heap copy is kept as it is.
func (m *mapping) releasePages() error {
	if m == nil || m.release == nil {
		return nil
	}
	return m.release()
}
