package server

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/browsertest"
)

// TestPageInBrowser drives the web page in headless Chromium with the
// keyboard: it submits without an image (and gets told so), uploads a kit
// image through the file input, types labels, focuses the button and
// presses Enter, then reads the probabilities the page renders and checks
// them against clip's own; then it drops a file on the drop zone. It saves a screenshot to $GOCLIP_SCREENSHOT_DIR
// (or the test's temporary folder) and to /tmp/goclip-serve-screenshot.png.
func TestPageInBrowser(t *testing.T) {
	browsertest.Require(t)
	_, ts := newTest(t, nil, Options{})
	b := browsertest.New(t)
	b.Navigate(ts.URL + "/")
	ctx := b.Context()

	// Every form control has a label.
	if unlabelled := browsertest.Eval[[]string](b, `Array.from(document.querySelectorAll("input, select, textarea"))
		.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id)`); len(unlabelled) > 0 {
		t.Errorf("controls without a label: %v", unlabelled)
	}

	// Enter on the button with no image: an error in the live region, focus to the file input.
	if err := chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`#classify`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#status.error`)),
	); err != nil {
		t.Fatal(err)
	}
	if msg, focus := browsertest.Eval[string](b, `document.getElementById("status").textContent`),
		browsertest.Eval[string](b, `document.activeElement.id`); !strings.Contains(msg, "Choose an image") || focus != "image" {
		t.Errorf("no-image submit: status %q, focus on %q", msg, focus)
	}

	img, err := filepath.Abs(filepath.Join(kit, "images", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"cat", "dog", "car"}
	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#image`), []string{img}),
		chromedp.WaitVisible(chromedp.CSS(`#preview`)),
		chromedp.Clear(chromedp.CSS(`#labels`)),
		chromedp.SendKeys(chromedp.CSS(`#labels`), strings.Join(labels, ", ")),
		chromedp.Focus(chromedp.CSS(`#classify`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#bars li`)),
	); err != nil {
		t.Fatal(err)
	}
	if w := browsertest.Eval[float64](b, `document.getElementById("preview").naturalWidth`); w != 451 {
		t.Errorf("preview is %v pixels wide, want chelsea's 451", w)
	}

	type row struct {
		Label       string  `json:"label"`
		Probability float64 `json:"probability"`
		Text        string  `json:"text"`
		Width       string  `json:"width"`
	}
	rows := browsertest.Eval[[]row](b, `Array.from(document.querySelectorAll("#bars li")).map((li) => ({
		label: li.dataset.label, probability: Number(li.dataset.probability),
		text: li.querySelector(".pct").textContent, width: li.querySelector(".fill").style.width}))`)
	cl, p := want(t, "chelsea.png", mustClasses(t, labels), clip.EnsembleMax)
	if len(rows) != len(labels) {
		t.Fatalf("%d rendered rows, want %d: %+v", len(rows), len(labels), rows)
	}
	for i, r := range rows {
		k := -1
		for j, c := range cl.Classes() {
			if c.Label == r.Label {
				k = j
			}
		}
		if k < 0 || math.Abs(r.Probability-p.ClassProbs[k]) > 1e-9 {
			t.Errorf("row %d: %+v, want a label of %v with clip's probability", i, r, labels)
			continue
		}
		if i > 0 && r.Probability > rows[i-1].Probability {
			t.Errorf("rows not sorted by probability: %+v", rows)
		}
		if shown, err := strconv.ParseFloat(strings.TrimSuffix(r.Text, "%"), 64); err != nil || math.Abs(shown-100*p.ClassProbs[k]) > 0.051 {
			t.Errorf("row %q shows %q, want %.1f%%", r.Label, r.Text, 100*p.ClassProbs[k])
		}
		if !strings.HasSuffix(r.Width, "%") {
			t.Errorf("row %q bar width %q", r.Label, r.Width)
		}
	}
	if rows[0].Label != p.Label {
		t.Errorf("top row %q, want %q", rows[0].Label, p.Label)
	}
	status := browsertest.Eval[string](b, `document.getElementById("status").textContent`)
	if !strings.Contains(status, "Best match: "+p.Label) {
		t.Errorf("status %q", status)
	}
	if live := browsertest.Eval[string](b, `document.getElementById("result").getAttribute("aria-live")`); live != "polite" {
		t.Errorf("result region aria-live=%q", live)
	}
	if focus := browsertest.Eval[string](b, `document.activeElement.id`); focus != "classify" {
		t.Errorf("focus moved to %q after submitting", focus)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	for _, u := range b.Requests() {
		if !strings.HasPrefix(u, ts.URL+"/") && !strings.HasPrefix(u, "blob:") {
			t.Errorf("the page requested %s", u)
		}
	}

	dir := os.Getenv("GOCLIP_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := b.Screenshot(filepath.Join(dir, "goclip-serve.png"))
	if data, err := os.ReadFile(shot); err == nil {
		if err := os.WriteFile("/tmp/goclip-serve-screenshot.png", data, 0o644); err != nil {
			t.Logf("copy screenshot: %v", err)
		}
	}
	t.Logf("screenshot: %s (copy at /tmp/goclip-serve-screenshot.png), at %s", shot, time.Now().Format(time.TimeOnly))

	// Dropping a file on the drop zone picks it, as the file input does.
	dropped := browsertest.Eval[string](b, `(async () => {
		const c = document.createElement("canvas");
		c.width = 40; c.height = 30;
		const blob = await new Promise((resolve) => c.toBlob(resolve, "image/png"));
		const dt = new DataTransfer();
		dt.items.add(new File([blob], "dropped.png", {type: "image/png"}));
		document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		const img = document.getElementById("preview");
		await new Promise((resolve) => img.complete ? resolve() : img.addEventListener("load", resolve, {once: true}));
		return document.getElementById("image").files[0].name + " " + img.naturalWidth;
	})()`)
	if dropped != "dropped.png 40" {
		t.Errorf("after a drop: file and preview width %q, want \"dropped.png 40\"", dropped)
	}
}
