package hub

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildPythonCache lays out, by hand, what huggingface_hub's
// hf_hub_download leaves for repo at its commit: blobs named by ETag,
// relative symlinks in snapshots/{commit}, refs/main, plus the .no_exist
// markers Python writes for files a repository lacks. Extra snapshots
// (older commits) may share blobs.
func buildPythonCache(t *testing.T, cache, id string, repo *fakeRepo, files []string, oldCommits ...string) {
	t.Helper()
	repoDir := filepath.Join(cache, RepoFolderName(id))
	for _, commit := range append([]string{repo.commit}, oldCommits...) {
		for _, f := range files {
			etag := repo.etagOf(f)
			blob := filepath.Join(repoDir, "blobs", etag)
			must(t, os.MkdirAll(filepath.Dir(blob), 0o777))
			must(t, os.WriteFile(blob, repo.files[f], 0o644))
			pointer := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(f))
			must(t, os.MkdirAll(filepath.Dir(pointer), 0o777))
			rel, err := filepath.Rel(filepath.Dir(pointer), blob)
			must(t, err)
			must(t, os.Symlink(rel, pointer))
		}
	}
	must(t, os.MkdirAll(filepath.Join(repoDir, "refs"), 0o777))
	must(t, os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(repo.commit), 0o644))
	noExist := filepath.Join(repoDir, ".no_exist", repo.commit)
	must(t, os.MkdirAll(noExist, 0o777))
	must(t, os.WriteFile(filepath.Join(noExist, "tokenizer.json"), nil, 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPythonCacheUsedWithoutDownload(t *testing.T) {
	fh := newFakeHub(t)
	files := tinyModel(t)
	files["extra/notes.txt"] = []byte("nested file")
	const id = "openai/clip-vit-base-patch32"
	repo := fh.addRepo(id, files)
	c := testClient(t, fh)
	// What transformers' CLIPModel.from_pretrained + CLIPProcessor leave.
	python := append(slices.Clone(tinyWant), "extra/notes.txt")
	buildPythonCache(t, c.CacheDir, id, repo, python)
	want := filepath.Join(c.CacheDir, "models--openai--clip-vit-base-patch32", "snapshots", repo.commit)

	if dir, ok := c.Cached(id, ""); !ok || dir != want {
		t.Fatalf("Cached = %s, %v; want %s", dir, ok, want)
	}
	if dir, ok := c.Cached(id, repo.commit); !ok || dir != want {
		t.Fatalf("Cached(commit) = %s, %v", dir, ok)
	}
	if _, ok := c.Cached(id, "v1.0"); ok {
		t.Error("Cached resolves a revision without a ref")
	}
	off := *c
	off.Offline = true
	if dir, err := off.Download(ctxT(t), id, "main"); err != nil || dir != want {
		t.Fatalf("offline Download = %s, %v", dir, err)
	}
	if dir, err := c.Download(ctxT(t), id, repo.commit); err != nil || dir != want {
		t.Fatalf("Download(commit) = %s, %v", dir, err)
	}
	if reqs := fh.requests(); len(reqs) != 0 {
		t.Fatalf("requests without need: %v", reqs)
	}
	// Online with "main": the Hub is asked for the commit (as Python does),
	// the commit is unchanged and every file is there: nothing is fetched.
	if dir, err := c.Download(ctxT(t), id, "main"); err != nil || dir != want {
		t.Fatalf("Download(main) = %s, %v", dir, err)
	}
	if reqs := fh.requests(); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "API ") {
		t.Errorf("requests = %v, want the listing only", reqs)
	}
}

func TestPythonCacheMissingFileCompleted(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	c := testClient(t, fh)
	// Python fetched everything but merges.txt (deleted since, say).
	var partial []string
	for _, f := range tinyWant {
		if f != "merges.txt" {
			partial = append(partial, f)
		}
	}
	buildPythonCache(t, c.CacheDir, tinyID, repo, partial)
	os.RemoveAll(filepath.Join(c.CacheDir, RepoFolderName(tinyID), ".no_exist"))
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	if got := fh.requests(); !slices.Equal(got, []string{"API " + tinyID + "@main", "HEAD merges.txt", "GET merges.txt"}) {
		t.Errorf("requests = %v, want only merges.txt", got)
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
}

func TestCachedRejectsBrokenSnapshots(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	c := testClient(t, fh)
	buildPythonCache(t, c.CacheDir, tinyID, repo, tinyWant)
	if _, ok := c.Cached(tinyID, ""); !ok {
		t.Fatal("complete cache not found")
	}
	// A dangling link (blob deleted) is a missing file.
	repoDir := filepath.Join(c.CacheDir, RepoFolderName(tinyID))
	must(t, os.Remove(filepath.Join(repoDir, "blobs", repo.etagOf("model.safetensors"))))
	if _, ok := c.Cached(tinyID, ""); ok {
		t.Error("Cached accepts a snapshot whose weights blob is gone")
	}
	// A ref with garbage content resolves nothing.
	must(t, os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte("../../etc"), 0o644))
	if _, ok := c.Cached(tinyID, ""); ok {
		t.Error("Cached follows an invalid ref")
	}
	if _, ok := c.Cached("not a repo", ""); ok {
		t.Error("Cached accepts an invalid id")
	}
}

func TestListCached(t *testing.T) {
	fh := newFakeHub(t)
	files := tinyModel(t)
	repo := fh.addRepo(tinyID, files)
	cache := t.TempDir()
	const old = "1111111111111111111111111111111111111111"
	buildPythonCache(t, cache, tinyID, repo, tinyWant, old)
	must(t, os.WriteFile(filepath.Join(cache, RepoFolderName(tinyID), "refs", "v1"), []byte(old), 0o644))

	bert := fh.addRepo("google-bert/bert-base-uncased", map[string][]byte{
		"config.json": []byte(`{"model_type": "bert"}`), "model.safetensors": []byte("weights")})
	buildPythonCache(t, cache, "google-bert/bert-base-uncased", bert, []string{"config.json"})
	must(t, os.MkdirAll(filepath.Join(cache, "datasets--x--y", "blobs"), 0o777))
	must(t, os.MkdirAll(filepath.Join(cache, ".locks"), 0o777))

	got, err := ListCached(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RepoID != "goclip-test/tiny-synth" || got[1].RepoID != "google-bert/bert-base-uncased" {
		t.Fatalf("ListCached = %+v", got)
	}
	tiny := got[0]
	var blobBytes int64
	for _, f := range tinyWant {
		blobBytes += int64(len(files[f]))
	}
	refBytes := int64(len(repo.commit) + len(old))
	if tiny.Size != blobBytes+refBytes {
		t.Errorf("size = %d, want %d (each blob once, two snapshots)", tiny.Size, blobBytes+refBytes)
	}
	if !tiny.CLIP || len(tiny.Revisions) != 2 {
		t.Fatalf("tiny = %+v", tiny)
	}
	for _, r := range tiny.Revisions {
		var wantRefs []string
		switch r.Commit {
		case repo.commit:
			wantRefs = []string{"main"}
		case old:
			wantRefs = []string{"v1"}
		default:
			t.Errorf("unexpected revision %s", r.Commit)
		}
		if !slices.Equal(r.Refs, wantRefs) || !r.Complete || r.Dir != filepath.Join(tiny.Dir, "snapshots", r.Commit) {
			t.Errorf("revision %+v, want refs %v, complete", r, wantRefs)
		}
	}
	if b := got[1]; b.CLIP || len(b.Revisions) != 1 || b.Revisions[0].Complete {
		t.Errorf("bert = %+v, want not CLIP, one incomplete revision", b)
	}

	if m, err := ListCached(filepath.Join(cache, "missing")); err != nil || m != nil {
		t.Errorf("missing cache: %v, %v", m, err)
	}
}
