package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/index"
	"github.com/goclip/goclip/internal/browsertest"
)

// testIndex indexes copies of kit images with m, in a folder of its own.
func testIndex(t *testing.T, m clip.Encoder, names ...string) (dir string, x *index.Index) {
	t.Helper()
	dir = t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(kit, "images", n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	path := filepath.Join(t.TempDir(), "x.goclip")
	if _, err := index.Build(context.Background(), path, []string{dir}, index.BuildConfig{Encoder: m}); err != nil {
		t.Fatal(err)
	}
	x, err := index.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return dir, x
}

// /v1/search answers text, image and vector queries with the index's own
// ranking, and refuses what it cannot do with the usual error codes.
func TestSearchAPI(t *testing.T) {
	m := loadTiny(t)
	dir, x := testIndex(t, m, "chelsea.png", "coffee.png", "rocket.jpg")
	_, ts := newTest(t, m, Options{Index: x})

	post := func(body string) (int, searchResponse, errorBody) {
		resp, err := http.Post(ts.URL+"/v1/search", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ok searchResponse
		var bad errorBody
		if resp.StatusCode == 200 {
			json.NewDecoder(resp.Body).Decode(&ok)
		} else {
			json.NewDecoder(resp.Body).Decode(&bad)
		}
		return resp.StatusCode, ok, bad
	}
	ctx := context.Background()
	q, err := index.QueryVector(ctx, m, nil, []index.Term{{Weight: 1, Text: "a cup of coffee"}, {Weight: -0.5, Text: "a cat"}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := x.Search(ctx, q, 3, 1)
	code, res, _ := post(`{"query": "\"a cup of coffee\" - 0.5*\"a cat\"", "top": 3}`)
	if code != 200 || len(res.Results) != 3 || res.Images != 3 || res.Model != m.Fingerprint() {
		t.Fatalf("text query: %d %+v", code, res)
	}
	for i, h := range res.Results {
		if h.Path != want[i].Path || h.Rank != i+1 || h.Score != want[i].Score {
			t.Errorf("result %d: %+v, want %+v", i, h, want[i])
		}
	}
	img, _ := os.ReadFile(filepath.Join(dir, "rocket.jpg"))
	code, res, _ = post(`{"image": "` + base64.StdEncoding.EncodeToString(img) + `", "top": 1}`)
	if code != 200 || len(res.Results) != 1 || res.Results[0].Path != filepath.Join(dir, "rocket.jpg") || res.Results[0].Score < 0.999 {
		t.Errorf("image query: %d %+v", code, res)
	}
	vec, _ := json.Marshal(q)
	code, res, _ = post(`{"vector": ` + string(vec) + `, "top": 3}`)
	if code != 200 || res.Results[0].Path != want[0].Path {
		t.Errorf("vector query: %d %+v", code, res)
	}
	for body, wantCode := range map[string]Code{
		`{}`:                              CodeBadRequest,
		`{"query": "a cat", "top": 5000}`: CodeBadRequest,
		`{"vector": [1, 2]}`:              CodeBadRequest,
		`{"query": "image:/etc/passwd"}`:  CodeBadRequest,
		`{"query": "\"unclosed"}`:         CodeBadRequest,
		`{"image": "%%%"}`:                CodeInvalidBase64,
		`{"image": "` + base64.StdEncoding.EncodeToString([]byte("not an image")) + `"}`: CodeInvalidImage,
		`{"query": "a cat", "vector": [1]}`:                                              CodeBadRequest,
		`{"query": "a cat", "unknown": 1}`:                                               CodeInvalidJSON,
	} {
		if code, _, e := post(body); code/100 != 4 || e.Error.Code != wantCode {
			t.Errorf("%.60s: %d %+v, want %s", body, code, e, wantCode)
		}
	}
	// Without an index: 404 with a hint.
	_, ts2 := newTest(t, m, Options{})
	resp, err := http.Post(ts2.URL+"/v1/search", "application/json", strings.NewReader(`{"query": "a cat"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("no index: %d", resp.StatusCode)
	}
}

// TestSearchPageInBrowser types a query into the page's search box,
// presses Enter and checks the hits it shows (order, scores, thumbnails)
// against the index's own search; an empty query is refused on the page.
func TestSearchPageInBrowser(t *testing.T) {
	browsertest.Require(t)
	m := loadTiny(t)
	_, x := testIndex(t, m, "chelsea.png", "coffee.png", "rocket.jpg", "horse.png")
	_, ts := newTest(t, m, Options{Index: x})
	b := browsertest.New(t)
	b.Navigate(ts.URL + "/")
	ctx := b.Context()

	if err := chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`#search`)),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#search-status.error`)),
	); err != nil {
		t.Fatal(err)
	}
	if focus := browsertest.Eval[string](b, `document.activeElement.id`); focus != "query" {
		t.Errorf("empty search: focus on %q, want the query box", focus)
	}
	const query = `"a cup of coffee" + "a horse"`
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#query`), query),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#hits li`)),
	); err != nil {
		t.Fatal(err)
	}
	type hit struct {
		Path  string  `json:"path"`
		Score float64 `json:"score"`
		Width float64 `json:"width"`
	}
	got := browsertest.Eval[[]hit](b, `Array.from(document.querySelectorAll("#hits li")).map((li) => ({
		path: li.dataset.path, score: Number(li.dataset.score), width: li.querySelector("img") ? li.querySelector("img").naturalWidth : 0}))`)
	terms, _ := index.ParseQuery(query)
	q, err := index.QueryVector(context.Background(), m, nil, terms)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := x.Search(context.Background(), q, 12, 1)
	if len(got) != len(want) {
		t.Fatalf("%d hits shown, want %d", len(got), len(want))
	}
	for i, h := range got {
		if h.Path != want[i].Path || float32(h.Score) != want[i].Score {
			t.Errorf("hit %d: %+v, want %s %v", i, h, want[i].Path, want[i].Score)
		}
		if h.Width <= 0 || h.Width > thumbSide {
			t.Errorf("hit %d: thumbnail %v pixels wide", i, h.Width)
		}
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	shot := b.Screenshot(filepath.Join(t.TempDir(), "goclip-search.png"))
	if data, err := os.ReadFile(shot); err == nil {
		os.WriteFile("/tmp/goclip-search-screenshot.png", data, 0o644)
	}
}
