//go:build unix

package cache

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The tests in this file run a copy of the test binary as a second process
// (TestHelperProcess, selected by environment variables) and talk to it
// through its standard output, so that the cache is exercised across real
// process boundaries: a kill -9 in the middle of a commit, and a file lock
// held by someone else.

const (
	envChild  = "GOCLIP_CACHE_TEST_CHILD" // "writer" or "holder"
	envPath   = "GOCLIP_CACHE_TEST_DB"
	crashDim  = 512
	crashKeys = 16 // entries per batch
)

var crashModel = "crash-test-model"

// batchKeys returns the keys of batch b.
func batchKeys(b int) []string {
	keys := make([]string, crashKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("batch%06d-img%02d", b, i)
	}
	return keys
}

// TestHelperProcess is the child process. It does nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envChild)
	if mode == "" {
		t.Skip("helper process for the crash and lock tests")
	}
	if err := runChild(mode, os.Getenv(envPath)); err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// runChild is the body of the child process.
//
// "writer" works like an interrupted evaluation being resumed: for batch
// 0, 1, 2, ... it asks the cache for the batch's keys, skips the batch if
// all are there, and otherwise writes the whole batch in one PutImages,
// printing "begin N" before and "committed N" after. It stops on its own
// after 20 s in case its parent is gone.
//
// "holder" opens the cache, prints "locked" and waits for its standard
// input to close.
func runChild(mode, path string) error {
	c, err := Open(path, Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	switch mode {
	case "holder":
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		return nil
	case "writer":
		deadline := time.Now().Add(20 * time.Second)
		resumed := false
		for b := 0; time.Now().Before(deadline); b++ {
			keys := batchKeys(b)
			vs, err := c.GetImages(crashModel, keys)
			if err != nil {
				return err
			}
			have := 0
			for _, v := range vs {
				if v != nil {
					have++
				}
			}
			if have == len(keys) {
				continue
			}
			if have != 0 {
				return fmt.Errorf("batch %d is partly stored: %d of %d entries", b, have, len(keys))
			}
			if !resumed {
				fmt.Println("resume", b)
				resumed = true
			}
			batch := make(map[string][]float32, len(keys))
			for _, k := range keys {
				batch[k] = testVector(k, crashDim)
			}
			fmt.Println("begin", b)
			if err := c.PutImages(crashModel, batch); err != nil {
				return err
			}
			fmt.Println("committed", b)
		}
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// child is a running helper process and the lines it prints.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // closed when its standard output closes
}

func startChild(t *testing.T, mode, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envPath+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ch.lines <- sc.Text()
		}
		close(ch.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return ch
}

// next returns the child's next line, failing the test after timeout.
func (c *child) next(t *testing.T, timeout time.Duration) (string, bool) {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if strings.HasPrefix(l, "error ") {
			t.Fatalf("child: %s", l)
		}
		return l, ok
	case <-time.After(timeout):
		t.Fatalf("child printed nothing for %v", timeout)
		return "", false
	}
}

// TestKillDuringWrites kills a writing process with SIGKILL at random
// moments, some of them inside a commit, and checks after each kill that
// the file opens, that every batch the child reported committed is there
// byte for byte, that no batch is partly there, that bbolt's own
// consistency check passes, and that a new writer resumes at the first
// batch that is missing.
func TestKillDuringWrites(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	path := t.TempDir() + "/embeddings.db"
	start := time.Now()
	committed := -1 // highest batch reported committed
	rounds, inFlight, inFlightKept := 0, 0, 0
	for ; rounds < 10 && time.Since(start) < 5*time.Second; rounds++ {
		ch := startChild(t, "writer", path)
		// Kill after a random number of commits, either just after a
		// "committed" line or just after a "begin" line, plus a random
		// delay of up to 3 ms.
		target := 1 + rng.IntN(12)
		onBegin := rng.IntN(2) == 0
		delay := time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
		commits, last := 0, ""
		for {
			l, ok := ch.next(t, 5*time.Second)
			if !ok {
				t.Fatal("child exited before it was killed")
			}
			last = l
			word, arg, _ := strings.Cut(l, " ")
			n, _ := strconv.Atoi(arg)
			switch word {
			case "resume":
				// The batch after the last one reported, or the one
				// after that if the previous child was killed after
				// its commit but before it said so.
				if n != committed+1 && n != committed+2 {
					t.Fatalf("round %d: child resumed at batch %d, last reported committed %d", rounds, n, committed)
				}
			case "committed":
				committed = n
				commits++
			}
			if commits >= target && (word == "committed" && !onBegin || word == "begin" && onBegin) {
				break
			}
		}
		time.Sleep(delay)
		if err := ch.cmd.Process.Signal(os.Kill); err != nil {
			t.Fatal(err)
		}
		// Lines the child printed before it died are facts too. Read
		// them all before Wait, which closes the pipe.
		for l := range ch.lines {
			last = l
			if word, arg, _ := strings.Cut(l, " "); word == "committed" {
				committed, _ = strconv.Atoi(arg)
			}
		}
		ch.cmd.Wait()
		present := verifyCrashDB(t, path, committed)
		if strings.HasPrefix(last, "begin") {
			// Killed inside PutImages: either outcome is correct.
			inFlight++
			if present > committed+1 {
				inFlightKept++
			}
		}
	}
	// A last writer resumes and commits cleanly.
	ch := startChild(t, "writer", path)
	for {
		l, _ := ch.next(t, 5*time.Second)
		if strings.HasPrefix(l, "committed") {
			break
		}
	}
	ch.cmd.Process.Signal(os.Kill)
	ch.cmd.Wait()
	t.Logf("%d kills in %v; %d inside PutImages (batch kept: %d, lost: %d); %d batches reported committed",
		rounds, time.Since(start).Round(time.Millisecond), inFlight, inFlightKept, inFlight-inFlightKept, committed+1)
}

// verifyCrashDB checks the file a killed writer left behind, and returns
// the number of batches in it.
func verifyCrashDB(t *testing.T, path string, committed int) int {
	t.Helper()
	c, err := Open(path, Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("after kill: %v", err)
	}
	defer c.Close()
	present := 0
	for b := 0; ; b++ {
		keys := batchKeys(b)
		vs, err := c.GetImages(crashModel, keys)
		if err != nil {
			t.Fatal(err)
		}
		have := 0
		for i, v := range vs {
			if v == nil {
				continue
			}
			have++
			if !sameBits(v, testVector(keys[i], crashDim)) {
				t.Fatalf("batch %d: %s has a wrong vector", b, keys[i])
			}
		}
		if have != 0 && have != len(keys) {
			t.Fatalf("batch %d is partly stored: %d of %d", b, have, len(keys))
		}
		if have == 0 {
			if b <= committed {
				t.Fatalf("batch %d was reported committed but is missing", b)
			}
			break
		}
		present++
	}
	// Nothing beyond the first missing batch, and no stray entries.
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Models) != 1 || s.Models[0].Images != present*crashKeys {
		t.Fatalf("Stats %+v, want %d images", s.Models, present*crashKeys)
	}
	if got := c.Counters(); got.Corrupt != 0 {
		t.Fatalf("%d corrupt entries", got.Corrupt)
	}
	if c.Close() != nil {
		t.Fatal("close")
	}
	// bbolt's structural check: pages, freelist, bucket trees.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("bbolt check: %v", err)
	}
	return present
}

