package mmap

import "golang.org/x/sys/unix"

const evictSupported = true

// hugePages asks for transparent huge pages on the mapping.
func hugePages(data []byte) error { return unix.Madvise(data, unix.MADV_HUGEPAGE) }

// evict drops the clean pages of the file at path from the page cache.
func evict(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
}
