package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestHugePagesEvict: the advice and the eviction change no byte a mapping
// reads, before or after, and an absent file is an error, not a panic.
func TestHugePagesEvict(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte("goclip "), 1<<20)
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Evict(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.HugePages() // EINVAL where the kernel has no transparent huge pages
	if !bytes.Equal(f.Data, want) {
		t.Fatal("mapped bytes differ from the file's")
	}
	if err := Evict(path); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, want) {
		t.Fatal("mapped bytes differ after eviction")
	}
	if Evict(filepath.Join(t.TempDir(), "absent")) == nil && evictSupported {
		t.Error("evicting an absent file: no error")
	}
	var empty *File
	if empty.HugePages() != nil {
		t.Error("nil File")
	}
}