// TestLockedByAnotherProcess checks that Open gives up with a clear error
// when another process holds the file, and succeeds once it is gone.
func TestLockedByAnotherProcess(t *testing.T) {
	path := t.TempDir() + "/embeddings.db"
	ch := startChild(t, "holder", path)
	if l, _ := ch.next(t, 5*time.Second); l != "locked" {
		t.Fatalf("child: %q", l)
	}
	for _, ro := range []bool{false, true} {
		t0 := time.Now()
		c, err := Open(path, Options{Timeout: 300 * time.Millisecond, ReadOnly: ro})
		waited := time.Since(t0)
		if err == nil {
			c.Close()
			t.Fatalf("read-only %v: opened a file another process holds", ro)
		}
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "in use by another process") {
			t.Errorf("read-only %v: error %q", ro, err)
		}
		if waited < 200*time.Millisecond || waited > 3*time.Second {
			t.Errorf("read-only %v: gave up after %v, want about 300ms", ro, waited)
		}
		t.Logf("read-only %v: after %v: %v", ro, waited.Round(time.Millisecond), err)
	}
	// Not waiting at all.
	if _, err := Open(path, Options{Timeout: -1}); !errors.Is(err, ErrLocked) {
		t.Errorf("Timeout -1: %v", err)
	}
	// The lock goes with the process, even when it is killed.
	ch.cmd.Process.Signal(os.Kill)
	ch.cmd.Wait()
	c, err := Open(path, Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	c.Close()
}
