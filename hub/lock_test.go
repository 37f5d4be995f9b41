package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestLockExcludes(t *testing.T) {
	for _, tc := range []struct {
		name string
		try  func(string) (*fileLock, bool, error)
	}{{"os", tryLock}, {"marker fallback", tryLockExclusive}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			a, busy, err := tc.try(path)
			if errors.Is(err, errLockUnsupported) {
				t.Skip(err)
			}
			if err != nil || busy {
				t.Fatalf("first lock: busy %v, err %v", busy, err)
			}
			if _, busy, err := tc.try(path); err != nil || !busy {
				t.Fatalf("second lock while held: busy %v, err %v", busy, err)
			}
			must(t, a.release())
			b, busy, err := tc.try(path)
			if err != nil || busy {
				t.Fatalf("lock after release: busy %v, err %v", busy, err)
			}
			must(t, b.release())
		})
	}
}

func TestAcquireLockWaitsAndCancels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "x.lock")
	held, err := acquireLock(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Bool
	done := make(chan error)
	go func() {
		l, err := acquireLock(t.Context(), path, nil)
		if err == nil {
			got.Store(true)
			err = l.release()
		}
		done <- err
	}()
	time.Sleep(3 * lockPoll)
	if got.Load() {
		t.Fatal("second holder got the lock while it was held")
	}
	must(t, held.release())
	if err := <-done; err != nil || !got.Load() {
		t.Fatalf("waiter: %v", err)
	}

	held, err = acquireLock(t.Context(), path, nil)
	must(t, err)
	defer held.release()
	ctx, cancel := context.WithTimeout(t.Context(), 3*lockPoll)
	defer cancel()
	if _, err := acquireLock(ctx, path, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: err = %v", err)
	}
}

func TestStaleMarkerTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	must(t, os.WriteFile(path+".excl", nil, 0o666))
	old := time.Now().Add(-2 * markerStale)
	must(t, os.Chtimes(path+".excl", old, old))
	if _, busy, _ := tryLockExclusive(path); !busy {
		t.Fatal("stale marker not seen as busy first")
	}
	l, busy, err := tryLockExclusive(path)
	if err != nil || busy {
		t.Fatalf("stale marker not taken over: busy %v, err %v", busy, err)
	}
	must(t, l.release())
}

func TestDiskFullError(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer f.Close()
	_, werr := f.Write(make([]byte, 4096))
	err = wrapWriteErr("/cache/blobs/abc.incomplete", werr)
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ErrDiskFull and ENOSPC", err)
	}
	for _, want := range []string{"/cache/blobs/abc.incomplete", "no space left", "HF_HUB_CACHE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

// TestTwoProcesses runs two goclip-like processes (this test binary in
// helper mode) downloading the same model into one cache at once.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	fh.mu.Lock() // the handlers read it under the lock
	fh.cdnDelay = 100 * time.Millisecond
	fh.mu.Unlock()
	cache := t.TempDir()
	ctx := ctxT(t)
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GOCLIP_HUB_HELPER=1", "HF_ENDPOINT="+fh.hub.URL, "HF_HUB_CACHE="+cache,
			"HF_TOKEN=", "HF_HUB_OFFLINE=")
		out := new(lockedBuffer)
		cmd.Stdout, cmd.Stderr = out, out
		must(t, cmd.Start())
		cmds = append(cmds, cmd)
		t.Cleanup(func() { t.Logf("helper output:\n%s", out.String()) })
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper process: %v", err)
		}
	}
	checkCache(t, cache, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
	if n := fh.count("CDN model.safetensors"); n != 1 {
		t.Errorf("model.safetensors fetched %d times by two processes; want once", n)
	}
	// Two HEADs mean both processes reached the blob (the second waited on
	// the lock, then found the blob); one means they did not overlap.
	t.Logf("HEAD model.safetensors: %d", fh.count("HEAD model.safetensors"))
}

// TestHelperProcess is the child of TestTwoProcesses.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GOCLIP_HUB_HELPER") != "1" {
		t.Skip("helper process only")
	}
	c, err := NewClientFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := c.Download(t.Context(), tinyID, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Log("snapshot:", dir)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
