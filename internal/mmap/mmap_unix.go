//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package mmap

import (
	"os"

	"golang.org/x/sys/unix"
)

// mmapFile maps size bytes of f read-only and shared, so pages come from
// the page cache on demand and nothing is copied.
func mmapFile(f *os.File, size int) (*File, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &File{
		Data:    data,
		unmap:   func() error { return unix.Munmap(data) },
		release: func() error { return unix.Madvise(data, unix.MADV_DONTNEED) },
	}, nil
}
