// Package mmap gives the read-only content of a whole file as a byte slice:
// a memory mapping where the system has one (pages come from the page
// cache on demand, nothing is copied), otherwise a heap copy. Checkpoint
// weights and search indexes are read through it.
package mmap

import (
	"fmt"
	"io"
	"math"
	"os"
)

// File is the read-only content of a whole file. Data must not be written,
// nor used after Close.
type File struct {
	Path    string
	Info    os.FileInfo // of the open file, before its content was read
	Data    []byte
	unmap   func() error // nil when Data is on the heap
	release func() error // drops resident pages; nil when Data is on the heap
}

// Open maps path read-only. Files larger than the address space are
// refused.
func Open(path string) (*File, error) {
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
		return &File{Path: path, Info: st}, nil
	}
	if m, err := mmapFile(f, int(size)); err == nil {
		m.Path, m.Info = path, st
		return m, nil
	}
	// No mmap (or it failed, e.g. on a file system without it): read.
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Path: path, Info: st, Data: data}, nil
}

// Close releases the mapping; Data must not be used afterwards.
func (m *File) Close() error {
	if m == nil {
		return nil
	}
	unmap := m.unmap
	m.Data, m.unmap, m.release = nil, nil, nil
	if unmap != nil {
		return unmap()
	}
	return nil
}

// ReleasePages tells the system the mapped pages are not needed for now:
// they leave the process's resident set (the file stays in the page cache)
// and are read back on the next access. A heap copy is kept as it is.
func (m *File) ReleasePages() error {
	if m == nil || m.release == nil {
		return nil
	}
	return m.release()
}

// HugePages asks the system to map the file with transparent huge pages
// where it can (Linux: MADV_HUGEPAGE; a no-op elsewhere and for a heap
// copy). It takes effect on pages not touched yet, and then also has the
// page cache read the file in huge folios: for weights streamed through
// on every pass this saves translation-lookaside misses, which on the
// virtual machines goclip is measured on made 4 KiB file pages 10–60%
// slower to stream than the heap's pages.
func (m *File) HugePages() error {
	if m == nil || m.unmap == nil || len(m.Data) == 0 {
		return nil
	}
	return hugePages(m.Data)
}

// Evict drops the file's clean pages from the page cache (Linux:
// POSIX_FADV_DONTNEED; a no-op elsewhere), so that the next reader reads
// it anew, in the folio size its own mapping asks for (see HugePages).
func Evict(path string) error { return evict(path) }
