//go:build unix

package cache

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCatchFault checks that a read of a mapped page past the end of its
// file (SIGBUS, what a truncated database can cause) becomes an ErrCorrupt
// error instead of killing the process.
func TestCatchFault(t *testing.T) {
	page := os.Getpagesize()
	p := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(p, make([]byte, page), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 2*page, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(m)
	read := func() (b byte, err error) {
		defer catch(p, &err)()
		return m[page+1], nil
	}
	if _, err := read(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("read past the end of the file: %v", err)
	}
}
