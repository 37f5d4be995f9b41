package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeHub serves the kit's tiny model as the Hub repository test/tiny-clip:
// the file listing API and resolve with the headers huggingface_hub reads
// (model.safetensors as an LFS file whose ETag is its SHA-256).
func fakeHub(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	const repo, commit = "test/tiny-clip", "0123456789abcdef0123456789abcdef01234567"
	dir := kit + "models/tiny-synth"
	entries, _ := os.ReadDir(dir)
	files := map[string][]byte{}
	var siblings []map[string]string
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		files[e.Name()] = b
		siblings = append(siblings, map[string]string{"rfilename": e.Name()})
	}
	siblings = append(siblings, map[string]string{"rfilename": "tf_model.h5"})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/models/"+repo+"/revision/"):
			json.NewEncoder(w).Encode(map[string]any{"id": repo, "sha": commit, "siblings": siblings})
		case strings.HasPrefix(r.URL.Path, "/"+repo+"/resolve/"):
			name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			data, ok := files[name]
			if !ok {
				w.Header().Set("X-Error-Code", "EntryNotFound")
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			w.Header().Set("X-Repo-Commit", commit)
			sum := sha256.Sum256(data)
			if name == "model.safetensors" {
				w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
				w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
			}
			w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:20])+`"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			if r.Method == http.MethodGet {
				w.Write(data)
			}
		default:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

// TestHubModel runs commands with a Hub id: the first run downloads into
// the huggingface_hub cache, later runs and offline runs use it.
func TestHubModel(t *testing.T) {
	srv, requests := fakeHub(t)
	cacheDir := t.TempDir()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_CACHE", cacheDir)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_TOKEN", "")

	out, errs, code := goclip(t, "download", "test/tiny-clip")
	if code != 0 {
		t.Fatalf("download: exit %d: %s", code, errs)
	}
	snap := strings.TrimSpace(out)
	if !strings.HasPrefix(snap, filepath.Join(cacheDir, "models--test--tiny-clip", "snapshots")) {
		t.Errorf("snapshot %q not in the cache", snap)
	}
	if _, err := os.Stat(filepath.Join(snap, "tf_model.h5")); err == nil {
		t.Error("tf_model.h5 was downloaded")
	}
	img := kit + "images/horse.png"
	want, _, code := goclip(t, "classify", "--model", kit+"models/tiny-synth", "--labels", "horse,cat", img)
	if code != 0 {
		t.Fatal("local classify failed")
	}
	got, errs, code := goclip(t, "classify", "--model", "test/tiny-clip", "--labels", "horse,cat", img)
	if code != 0 || strings.ReplaceAll(got, "test/tiny-clip", "") != strings.ReplaceAll(want, kit+"models/tiny-synth", "") {
		t.Errorf("hub classify: exit %d %s\n%s\nvs\n%s", code, errs, got, want)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	before := requests.Load()
	if _, errs, code := goclip(t, "embed", "--model", "test/tiny-clip", "--text", "a cat"); code != 0 || requests.Load() != before {
		t.Errorf("offline run: exit %d, %d requests: %s", code, requests.Load()-before, errs)
	}
	list, _, code := goclip(t, "models")
	if code != 0 || !strings.Contains(list, "test/tiny-clip") || !strings.Contains(list, "MiB") {
		t.Errorf("models: exit %d\n%s", code, list)
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	if _, errs, code := goclip(t, "download", "test/missing"); code != 1 || !strings.Contains(errs, "test/missing") {
		t.Errorf("missing repo: exit %d %s", code, errs)
	}
}
