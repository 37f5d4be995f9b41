// Package filehash computes the SHA-256 of files and remembers it between
// runs, so that a model's fingerprint covers every byte of its weights
// without reading hundreds of megabytes on every start.
//
// A remembered hash is keyed by the file's identity: its path, device,
// inode, size, modification time and status-change time (ctime). Writing
// a file changes its ctime, and no program can set a ctime back, so an
// edited file never matches an old entry, even one edited in place with
// its size and modification time restored. The rule is git's index rule,
// with git's care for a file changed within the clock's resolution: a hash
// is remembered only when the file has not changed for a while, and not at
// all when its identity changed while it was being hashed.
//
// Entries are small files in one folder, each written atomically (package
// atomicfile): processes share the folder without locks, a crash leaves
// whole entries or none, and an entry that cannot be read is a miss.
// On systems other than Linux and macOS (Windows reports no inode and
// ctime) nothing is remembered and every Sum hashes.
package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goclip/goclip/internal/atomicfile"
)

// settle is how long a file must have been unchanged for its hash to be
// remembered: longer than any file system's timestamp resolution (FAT: 2 s).
const settle = 3 * time.Second

// Memo remembers hashes in a folder. A nil *Memo remembers nothing.
type Memo struct {
	dir    string
	settle time.Duration
}

// NewMemo returns a memo kept in dir, created when first written to.
func NewMemo(dir string) *Memo { return &Memo{dir: dir, settle: settle} }

// SumFile returns the hex SHA-256 of the file at path. If loaded is not
// nil, it describes the file as the caller opened it to use it (Stat of
// the open file); a file whose identity differs now (replaced or written
// since) is an error, so the hash is always of what the caller read. A
// remembered hash of the file's identity is returned without reading the
// file; otherwise the file is read and hashed and, if it is settled and
// unchanged meanwhile, the hash is remembered. Errors name the file.
func (m *Memo) SumFile(path string, loaded fs.FileInfo) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", err
	}
	key, ok := identity(path, before)
	if loaded != nil && !sameFile(path, loaded, before) {
		return "", fmt.Errorf("%s changed while it was being loaded", path)
	}
	entry := ""
	if ok && m != nil {
		entry = filepath.Join(m.dir, key)
		if b, err := os.ReadFile(entry); err == nil {
			if s := strings.TrimSpace(string(b)); isHexSum(s) {
				return s, nil
			}
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	s := hex.EncodeToString(h.Sum(nil))
	after, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !sameFile(path, before, after) {
		return "", fmt.Errorf("%s changed while it was being hashed", path)
	}
	if entry != "" && settled(after, m.settle) {
		if os.MkdirAll(m.dir, 0o700) == nil {
			atomicfile.WriteFile(entry, []byte(s+"\n"), 0o600) // a failure only costs a rehash next time
		}
	}
	return s, nil
}

// sameFile reports whether a and b describe the same file with the same
// content: the same identity where the system gives one, else the same
// size and modification time.
func sameFile(path string, a, b fs.FileInfo) bool {
	ka, okA := identity(path, a)
	kb, okB := identity(path, b)
	if okA && okB {
		return ka == kb
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func isHexSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
