package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func entries(t *testing.T, dir string) int {
	t.Helper()
	es, _ := os.ReadDir(dir)
	return len(es)
}

func TestSumFile(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("nothing is remembered on", runtime.GOOS)
	}
	dir := t.TempDir()
	memoDir := filepath.Join(dir, "memo")
	memo := NewMemo(memoDir)
	path := filepath.Join(dir, "model.safetensors")
	v1 := []byte("weights v1")
	if err := os.WriteFile(path, v1, 0o644); err != nil {
		t.Fatal(err)
	}

	// The file changed just now: hashed, not remembered.
	if got, err := memo.SumFile(path, nil); err != nil || got != sumOf(v1) {
		t.Fatalf("sum %s, %v; want %s", got, err, sumOf(v1))
	}
	if n := entries(t, memoDir); n != 0 {
		t.Fatalf("a file changed just now was remembered (%d entries)", n)
	}

	// Settled: remembered, and then answered from the memo (shown by
	// planting another sum in the entry).
	memo.settle = -time.Hour
	if _, err := memo.SumFile(path, nil); err != nil {
		t.Fatal(err)
	}
	es, _ := os.ReadDir(memoDir)
	if len(es) != 1 {
		t.Fatalf("%d entries after hashing a settled file, want 1", len(es))
	}
	planted := strings.Repeat("ab", 32)
	os.WriteFile(filepath.Join(memoDir, es[0].Name()), []byte(planted+"\n"), 0o600)
	if got, _ := memo.SumFile(path, nil); got != planted {
		t.Fatalf("sum %s: the memo was not used", got)
	}
	fi, _ := os.Stat(path)

	// Edit in place, same size, modification time restored: the ctime
	// moves on, so the old entry does not match.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a ctime the clock can tell apart
	v2 := []byte("weights v2")
	f.WriteAt(v2, 0)
	f.Close()
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	fi2, _ := os.Stat(path)
	if fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatal("size or modification time changed")
	}
	if got, err := memo.SumFile(path, nil); err != nil || got != sumOf(v2) {
		t.Errorf("after an in-place edit: %s, %v; want the new content's %s", got, err, sumOf(v2))
	}

	// The caller loaded the file before the edit: refused.
	if _, err := memo.SumFile(path, fi); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("file changed since it was loaded: err = %v", err)
	}
	if _, err := memo.SumFile(path, fi2); err != nil {
		t.Errorf("unchanged since loaded: %v", err)
	}

	// A damaged entry is a miss and is replaced.
	es, _ = os.ReadDir(memoDir)
	for _, e := range es {
		os.WriteFile(filepath.Join(memoDir, e.Name()), []byte("garbage"), 0o600)
	}
	if got, err := memo.SumFile(path, nil); err != nil || got != sumOf(v2) {
		t.Errorf("with damaged entries: %s, %v", got, err)
	}

	// A nil memo hashes; a missing file is an error naming it.
	var none *Memo
	if got, err := none.SumFile(path, nil); err != nil || got != sumOf(v2) {
		t.Errorf("nil memo: %s, %v", got, err)
	}
	if _, err := memo.SumFile(filepath.Join(dir, "gone"), nil); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("missing file: err = %v", err)
	}
}
