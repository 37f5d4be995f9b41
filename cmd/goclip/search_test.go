package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/npy"
)

// goclip index, then goclip search by text, image, combined query and
// vector; the HTML page; a foreign index file refused with its name.
func TestIndexSearch(t *testing.T) {
	model := kit + "models/tiny-synth"
	dir := t.TempDir()
	for _, n := range []string{"chelsea.png", "coffee.png", "rocket.jpg", "bad-text.png"} {
		b, err := os.ReadFile(kit + "images/" + n)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	idx := filepath.Join(t.TempDir(), "photos.goclip")
	_, errs, code := goclip(t, "index", "--model", model, "--index", idx, "--no-cache", "--quiet", dir)
	if code != 1 || !strings.Contains(errs, "bad-text.png") || !strings.Contains(errs, "3 images (3 new") {
		t.Fatalf("index: exit %d\n%s", code, errs)
	}
	out, errs, code := goclip(t, "search", "--model", model, "--index", idx, "--top", "2", "--json", "--image", filepath.Join(dir, "coffee.png"))
	if code != 0 {
		t.Fatalf("search: exit %d\n%s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first struct {
		Rank  int
		Path  string
		Score float64
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Path != filepath.Join(dir, "coffee.png") || first.Score < 0.999 || first.Rank != 1 {
		t.Fatalf("search by image:\n%s", out)
	}
	html := filepath.Join(t.TempDir(), "hits.html")
	out, errs, code = goclip(t, "search", "--model", model, "--index", idx, "--html", html, `"a cup of coffee" + 0.5*"a cat" - "a rocket"`)
	if code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != 3 {
		t.Fatalf("combined query: exit %d\n%s%s", code, out, errs)
	}
	if b, err := os.ReadFile(html); err != nil || strings.Count(string(b), "data:image/jpeg;base64,") != 3 {
		t.Errorf("html page: %v", err)
	}
	// A raw vector: the coffee image's own embedding, from goclip embed.
	emb, _, _ := goclip(t, "embed", "--model", model, "--image", filepath.Join(dir, "coffee.png"))
	var e struct{ Embedding []float32 }
	json.Unmarshal([]byte(emb), &e)
	vec := filepath.Join(t.TempDir(), "q.npy")
	f, _ := os.Create(vec)
	npy.Write(f, npy.Float32, len(e.Embedding), [][]float32{e.Embedding})
	f.Close()
	// Without --model, the index's own model.
	out, errs, code = goclip(t, "search", "--index", idx, "--top", "1", "--image", filepath.Join(dir, "rocket.jpg"))
	if code != 0 || !strings.Contains(out, "rocket.jpg") {
		t.Errorf("search with the index's model: exit %d\n%s%s", code, out, errs)
	}
	out, _, code = goclip(t, "search", "--index", idx, "--top", "1", "--vector", vec)
	if code != 0 || !strings.Contains(out, "coffee.png") {
		t.Errorf("--vector: exit %d\n%s", code, out)
	}
	// An inverted file: every list probed gives the exact answer.
	_, errs, code = goclip(t, "index", "--model", model, "--index", idx, "--no-cache", "--quiet", "--ivf", "2", dir)
	if code != 1 {
		t.Fatalf("index --ivf: exit %d\n%s", code, errs)
	}
	exact, _, _ := goclip(t, "search", "--model", model, "--index", idx, "a cup of coffee")
	approx, errs, code := goclip(t, "search", "--model", model, "--index", idx, "--nprobe", "2", "a cup of coffee")
	if code != 0 || approx != exact || !strings.Contains(errs, "2 of 2 lists") {
		t.Errorf("--nprobe 2: exit %d\n%s\nwant\n%s%s", code, approx, exact, errs)
	}
	if _, _, code := goclip(t, "index", "--model", model, "--index", idx, "--ivf", "none", dir); code != 2 {
		t.Errorf("--ivf none: exit %d", code)
	}
	// Usage errors and a foreign file.
	if _, _, code := goclip(t, "search", "--index", idx, "--vector", vec, "a cat"); code != 2 {
		t.Errorf("--vector with a query: exit %d", code)
	}
	if _, _, code := goclip(t, "search", "--index", idx, "--top", "0", "a cat"); code != 2 {
		t.Errorf("--top 0: exit %d", code)
	}
	foreign := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(foreign, []byte("SQLite format 3\x00"), 0o644)
	if _, errs, code := goclip(t, "search", "--index", foreign, "--vector", vec); code != 1 || !strings.Contains(errs, foreign) || !strings.Contains(errs, "not a goclip search index") {
		t.Errorf("foreign index: exit %d\n%s", code, errs)
	}
}
