// Package browsertest runs a headless Chromium for Go tests that check
// pages goclip writes or serves (report.html, the page of goclip serve).
//
// New starts one browser per test with a fixed, quiet set of flags and a
// fresh profile in t.TempDir, records what the page writes to its console
// (errors, warnings and uncaught exceptions) and every network request the
// page makes, and stops the browser when the test ends. The whole session
// is bounded by Timeout, so a hung browser fails the test instead of
// hanging it.
//
// A test is skipped when no Chromium binary is found, unless the
// environment variable GOCLIP_REQUIRE_BROWSER is "1" (CI sets it), in
// which case a missing browser fails the test.
//
// The package is built on github.com/chromedp/chromedp. Context returns the
// chromedp context, so a test can run any chromedp action on the tab:
//
//	b := browsertest.New(t)
//	b.Navigate(browsertest.FileURL(path))
//	title := browsertest.Eval[string](b, `document.title`)
//	if errs := b.ConsoleErrors(); len(errs) > 0 {
//		t.Errorf("console: %q", errs)
//	}
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds a whole browser session: start, every action and the
// shutdown. A test that needs the browser longer must split its work.
const Timeout = 60 * time.Second

// RequireEnv is the environment variable that turns a missing browser
// from a skipped test into a failed one, when it is "1".
const RequireEnv = "GOCLIP_REQUIRE_BROWSER"

// candidates are the names under which Chromium is installed, in the
// order they are tried: Debian's package first.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// Flags returns the command-line flags the browser starts with, besides
// a fresh --user-data-dir and the debugging pipe chromedp adds. They keep
// the browser headless, quiet on the network (no update checks, sync or
// QUIC probes) and runnable as root in a container. (Debian's
// /usr/bin/chromium wrapper appends its own defaults from /etc/chromium.d.)
func Flags() []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
	}
}

// ExecPath returns the path of the Chromium binary, or an error saying
// which names were looked for.
func ExecPath() (string, error) {
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found on PATH (looked for %s)", strings.Join(candidates, ", "))
}

// Browser is one headless Chromium with one tab, owned by a test.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	console  []string
	requests []string
	ids      map[network.RequestID]string // request URLs, for failures
	output   limitedBuffer
}

// Require returns the path of the Chromium binary. When there is none it
// skips t, or fails it if GOCLIP_REQUIRE_BROWSER is "1". New calls it; a
// test calls it first itself to skip before expensive setup.
func Require(t testing.TB) string {
	t.Helper()
	path, err := ExecPath()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v, and %s=1 requires it", err, RequireEnv)
		}
		t.Skipf("%v; install Debian's chromium package (or set %s=1 to fail instead of skipping)", err, RequireEnv)
	}
	return path
}

// New starts a browser for t and returns it; it is stopped by t.Cleanup.
// It skips or fails t as Require does when no Chromium is installed, and
// fails t when the browser cannot start.
func New(t testing.TB) *Browser {
	t.Helper()
	path := Require(t)
	// The profile directory is created before the cleanups below are
	// registered, so it is removed after the browser has stopped.
	profile := t.TempDir()
	b := &Browser{t: t}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(profile), chromedp.CombinedOutput(&b.output)}
	for _, f := range Flags() {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		if t.Failed() {
			if out := b.output.String(); out != "" {
				t.Logf("browser output (last %d bytes):\n%s", len(out), out)
			}
		}
	})
	// The first action starts the browser and attaches the tab.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", path, err, b.output.String())
	}
	return b
}

// Context returns the chromedp context of the browser's tab, for any
// chromedp action. It is done when Timeout has passed or the test ends.
func (b *Browser) Context() context.Context { return b.ctx }

// Navigate loads url in the tab and waits for its load event; it fails
// the test on error.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("navigate to %s: %v", url, err)
	}
}

// Eval evaluates the JavaScript expression in the page and decodes its
// result into T; a promise is awaited. It fails the test on error or
// when the expression throws.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Screenshot writes a PNG of the whole page, beyond the viewport, to
// path and returns path; it fails the test on error.
func (b *Browser) Screenshot(path string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	return path
}

// ConsoleErrors returns, in order, what DevTools would show in red or
// yellow in the tab's console so far: console errors and warnings,
// uncaught exceptions, error entries of the browser log, and resources
// that failed to load or got an HTTP error status.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// Requests returns the URLs of every network request the tab has made
// so far, the documents themselves included, in order.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// FileURL returns the file:// URL of a local path.
func FileURL(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// listen runs in chromedp's event loop, so it only records and returns.
func (b *Browser) listen(ev any) {
	var msg, req string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			args := make([]string, len(ev.Args))
			for i, a := range ev.Args {
				args[i] = remoteText(a)
			}
			msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		msg = "exception: " + exceptionText(ev.ExceptionDetails)
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError {
			msg = fmt.Sprintf("log %s: %s", e.Source, e.Text)
			if e.URL != "" {
				msg += " (" + e.URL + ")"
			}
		}
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			req = ev.Request.URL
		}
	case *network.EventResponseReceived:
		// Chromium no longer reports failed loads in the Log domain
		// (DevTools makes those console lines from network events).
		if r := ev.Response; r != nil && r.Status >= 400 {
			msg = fmt.Sprintf("network: %d %s: %s", r.Status, r.StatusText, r.URL)
		}
	case *network.EventLoadingFailed:
		if !ev.Canceled {
			b.mu.Lock()
			u := b.ids[ev.RequestID]
			b.mu.Unlock()
			msg = fmt.Sprintf("network: %s: %s", ev.ErrorText, u)
		}
	}
	if msg == "" && req == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if msg != "" {
		b.console = append(b.console, msg)
	}
	if req != "" {
		b.requests = append(b.requests, req)
		if b.ids == nil {
			b.ids = map[network.RequestID]string{}
		}
		b.ids[ev.(*network.EventRequestWillBeSent).RequestID] = req
	}
}

// remoteText renders a console argument as DevTools would, roughly: a
// string as itself, another value by its JSON or description.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

// exceptionText is the exception's message and where it was thrown.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	if d.URL != "" {
		s += fmt.Sprintf(" at %s:%d:%d", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return s
}

// limitedBuffer keeps the last outputLimit bytes written to it; chromedp
// writes the browser's stdout and stderr to it from its own goroutine.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

const outputLimit = 8 << 10

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if extra := l.buf.Len() - outputLimit; extra > 0 {
		l.buf.Next(extra)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
