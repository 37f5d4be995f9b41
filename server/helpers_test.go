package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
)

const kit = "../testdata/kit"

// tinyModel loads the kit's tiny synthetic model once per test binary.
var tinyModel = sync.OnceValues(func() (*clip.Model, error) {
	return clip.Load(filepath.Join(kit, "models/tiny-synth"), clip.Options{Threads: 2})
})

func loadTiny(t testing.TB) *clip.Model {
	t.Helper()
	m, err := tinyModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readKit(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kit, "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// probeModel wraps a model to count image-encoder calls, and optionally to
// hold every call until gate is closed (entered is signalled on each call)
// or to slow calls down.
type probeModel struct {
	clip.Encoder
	calls   atomic.Int64
	images  atomic.Int64
	delay   time.Duration
	gate    chan struct{}
	entered chan int // receives the batch size when a call starts, if set
}

func (p *probeModel) EncodeImages(ctx context.Context, px [][]float32) ([][]float32, error) {
	p.calls.Add(1)
	p.images.Add(int64(len(px)))
	if p.entered != nil {
		p.entered <- len(px)
	}
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	time.Sleep(p.delay)
	return p.Encoder.EncodeImages(ctx, px)
}

// newTest starts a server for m (nil: the tiny model) behind httptest.
func newTest(t *testing.T, m clip.Encoder, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	if m == nil {
		m = loadTiny(t)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := New(opt)
	if err := s.SetModel(m); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close(context.Background())
	})
	return s, ts
}

// multipartBody builds a multipart/form-data body; a field named "image"
// is sent as a file part.
func multipartBody(t testing.TB, fields ...string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "image" {
			fw, err := mw.CreateFormFile("image", "upload")
			if err != nil {
				t.Fatal(err)
			}
			fw.Write([]byte(fields[i+1]))
			continue
		}
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
}

// errorCode returns the error code of an error answer ("" if none).
func (r response) errorCode() Code {
	var e errorBody
	json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func do(t testing.TB, method, url, contentType string, body io.Reader, header ...string) response {
	t.Helper()
	r, err := tryDo(method, url, contentType, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for goroutines other than the test's: it returns the error
// (t.Fatal must be called from the test's goroutine).
func tryDo(method, url, contentType string, body io.Reader, header ...string) (response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{resp.StatusCode, resp.Header, data}, nil
}

func postJSON(t testing.TB, url string, v any, header ...string) response {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, "POST", url, "application/json", bytes.NewReader(data), header...)
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }

// mustClasses is clip.LabelClasses for labels known to be valid.
func mustClasses(t *testing.T, labels []string, templates ...string) []clip.Class {
	t.Helper()
	c, err := clip.LabelClasses(labels, templates...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
