package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	// DefaultFile is the name of the cache file inside [DefaultDir].
	DefaultFile = "embeddings.db"

	// DefaultTimeout is how long Open waits for another process to release
	// the file before giving up with [ErrLocked].
	DefaultTimeout = 10 * time.Second
)

var (
	// ErrLocked reports that another process holds the cache file.
	ErrLocked = errors.New("cache file is in use by another process")

	// ErrCorrupt reports a file that is not a valid embedding cache: not a
	// bbolt database, damaged, of an unknown format version, or holding
	// another program's data.
	ErrCorrupt = errors.New("not a valid embedding cache")

	// ErrReadOnly is returned by writes to a cache opened read-only.
	ErrReadOnly = errors.New("cache is open read-only")
)

// Options configure [Open].
type Options struct {
	// ReadOnly opens an existing file for reading only. Any number of
	// read-only processes may share a file, but not with a writer.
	ReadOnly bool

	// Timeout bounds the wait for another process to release the file.
	// Zero means DefaultTimeout; a negative value means do not wait.
	Timeout time.Duration

	// OnCorrupt, if set, is called (outside any transaction) for every
	// stored entry that fails validation on read. Such entries are
	// treated as misses either way.
	OnCorrupt func(CorruptEntry)
}

// CorruptEntry describes a stored entry that failed validation.
type CorruptEntry struct {
	Model string
	Kind  Kind
	Key   string
	Err   error
}

// Cache is an open embedding cache. Its methods are safe for concurrent use.
type Cache struct {
	db        *bolt.DB
	path      string
	readOnly  bool
	onCorrupt func(CorruptEntry)

	hits, misses, corrupt atomic.Int64
}

// Counters are the lookup outcomes since Open.
type Counters struct {
	Hits    int64 // entries found and valid
	Misses  int64 // entries absent or invalid
	Corrupt int64 // entries present but invalid (also counted as misses)
}

// Bucket names. The root holds a metadata bucket and a bucket of models;
// each model bucket holds one bucket per Kind.
var (
	metaBucket   = []byte("goclip")
	modelsBucket = []byte("models")
	formatKey    = []byte("format")
)

// formatVersion is the layout this package writes and reads.
const formatVersion = "1"

// DefaultDir returns the directory goclip keeps caches in: "goclip" under
// the user's cache directory (os.UserCacheDir).
func DefaultDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: locate user cache directory: %w", err)
	}
	return filepath.Join(dir, "goclip"), nil
}

// HashMemo returns the folder where the SHA-256 of weight files is
// remembered between runs (clip.Options.HashMemo): file-hashes in the
// cache folder dir, or in DefaultDir when dir is empty; "" (hash on every
// load) when there is no cache folder.
func HashMemo(dir string) string { return subfolder(dir, "file-hashes") }

// PackCache returns the folder where models' towers are kept packed for
// this CPU between runs (clip.Options.PackCache): packed-weights in the
// cache folder dir, or in DefaultDir when dir is empty; "" (pack on every
// load) when there is no cache folder. It holds a file per model folder,
// tower, precision and kernel layout, about the size of the tower's float32 weights
// (a quarter for int8); deleting it costs only the next load's time.
func PackCache(dir string) string { return subfolder(dir, "packed-weights") }

// subfolder is name in the cache folder dir, or in DefaultDir when dir is
// empty; "" when there is no cache folder.
func subfolder(dir, name string) string {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return ""
		}
	}
	return filepath.Join(dir, name)
}

// Open opens the cache file at path, creating it and its parent directories
// unless opt.ReadOnly is set. If another process holds the file, Open waits
// up to opt.Timeout and then returns an error wrapping [ErrLocked]. A file
// that is not a valid cache is refused with an error wrapping [ErrCorrupt];
// it is left untouched.
func Open(path string, opt Options) (c *Cache, err error) {
	if path == "" {
		return nil, errors.New("cache: empty path")
	}
	timeout := opt.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = time.Nanosecond // bbolt: try once
	}
	if !opt.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}

	var db *bolt.DB
	defer func() {
		if err != nil {
			c = nil
		}
	}()
	defer catch(path, &err)()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: opt.ReadOnly,
	})
	if err != nil {
		return nil, openError(path, timeout, err)
	}
	c = &Cache{db: db, path: path, readOnly: opt.ReadOnly, onCorrupt: opt.OnCorrupt}
	if err := c.checkFormat(); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// openError explains a failure of bolt.Open. Errors from the operating
