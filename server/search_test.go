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

	"github.com/goclip/goclip/index"
)

// /v1/search answers text, image and vector queries with the index's own
// ranking, and refuses what it cannot do with the usual error codes.
func TestSearchAPI(t *testing.T) {
	m := loadTiny(t)
	dir := t.TempDir()
	for _, n := range []string{"chelsea.png", "coffee.png", "rocket.jpg"} {
		b, _ := os.ReadFile(filepath.Join(kit, "images", n))
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
	defer x.Close()
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
