package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// classifyAsync sends n classify requests concurrently and returns their
// answers on a channel.
func classifyAsync(t *testing.T, client *http.Client, url string, n int) <-chan response {
	img := readKit(t, "exact_224.png")
	out := make(chan response, n)
	for i := 0; i < n; i++ {
		body, ct := multipartBody(t, "image", string(img), "labels", "cat,dog") // t.Fatal only here, in the test's goroutine
		go func() {
			req, _ := http.NewRequest("POST", url+"/v1/classify", body)
			req.Header.Set("Content-Type", ct)
			resp, err := client.Do(req)
			if err != nil {
				out <- response{status: -1, body: []byte(err.Error())}
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out <- response{resp.StatusCode, resp.Header, data}
		}()
	}
	return out
}

// TestBatching holds the encoder on a first request while seven more
// arrive, then checks the seven went through one encoder call: two calls
// for eight requests, seen in the answers, Stats and /metrics.
func TestBatching(t *testing.T) {
	probe := &probeModel{Encoder: loadTiny(t), gate: make(chan struct{}), entered: make(chan int, 16)}
	s, ts := newTest(t, probe, Options{MaxBatch: 8, BatchWait: 20 * time.Millisecond})
	first := classifyAsync(t, ts.Client(), ts.URL, 1)
	if n := <-probe.entered; n != 1 {
		t.Fatalf("first batch has %d images", n)
	}
	rest := classifyAsync(t, ts.Client(), ts.URL, 7)
	b := s.backend.Load()
	waitFor(t, "7 queued images", func() bool { return b.batcher.depth.Load() == 7 })
	close(probe.gate)
	sizes := map[int]int{}
	for i := 0; i < 8; i++ {
		var r response
		if i == 0 {
			r = <-first
		} else {
			r = <-rest
		}
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var got classifyResult
		r.json(t, &got)
		sizes[got.BatchSize]++
	}
	if sizes[1] != 1 || sizes[7] != 7 {
		t.Errorf("answers' batch sizes %v, want one of 1 and seven of 7", sizes)
	}
	if c := probe.calls.Load(); c != 2 {
		t.Errorf("%d encoder calls for 8 requests, want 2", c)
	}
	if st := s.Stats(); len(st.BatchSizes) != 2 || st.BatchSizes[1] != 1 || st.BatchSizes[7] != 1 {
		t.Errorf("Stats().BatchSizes = %v", st.BatchSizes)
	}
	m := string(do(t, "GET", ts.URL+"/metrics", "", nil).body)
	for _, want := range []string{
		`goclip_batch_size_bucket{le="1"} 1`,
		`goclip_batch_size_bucket{le="4"} 1`,
		`goclip_batch_size_bucket{le="8"} 2`,
		`goclip_batch_size_sum 8`,
		`goclip_batch_size_count 2`,
		`goclip_http_requests_total{route="classify",code="200"} 8`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestBatchingUnderLoad sends concurrent requests to a slow encoder without
// holding it, and checks they share encoder calls.
func TestBatchingUnderLoad(t *testing.T) {
	probe := &probeModel{Encoder: loadTiny(t), delay: 30 * time.Millisecond}
	s, ts := newTest(t, probe, Options{MaxBatch: 8, BatchWait: 50 * time.Millisecond})
	out := classifyAsync(t, ts.Client(), ts.URL, 8)
	for i := 0; i < 8; i++ {
		if r := <-out; r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	calls := probe.calls.Load()
	if calls >= 8 || probe.images.Load() != 8 {
		t.Errorf("%d encoder calls for %d images: no batching", calls, probe.images.Load())
	}
	t.Logf("8 requests, %d encoder calls, batch sizes %v", calls, s.Stats().BatchSizes)
}

// TestQueueFull fills the admission limit and checks the next request is
// answered 429 with Retry-After, and the admitted ones still complete.
func TestQueueFull(t *testing.T) {
	probe := &probeModel{Encoder: loadTiny(t), gate: make(chan struct{}), entered: make(chan int, 16)}
	s, ts := newTest(t, probe, Options{MaxQueue: 2, BatchWait: time.Millisecond})
	held := classifyAsync(t, ts.Client(), ts.URL, 2)
	waitFor(t, "2 admitted requests", func() bool { return len(s.admit) == 2 })
	for _, path := range []string{"/v1/classify", "/v1/embeddings"} {
		r := postJSON(t, ts.URL+path, map[string]any{"image": b64(readKit(t, "chelsea.png")), "labels": []string{"a"}})
		if r.status != 429 || r.errorCode() != CodeQueueFull || r.header.Get("Retry-After") != "1" {
			t.Errorf("%s: %d %s (Retry-After %q)", path, r.status, r.body, r.header.Get("Retry-After"))
		}
	}
	if m := string(do(t, "GET", ts.URL+"/metrics", "", nil).body); !strings.Contains(m, "goclip_inflight_requests 2\n") {
		t.Errorf("metrics: want 2 in flight")
	}
	close(probe.gate)
	for i := 0; i < 2; i++ {
		if r := <-held; r.status != 200 {
			t.Errorf("held request: %d %s", r.status, r.body)
		}
	}
	if r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"texts": []string{"a"}}); r.status != 200 {
		t.Errorf("after the queue drained: %d %s", r.status, r.body)
	}
}

// TestBatcherQueueFull checks the batcher's own bound.
func TestBatcherQueueFull(t *testing.T) {
	gate := make(chan struct{})
	b := newBatcher(func(ctx context.Context, px [][]float32) ([][]float32, error) {
		<-gate
		return px, nil
	}, 4, time.Millisecond, 1, nil)
	ctx := context.Background()
	j1, j2, j3 := &job{ctx: ctx, pixels: [][]float32{{1}}}, &job{ctx: ctx, pixels: [][]float32{{2}}}, &job{ctx: ctx, pixels: [][]float32{{3}}}
	if err := b.submit(j1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first job taken", func() bool { return b.depth.Load() == 0 })
	if err := b.submit(j2); err != nil {
		t.Fatal(err)
	}
	if err := b.submit(j3); !errors.Is(err, errQueueFull) {
		t.Fatalf("third submit: %v, want errQueueFull", err)
	}
	close(gate)
	for _, j := range []*job{j1, j2} {
		if r := <-j.done; r.err != nil || r.emb[0][0] != j.pixels[0][0] {
			t.Errorf("job result %+v", r)
		}
	}
	if err := b.close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.submit(j3); !errors.Is(err, errClosed) {
		t.Errorf("submit after close: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	probe := &probeModel{Encoder: loadTiny(t), gate: make(chan struct{})}
	defer close(probe.gate)
	_, ts := newTest(t, probe, Options{RequestTimeout: 100 * time.Millisecond})
	start := time.Now()
	r := postJSON(t, ts.URL+"/v1/classify", map[string]any{"image": b64(readKit(t, "chelsea.png")), "labels": []string{"a", "b"}})
	if r.status != 503 || r.errorCode() != CodeTimeout {
		t.Errorf("got %d %s, want 503 timeout", r.status, r.body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
}

// serveReal runs Serve with m on a real listener on loopback: its URL, the
// cancel that stops it (as SIGTERM does), and Serve's result.
func serveReal(t *testing.T, m clip.Encoder, opt Options) (*Server, string, context.CancelFunc, <-chan error) {
	t.Helper()
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(opt)
	if err := s.SetModel(m); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	return s, "http://" + l.Addr().String(), cancel, served
}

// TestShutdown serves on a real listener, holds three requests in the
// encoder and its queue, cancels Serve's context, and checks: new requests
// are refused, the three complete with 200, Serve returns cleanly.
func TestShutdown(t *testing.T) {
	probe := &probeModel{Encoder: loadTiny(t), gate: make(chan struct{}), entered: make(chan int, 16)}
	s, url, cancel, served := serveReal(t, probe, Options{BatchWait: time.Millisecond, MaxBatch: 8})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	first := classifyAsync(t, client, url, 1)
	<-probe.entered
	rest := classifyAsync(t, client, url, 2)
	b := s.backend.Load()
	waitFor(t, "2 queued images", func() bool { return b.batcher.depth.Load() == 2 })

	cancel()
	waitFor(t, "draining", func() bool { return !s.Ready() })
	// New requests are refused: by the closed listener, or (in the moment
	// before it closes) with 503 shutting_down.
	waitFor(t, "the listener to close", func() bool {
		resp, err := client.Get(url + "/healthz")
		if err != nil {
			return true
		}
		resp.Body.Close()
		return false
	})
	rec := httptest.NewRecorder()
	body, ct := multipartBody(t, "image", "x", "labels", "a")
	req := httptest.NewRequest("POST", "/v1/classify", body)
	req.Header.Set("Content-Type", ct)
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), string(CodeShuttingDown)) {
		t.Errorf("new request while draining: %d %s", rec.Code, rec.Body)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned with requests in flight: %v", err)
	default:
	}

	close(probe.gate)
	for i := 0; i < 3; i++ {
		var r response
		if i == 0 {
			r = <-first
		} else {
			r = <-rest
		}
		if r.status != 200 {
			t.Errorf("in-flight request: %d %s", r.status, r.body)
		}
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if probe.calls.Load() != 2 {
		t.Errorf("%d encoder calls, want 2 (1, then the 2 queued together)", probe.calls.Load())
	}
}

// TestShutdownDelay checks that with a ShutdownDelay the listener stays
// open after the stop signal, /readyz answering 503 shutting_down (what a
// load balancer polls) while /healthz still answers, and that Serve then
// returns.
func TestShutdownDelay(t *testing.T) {
	s, url, cancel, served := serveReal(t, loadTiny(t), Options{ShutdownDelay: 500 * time.Millisecond})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string) {
		resp, err := client.Get(url + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz before the signal: %d %s", code, body)
	}
	cancel()
	waitFor(t, "draining", func() bool { return !s.Ready() })
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, string(CodeShuttingDown)) {
		t.Errorf("/readyz during the delay: %d %s", code, body)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("/healthz during the delay: %d %s", code, body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if code, _ := get("/healthz"); code != 0 {
		t.Errorf("the listener is still open after Serve returned")
	}
}