// system (permissions, a directory in the way, mmap limits) are passed on;
// every other error is bbolt refusing the file's contents.
func openError(path string, timeout time.Duration, err error) error {
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return fmt.Errorf("cache: %s: %w (waited %v); wait for the other run to finish, choose another cache file (--cache), or run without one (--no-cache)",
			path, ErrLocked, timeout)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return fmt.Errorf("cache: open %s: %w", path, err)
	}
	return corruptError(path, err)
}

// corruptError is the error for a file that cannot be used as a cache.
func corruptError(path string, cause error) error {
	return fmt.Errorf("cache: %s: %w (%w); delete the file to start an empty cache, or run without a cache (--no-cache)",
		path, ErrCorrupt, cause)
}

// catch makes faults on the memory-mapped file recoverable for the calling
// goroutine (a truncated file can put mapped pages past its end) and returns
// a function that, deferred, restores the setting and turns a panic inside
// bbolt (which trusts its pages) into an error wrapping ErrCorrupt.
func catch(path string, err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			// bbolt panics on a damaged page: with its own message (an
			// assertion), or with the Go runtime's (a nil pointer, an index
			// out of range, a fault on a cut file), which would read like
			// a bug of goclip's, not of the file.
			what := fmt.Sprint(p)
			if _, ok := p.(runtime.Error); ok {
				what = "its pages are inconsistent"
			}
			*err = corruptError(path, fmt.Errorf("damaged pages: %s", what))
		}
	}
}

// checkFormat verifies that the file is an empty database or a cache in
// this package's format, and initialises an empty one when writable.
func (c *Cache) checkFormat() error {
	var format []byte
	empty := true
	err := c.view("read", func(tx *bolt.Tx) error {
		if m := tx.Bucket(metaBucket); m != nil {
			format = append([]byte(nil), m.Get(formatKey)...)
		}
		return tx.ForEach(func([]byte, *bolt.Bucket) error {
			empty = false
			return nil
		})
	})
	if err != nil {
		return err
	}
	switch {
	case format != nil && string(format) != formatVersion:
		return corruptError(c.path, fmt.Errorf("format version %q, this program reads %q", format, formatVersion))
	case format == nil && !empty:
		return corruptError(c.path, errors.New("a bbolt database holding other data"))
	case format == nil && !c.readOnly:
		return c.update("initialise", func(tx *bolt.Tx) error {
			m, err := tx.CreateBucket(metaBucket)
			if err != nil {
				return err
			}
			if err := m.Put(formatKey, []byte(formatVersion)); err != nil {
				return err
			}
			_, err = tx.CreateBucket(modelsBucket)
			return err
		})
	}
	return nil
}

// Path returns the file the cache was opened from.
func (c *Cache) Path() string { return c.path }

// Counters returns the lookup outcomes since Open.
func (c *Cache) Counters() Counters {
	return Counters{Hits: c.hits.Load(), Misses: c.misses.Load(), Corrupt: c.corrupt.Load()}
}

// Close releases the file. It waits for transactions in progress.
func (c *Cache) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("cache: close %s: %w", c.path, err)
	}
	return nil
}

// view runs fn in a read transaction; op names the operation in errors.
func (c *Cache) view(op string, fn func(*bolt.Tx) error) (err error) {
	defer catch(c.path, &err)()
	if err := c.db.View(fn); err != nil {
		return fmt.Errorf("cache: %s %s: %w", op, c.path, err)
	}
	return nil
}

// update runs fn in a write transaction, committed (and fsynced) when fn
// returns nil; op names the operation in errors.
func (c *Cache) update(op string, fn func(*bolt.Tx) error) (err error) {
	if c.readOnly {
		return fmt.Errorf("cache: %s %s: %w", op, c.path, ErrReadOnly)
	}
	defer catch(c.path, &err)()
	if err := c.db.Update(fn); err != nil {
		return fmt.Errorf("cache: %s %s: %w", op, c.path, err)
	}
	return nil
}
