package eval

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/internal/browsertest"
)

// TestReportHTMLInBrowser evaluates the tiny model on the kit images (with
// the bad files), writes report.html and opens it in headless Chromium:
// the page must render the report, the confusion matrix, one gallery card
// per misclassified image with a decoded thumbnail and the unreadable
// files, load nothing but itself and data: URLs, and log no console error
// or exception. It saves a full-page screenshot to $GOCLIP_SCREENSHOT_DIR
// (default: a temporary directory) and logs its path.
func TestReportHTMLInBrowser(t *testing.T) {
	browsertest.Require(t) // skip before the evaluation when there is no browser
	in, ds, m := tinyKit(t, true)
	const model = "tiny-synth"
	root := ds.Root
	res, err := Run(context.Background(), Config{Model: m, Dataset: ds, Classes: variedClasses(in, model)})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := res.WriteFiles(context.Background(), out, "tiny", root, m.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	mistakes := 0
	for _, r := range res.Rows {
		if r.Pred != r.True {
			mistakes++
		}
	}
	if mistakes == 0 || mistakes > MaxGallery || len(res.Failures) != 5 {
		t.Fatalf("%d mistakes, %d failures: the page would not show a gallery and bad files", mistakes, len(res.Failures))
	}

	start := time.Now()
	b := browsertest.New(t)
	started := time.Since(start)
	page := browsertest.FileURL(filepath.Join(out, "report.html"))
	b.Navigate(page)

	if got, want := browsertest.Eval[string](b, `document.title`), "goclip eval: "+root; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got, want := browsertest.Eval[string](b, `document.querySelector("pre").textContent`), res.Metrics.ClassificationReport(2); got != want {
		t.Errorf("report <pre>:\n%s\nwant:\n%s", got, want)
	}
	if got, want := browsertest.Eval[int](b, `document.querySelectorAll("table.cm tr").length`), len(res.Classes)+1; got != want {
		t.Errorf("confusion matrix has %d rows, want %d", got, want)
	}
	if got := browsertest.Eval[int](b, `document.querySelectorAll(".gallery li").length`); got != mistakes {
		t.Errorf("gallery has %d cards, want %d misclassified images", got, mistakes)
	}
	// Thumbnails are lazy: bring each into view, then wait for its decode.
	widths := browsertest.Eval[[]int](b, `(async () => {
		const ws = [];
		for (const li of document.querySelectorAll(".gallery li")) {
			const img = li.querySelector("img");
			if (!img) { ws.push(-1); continue; }
			img.scrollIntoView();
			await img.decode().catch(() => {});
			ws.push(img.naturalWidth);
		}
		window.scrollTo(0, 0);
		return ws;
	})()`)
	for i, w := range widths {
		if w <= 0 {
			t.Errorf("gallery card %d: thumbnail not decoded (naturalWidth %d; -1: no <img>)", i, w)
		}
	}
	if n := browsertest.Eval[int](b, `[...document.images].filter(i => !i.alt.trim()).length`); n != 0 {
		t.Errorf("%d images without alt text", n)
	}
	// Heat-map numbers stay readable: WCAG AA contrast (4.5:1) on every cell.
	low := browsertest.Eval[[]string](b, `(() => {
		const lum = css => {
			const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(v => {
				v /= 255;
				return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
			});
			return 0.2126 * r + 0.7152 * g + 0.0722 * b;
		};
		const low = [];
		for (const td of document.querySelectorAll("table.cm td")) {
			const s = getComputedStyle(td), a = lum(s.color), b = lum(s.backgroundColor);
			const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			if (ratio < 4.5) low.push(td.textContent + ": " + s.color + " on " + s.backgroundColor + " " + ratio.toFixed(2));
		}
		return low;
	})()`)
	if len(low) > 0 {
		t.Errorf("heat-map cells with contrast below 4.5:1: %q", low)
	}
	bad := browsertest.Eval[[]string](b, `[...document.querySelectorAll("#unreadable + ul li code")].map(c => c.textContent)`)
	if len(bad) != len(res.Failures) {
		t.Errorf("unreadable files section lists %q, want %d files", bad, len(res.Failures))
	}
	for i, f := range res.Failures {
		if i < len(bad) && bad[i] != f.Path {
			t.Errorf("unreadable file %d: %q, want %q", i, bad[i], f.Path)
		}
	}

	// Self-contained: the page itself is the only request, every other
	// resource is a data: URL, and no attribute points off the page.
	dataURLs := 0
	for _, u := range b.Requests() {
		if strings.HasPrefix(u, "data:") {
			dataURLs++
		} else if u != page {
			t.Errorf("request to %.80s", u)
		}
	}
	if ext := browsertest.Eval[[]string](b, `performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith("data:"))`); len(ext) > 0 {
		t.Errorf("resources loaded from %q", ext)
	}
	if ext := browsertest.Eval[[]string](b, `[...document.querySelectorAll("[src],[href]")]
		.map(e => e.getAttribute("src") ?? e.getAttribute("href"))
		.filter(u => !u.startsWith("data:") && !u.startsWith("#"))`); len(ext) > 0 {
		t.Errorf("links off the page: %q", ext)
	}

	dir := os.Getenv("GOCLIP_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := b.Screenshot(filepath.Join(dir, "report-html.png"))
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshot: %s (%d misclassified, %d unreadable, %d data: URL requests; browser start %v, checks and screenshot %v)",
		shot, mistakes, len(res.Failures), dataURLs, started.Round(time.Millisecond), (time.Since(start) - started).Round(time.Millisecond))
}
