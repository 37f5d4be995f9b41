package browsertest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// page has a data: image, an image missing on a local server (%s), one
// console error, one warning, one log line (not an error) and one
// uncaught exception.
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>probe</title></head>
<body><h1>probe</h1>
<img id="px" alt="one pixel" src="data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==">
<img alt="missing" src="%s/missing.png">
<script>
console.log("just a log");
console.error("bad thing", 42);
console.warn({a: 1});
setTimeout(() => { throw new Error("boom") }, 0);
</script>
</body></html>`

func TestBrowser(t *testing.T) {
	b := New(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "probe.html")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(page, srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Navigate(FileURL(path))
	if got := Eval[string](b, `document.title`); got != "probe" {
		t.Errorf("title %q", got)
	}
	// Awaited promise: the image has decoded.
	if w := Eval[int](b, `(async () => { const i = document.getElementById("px"); await i.decode(); return i.naturalWidth })()`); w != 1 {
		t.Errorf("naturalWidth %d", w)
	}
	// The exception is thrown from a timer; wait for a turn of the loop.
	Eval[bool](b, `new Promise(r => setTimeout(() => r(true), 50))`)
	errs := strings.Join(b.ConsoleErrors(), "\n")
	for _, want := range []string{"console.error: bad thing 42", "console.warning: Object", "exception: Uncaught Error: boom",
		// A 404 (or, for this text/plain 404, ORB's block) of the image.
		"network: ", srv.URL + "/missing.png"} {
		if !strings.Contains(errs, want) {
			t.Errorf("console errors %q: no %q", errs, want)
		}
	}
	if strings.Contains(errs, "just a log") {
		t.Errorf("console errors %q include a plain log", errs)
	}
	reqs := b.Requests()
	if len(reqs) == 0 || reqs[0] != FileURL(path) || !slices.Contains(reqs, srv.URL+"/missing.png") {
		t.Errorf("requests %.200q: want the page first and the missing image", reqs)
	}
	shot := b.Screenshot(filepath.Join(t.TempDir(), "probe.png"))
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s is not a PNG (%v)", shot, err)
	}
}

func TestExecPathMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := ExecPath(); err == nil || !strings.Contains(err.Error(), "chromium") {
		t.Errorf("ExecPath with an empty PATH: %v", err)
	}
}

func TestFileURL(t *testing.T) {
	if got := FileURL("/tmp/a b/report.html"); got != "file:///tmp/a%20b/report.html" {
		t.Errorf("FileURL: %s", got)
	}
}
