// Package atomicfile writes files so that a reader, or the next run after a
// crash, sees either the old content or the new, never part of it.
//
// A file is written to a temporary sibling (same folder, so the rename
// cannot cross file systems), flushed to disk, and renamed over the target;
// the folder is then synced so the rename itself survives a power cut. On
// any error the temporary file is removed and the target is left as it was.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what fill writes. The file gets mode
// perm, less the process's umask, as os.WriteFile would give it. Errors
// name the file.
func Write(path string, perm fs.FileMode, fill func(w io.Writer) error) (err error) {
	f, tmp, err := createTemp(path, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// WriteFile is Write for data already in memory.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// createTemp creates a new file next to path, named after it (a dot, the
// base name, a random suffix, so it is hidden and easy to attribute), with
// mode perm filtered by the umask.
func createTemp(path string, perm fs.FileMode) (*os.File, string, error) {
	for range 100 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, "", err
		}
		tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, tmp, err
	}
	return nil, "", errors.New("cannot find a free temporary name")
}

// syncDir flushes a folder's entries (the rename) to disk, where the system
// allows opening a folder for that; failing to is not an error, as the data
// itself is already on disk.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
