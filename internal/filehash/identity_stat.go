//go:build linux || darwin

package filehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"time"
)

// identity returns the memo key of the file at path that fi describes,
// and false when fi carries no inode and ctime.
func identity(path string, fi fs.FileInfo) (string, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	mtime, ctime := fileTimes(st)
	id := fmt.Sprintf("goclip filehash v1\x00%s\x00%d\x00%d\x00%d\x00%d\x00%d",
		abs, st.Dev, st.Ino, fi.Size(), mtime.UnixNano(), ctime.UnixNano())
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:]), true
}

// settled reports whether the file has been unchanged (content and
// status) for longer than the clock's resolution.
func settled(fi fs.FileInfo, settle time.Duration) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mtime, ctime := fileTimes(st)
	last := mtime
	if ctime.After(last) {
		last = ctime
	}
	return time.Since(last) > settle
}
