package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's log writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeRefusesOpenAddrWithoutKey(t *testing.T) {
	t.Setenv("GOCLIP_API_KEY", "")
	_, stderr, code := goclip(t, "serve", "--model", kit+"models/tiny-synth", "--addr", "0.0.0.0:0")
	if code != 1 || !strings.Contains(stderr, "without an API key") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestServe runs "goclip serve" in process: it becomes ready, classifies,
// logs the request with its id, and shuts down when its context ends.
func TestServe(t *testing.T) {
	t.Setenv("GOCLIP_API_KEY", "k")
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdout: io.Discard, stderr: &stderr, stdin: strings.NewReader("")},
			[]string{"serve", "--model", kit + "models/tiny-synth", "--addr", "127.0.0.1:0"})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("exit %d: %s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
		if !strings.Contains(stderr.String(), "shut down") {
			t.Errorf("no shutdown log: %s", stderr.String())
		}
	}()
	re := regexp.MustCompile(`url=(http://[0-9.:]+/)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening log: %s", stderr.String())
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get(url + "readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v %s", err, stderr.String())
		}
	}
	req, _ := http.NewRequest("POST", url+"v1/embeddings", strings.NewReader(`{"texts": ["a photo of a cat"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("X-Request-ID", "cli-test-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"kind":"text"`)) {
		t.Errorf("embeddings: %d %s", resp.StatusCode, body)
	}
	if log := stderr.String(); !strings.Contains(log, "request_id=cli-test-1") || !strings.Contains(log, "path=/v1/embeddings") {
		t.Errorf("no access log line for the request: %s", log)
	}
}
