package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockPoll is how often a waiting lock is retried.
const lockPoll = 50 * time.Millisecond

// fileLock is an exclusive, inter-process lock on one blob of the cache, at
// the path huggingface_hub's filelock uses
// ({cache}/.locks/models--org--name/{etag}.lock), so goclip and Python
// processes exclude each other. On Unix it is flock(2), on Windows
// LockFileEx; elsewhere, or where the file system refuses those, it falls
// back to an exclusively created marker file (see lockExclusive).
type fileLock struct {
	f       *os.File      // flock/LockFileEx: the open lock file
	marker  string        // fallback: the marker file to delete
	stopped chan struct{} // fallback: stops the keep-alive
}

// acquireLock waits for the lock at path, logging every 10s of waiting via
// waiting, until ctx is done.
func acquireLock(ctx context.Context, path string, waiting func(time.Duration)) (*fileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return nil, wrapWriteErr(filepath.Dir(path), err)
	}
	start := time.Now()
	lastLog := start
	for {
		l, busy, err := tryLock(path)
		if errors.Is(err, errLockUnsupported) {
			l, busy, err = tryLockExclusive(path)
		}
		if err != nil {
			return nil, fmt.Errorf("hub: locking %s: %w", path, inner(err))
		}
		if !busy {
			return l, nil
		}
		if waiting != nil && time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			waiting(time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("hub: waiting for lock %s: %w", path, context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
}

// release unlocks; the flock file itself stays, as with Python's filelock
// (deleting it would let two processes lock different files).
func (l *fileLock) release() error {
	if l.marker != "" {
		close(l.stopped)
		return os.Remove(l.marker)
	}
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

var errLockUnsupported = errors.New("file locking unsupported")

// markerStale is the age after which a fallback marker whose owner stopped
// refreshing it is considered abandoned (its process died).
const markerStale = 2 * time.Minute

// tryLockExclusive is the portable fallback: the lock is held by whoever
// creates path+".excl" first; the holder refreshes its modification time,
// and a marker left by a crashed process is taken over once stale.
func tryLockExclusive(path string) (*fileLock, bool, error) {
	marker := path + ".excl"
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		if !os.IsExist(err) {
			return nil, false, err
		}
		if st, serr := os.Stat(marker); serr == nil && time.Since(st.ModTime()) > markerStale {
			os.Remove(marker)
		}
		return nil, true, nil
	}
	f.Close()
	l := &fileLock{marker: marker, stopped: make(chan struct{})}
	go func() {
		t := time.NewTicker(markerStale / 4)
		defer t.Stop()
		for {
			select {
			case <-l.stopped:
				return
			case now := <-t.C:
				os.Chtimes(marker, now, now)
			}
		}
	}()
	return l, false, nil
}
