package hub

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const tinyID = "goclip-test/tiny-synth"

// tinyWant is what goclip fetches from the tiny model's repository.
var tinyWant = []string{
	"config.json", "preprocessor_config.json", "vocab.json", "merges.txt",
	"tokenizer_config.json", "special_tokens_map.json", "model.safetensors",
}

func testClient(t *testing.T, fh *fakeHub) *Client {
	t.Helper()
	return &Client{
		Endpoint:  fh.hub.URL,
		CacheDir:  t.TempDir(),
		HTTP:      &http.Client{Transport: &http.Transport{}},
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		retryBase: time.Millisecond,
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkCache verifies, file by file, the layout huggingface_hub expects.
func checkCache(t *testing.T, cache, id string, repo *fakeRepo, want []string, refs map[string]string) {
	t.Helper()
	repoDir := filepath.Join(cache, RepoFolderName(id))
	if got := dirNames(t, repoDir); !slices.Equal(got, []string{"blobs", "refs", "snapshots"}) {
		t.Errorf("%s holds %v, want blobs refs snapshots", repoDir, got)
	}
	var wantBlobs []string
	for _, f := range want {
		wantBlobs = append(wantBlobs, repo.etagOf(f))
	}
	sort.Strings(wantBlobs)
	wantBlobs = slices.Compact(wantBlobs)
	if got := dirNames(t, filepath.Join(repoDir, "blobs")); !slices.Equal(got, wantBlobs) {
		t.Errorf("blobs = %v\nwant %v", got, wantBlobs)
	}
	if got := dirNames(t, filepath.Join(repoDir, "snapshots")); !slices.Equal(got, []string{repo.commit}) {
		t.Errorf("snapshots = %v, want [%s]", got, repo.commit)
	}
	snap := filepath.Join(repoDir, "snapshots", repo.commit)
	sortedWant := slices.Sorted(slices.Values(want))
	if got := dirNames(t, snap); !slices.Equal(got, sortedWant) {
		t.Errorf("snapshot files = %v\nwant %v", got, sortedWant)
	}
	for _, f := range want {
		etag := repo.etagOf(f)
		blob, err := os.ReadFile(filepath.Join(repoDir, "blobs", etag))
		if err != nil || !bytes.Equal(blob, repo.files[f]) {
			t.Errorf("blob %s of %s: wrong content (err %v)", etag, f, err)
		}
		p := filepath.Join(snap, f)
		st, err := os.Lstat(p)
		if err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink (err %v)", f, err)
			continue
		}
		target, _ := os.Readlink(p)
		if target != filepath.Join("..", "..", "blobs", etag) {
			t.Errorf("%s -> %q, want ../../blobs/%s", f, target, etag)
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, repo.files[f]) {
			t.Errorf("%s: reading through the link: err %v", f, err)
		}
	}
	var wantRefs []string
	for name, commit := range refs {
		wantRefs = append(wantRefs, filepath.FromSlash(name))
		b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(name)))
		if err != nil || string(b) != commit {
			t.Errorf("refs/%s = %q (err %v), want %q without newline", name, b, err, commit)
		}
	}
	var gotRefs []string
	refsDir := filepath.Join(repoDir, "refs")
	filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(refsDir, p)
			gotRefs = append(gotRefs, rel)
		}
		return nil
	})
	slices.Sort(gotRefs)
	slices.Sort(wantRefs)
	if !slices.Equal(gotRefs, wantRefs) {
		t.Errorf("refs = %v, want %v", gotRefs, wantRefs)
	}
}

// checkLocks verifies that downloads locked where huggingface_hub does.
func checkLocks(t *testing.T, cache, id string, repo *fakeRepo, files []string) {
	t.Helper()
	for _, f := range files {
		lock := filepath.Join(cache, ".locks", RepoFolderName(id), repo.etagOf(f)+".lock")
		if _, err := os.Stat(lock); err != nil {
			t.Errorf("lock file: %v", err)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("reading %s: %v", dir, err)
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestDownloadWritesHubCache(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	c := testClient(t, fh)
	var mu sync.Mutex
	progress := map[string][2]int64{}
	c.Progress = func(file string, done, total int64) {
		mu.Lock()
		progress[file] = [2]int64{done, total}
		mu.Unlock()
	}
	dir, err := c.Download(ctxT(t), tinyID, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(c.CacheDir, "models--goclip-test--tiny-synth", "snapshots", repo.commit); dir != want {
		t.Errorf("snapshot dir = %s, want %s", dir, want)
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
	checkLocks(t, c.CacheDir, tinyID, repo, tinyWant)
	for _, f := range tinyWant {
		if p := progress[f]; p[0] != int64(len(repo.files[f])) || p[1] != p[0] {
			t.Errorf("last progress of %s = %v, want %d of %d", f, p, len(repo.files[f]), len(repo.files[f]))
		}
	}
	if n := fh.count("CDN model.safetensors"); n != 1 {
		t.Errorf("model.safetensors fetched %d times from the CDN", n)
	}
	if n := fh.count("GET model.safetensors"); n != 0 {
		t.Errorf("LFS file downloaded through the Hub %d times; want only the CDN", n)
	}

	// Second run: one listing request, nothing else.
	fh.resetLog()
	dir2, err := c.Download(ctxT(t), tinyID, "main")
	if err != nil || dir2 != dir {
		t.Fatalf("second Download = %s, %v", dir2, err)
	}
	if got := fh.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "API ") {
		t.Errorf("second Download made requests %v, want the listing only", got)
	}
	// A commit-hash revision already cached: no request at all.
	fh.resetLog()
	if dir3, err := c.Download(ctxT(t), tinyID, repo.commit); err != nil || dir3 != dir {
		t.Fatalf("Download by commit = %s, %v", dir3, err)
	}
	if got := fh.requests(); len(got) != 0 {
		t.Errorf("Download by cached commit made requests %v", got)
	}
}

func TestDownloadOffline(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	c := testClient(t, fh)
	dir, err := c.Download(ctxT(t), tinyID, "main")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("HF_HUB_OFFLINE", func(t *testing.T) {
		fh.resetLog()
		t.Setenv("HF_HUB_CACHE", c.CacheDir)
		t.Setenv("HF_HUB_OFFLINE", "1")
		t.Setenv("HF_ENDPOINT", fh.hub.URL)
		t.Setenv("HF_TOKEN", "")
		env, err := NewClientFromEnv()
		if err != nil {
			t.Fatal(err)
		}
		if !env.Offline {
			t.Fatal("HF_HUB_OFFLINE=1 not honoured")
		}
		got, err := env.Download(ctxT(t), tinyID, "")
		if err != nil || got != dir {
			t.Fatalf("offline Download = %s, %v", got, err)
		}
		if got, err := env.Download(ctxT(t), tinyID, repo.commit); err != nil || got != dir {
			t.Fatalf("offline Download by commit = %s, %v", got, err)
		}
		if reqs := fh.requests(); len(reqs) != 0 {
			t.Errorf("offline mode made requests: %v", reqs)
		}
		_, err = env.Download(ctxT(t), "goclip-test/never-downloaded", "")
		if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
			t.Errorf("offline, not cached: err = %v, want ErrNotCached mentioning HF_HUB_OFFLINE", err)
		}
		_, err = env.Download(ctxT(t), tinyID, "v2")
		if !errors.Is(err, ErrNotCached) {
			t.Errorf("offline, unknown revision: err = %v", err)
		}
	})

	t.Run("server closed", func(t *testing.T) {
		fh.hub.Close()
		fh.cdn.Close()
		got, err := c.Download(ctxT(t), tinyID, "main")
		if err != nil || got != dir {
			t.Fatalf("Download with the Hub down = %s, %v; want the cached snapshot", got, err)
		}
		_, err = c.Download(ctxT(t), "goclip-test/never-downloaded", "main")
		if !errors.Is(err, ErrNotCached) {
			t.Errorf("Hub down, not cached: err = %v, want ErrNotCached", err)
		}
	})
}

func TestResumeAfterConnectionCut(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	const cut = 1 << 20
	fh.cutAfter = cut
	c := testClient(t, fh)
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
	var cdn []string
	for _, r := range fh.requests() {
		if strings.HasPrefix(r, "CDN model.safetensors") {
			cdn = append(cdn, r)
		}
	}
	want := []string{"CDN model.safetensors ", "CDN model.safetensors bytes=1048576-"}
	if !slices.Equal(cdn, want) {
		t.Errorf("CDN requests = %q, want %q", cdn, want)
	}
}

func TestResumeFromIncompleteFile(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	c := testClient(t, fh)
	// An earlier run was killed after 3000 bytes.
	blobs := filepath.Join(c.CacheDir, RepoFolderName(tinyID), "blobs")
	if err := os.MkdirAll(blobs, 0o777); err != nil {
		t.Fatal(err)
	}
	data := repo.files["model.safetensors"]
	partial := filepath.Join(blobs, repo.etagOf("model.safetensors")+".incomplete")
	if err := os.WriteFile(partial, data[:3000], 0o666); err != nil {
		t.Fatal(err)
	}
	// And one of a small file, served by the Hub without range support:
	// the 200 answer to the Range request restarts it from scratch.
	merges := filepath.Join(blobs, repo.etagOf("merges.txt")+".incomplete")
	if err := os.WriteFile(merges, []byte("stale bytes"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	if n := fh.count("CDN model.safetensors bytes=3000-"); n != 1 {
		t.Errorf("no Range request from byte 3000: %v", fh.requests())
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
}

func TestStalledTransferRetried(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	fh.stallAfter = 5000
	c := testClient(t, fh)
	c.StallTimeout = 200 * time.Millisecond
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	if n := fh.count("CDN model.safetensors bytes=5000-"); n != 1 {
		t.Errorf("stalled transfer not resumed at 5000: %v", fh.requests())
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
}

func TestCorruptDownloadRefused(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	fh.mu.Lock() // the handlers read it under the lock
	fh.corrupt = true
	fh.mu.Unlock()
	c := testClient(t, fh)
	_, err := c.Download(ctxT(t), tinyID, "")
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "discarded") {
		t.Errorf("unclear message: %v", err)
	}
	repoDir := filepath.Join(c.CacheDir, RepoFolderName(tinyID))
	etag := repo.etagOf("model.safetensors")
	for _, p := range []string{
		filepath.Join(repoDir, "blobs", etag),
		filepath.Join(repoDir, "blobs", etag+".incomplete"),
		filepath.Join(repoDir, "snapshots", repo.commit, "model.safetensors"),
		filepath.Join(repoDir, "refs", "main"),
	} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists after a checksum mismatch", p)
		}
	}
	if _, ok := c.Cached(tinyID, ""); ok {
		t.Error("Cached reports the model after a failed download")
	}
	// The next attempt, with good bytes, fills the cache.
	fh.mu.Lock()
	fh.corrupt = false
	fh.mu.Unlock()
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
}

func TestTransientErrorsRetried(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	fh.apiFailures = 2
	fh.cdnFailures = 2
	c := testClient(t, fh)
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
	if n := fh.count("API "); n != 3 {
		t.Errorf("%d listing requests, want 3 (two 503s, then success)", n)
	}

	// Without retries, a persistent 503 and an empty cache: clear error.
	fh.apiFailures = 1
	c2 := testClient(t, fh)
	c2.MaxRetries = -1
	_, err := c2.Download(ctxT(t), tinyID, "")
	var he *HTTPError
	if !errors.Is(err, ErrNotCached) || !errors.As(err, &he) || he.StatusCode != 503 {
		t.Errorf("err = %v, want ErrNotCached joined with the HTTP 503", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	fh := newFakeHub(t)
	files := tinyModel(t)
	fh.addRepo("goclip-test/private", files).private = true
	fh.addRepo("goclip-test/gated", files).gated = true
	fh.addRepo("goclip-test/broken", files).missing["model.safetensors"] = true
	fh.addRepo("goclip-test/no-weights", map[string][]byte{"config.json": files["config.json"], "tf_model.h5": files["tf_model.h5"]})
	fh.addRepo(tinyID, files)

	cases := []struct {
		name, repo, rev, token string
		is                     error
		status                 int
		code                   string
		msg                    []string
	}{
		{"unknown repo, no token", "goclip-test/nope", "", "", ErrNotFound, 401, "RepoNotFound",
			[]string{`"goclip-test/nope" not found`, "HF_TOKEN"}},
		{"unknown repo, token", "goclip-test/nope", "", goodToken, ErrNotFound, 404, "RepoNotFound",
			[]string{`"goclip-test/nope" not found`, "token has access"}},
		{"private, no token", "goclip-test/private", "", "", ErrNotFound, 401, "RepoNotFound",
			[]string{"private or gated", "HF_TOKEN"}},
		{"invalid token", tinyID, "", "hf_wrong", ErrAccess, 401, "",
			[]string{"rejected the token"}},
		{"gated, no token", "goclip-test/gated", "", "", ErrAccess, 401, "GatedRepo",
			[]string{"gated", "request access", "HF_TOKEN"}},
		{"gated, not granted", "goclip-test/gated", "", ungrantToken, ErrAccess, 403, "GatedRepo",
			[]string{"gated", "no access"}},
		{"unknown revision", tinyID, "v9", "", ErrNotFound, 404, "RevisionNotFound",
			[]string{`revision "v9" not found`}},
		{"file missing", "goclip-test/broken", "", "", ErrNotFound, 404, "EntryNotFound",
			[]string{`file "model.safetensors" not found`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient(t, fh)
			c.Token = tc.token
			_, err := c.Download(ctxT(t), tc.repo, tc.rev)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if errors.Is(err, ErrNotCached) {
				t.Errorf("a Hub refusal must not be reported as a network failure: %v", err)
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != tc.status || he.Code != tc.code {
				t.Errorf("err = %#v, want HTTP %d %s", err, tc.status, tc.code)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
			if n := strings.Count(err.Error(), "hub: "); n != 1 {
				t.Errorf("message %q says \"hub: \" %d times", err, n)
			}
		})
	}
	t.Run("granted", func(t *testing.T) {
		for _, id := range []string{"goclip-test/private", "goclip-test/gated"} {
			c := testClient(t, fh)
			c.Token = goodToken
			if _, err := c.Download(ctxT(t), id, ""); err != nil {
				t.Errorf("%s with a token: %v", id, err)
			}
		}
	})
	t.Run("no weights", func(t *testing.T) {
		c := testClient(t, fh)
		_, err := c.Download(ctxT(t), "goclip-test/no-weights", "")
		if err == nil || !strings.Contains(err.Error(), "no usable weights") || strings.Count(err.Error(), "hub: ") != 1 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		c := testClient(t, fh)
		c.Endpoint = "http://127.0.0.1:1"
		_, err := c.Download(ctxT(t), tinyID, "")
		if !errors.Is(err, ErrNotCached) || strings.Count(err.Error(), "hub: ") != 1 {
			t.Errorf("err = %v: want ErrNotCached, with \"hub: \" once", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		c := testClient(t, fh)
		for _, ref := range [][2]string{{"../etc", ""}, {"a/b/c", ""}, {"org--x/y", ""}, {tinyID, "../../x"}, {tinyID, "a//b"}} {
			if _, err := c.Download(ctxT(t), ref[0], ref[1]); err == nil {
				t.Errorf("Download(%q, %q) accepted", ref[0], ref[1])
			}
		}
		if n := len(fh.requests()); n > 0 {
			t.Logf("requests: %v", fh.requests())
		}
	})
}

func TestConcurrentDownloads(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	// Slow downloads overlap; the handlers read the delay under the lock.
	fh.mu.Lock()
	fh.cdnDelay = 50 * time.Millisecond
	fh.mu.Unlock()
	c := testClient(t, fh)
	const n = 4
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dirs[i], errs[i] = c.Download(ctxT(t), tinyID, "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Errorf("download %d: %s, %v", i, dirs[i], errs[i])
		}
	}
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"main": repo.commit})
	if got := fh.count("CDN model.safetensors"); got != 1 {
		t.Errorf("model.safetensors fetched %d times; the lock should make it once", got)
	}
}

func TestShardedAndBinRepos(t *testing.T) {
	fh := newFakeHub(t)
	files := tinyModel(t)
	weights := files["model.safetensors"]
	sharded := map[string][]byte{}
	for k, v := range files {
		if k != "model.safetensors" {
			sharded[k] = v
		}
	}
	half := len(weights) / 2
	sharded["model-00001-of-00002.safetensors"] = weights[:half]
	sharded["model-00002-of-00002.safetensors"] = weights[half:]
	sharded["model.safetensors.index.json"] = []byte(`{"metadata":{},"weight_map":{` +
		`"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}`)
	sharded["pytorch_model.bin"] = []byte("must not be fetched when safetensors exist")
	shardRepo := fh.addRepo("goclip-test/sharded", sharded)

	binOnly := map[string][]byte{}
	for k, v := range files {
		if k != "model.safetensors" {
			binOnly[k] = v
		}
	}
	binOnly["pytorch_model.bin"] = []byte("pickle bytes")
	binRepo := fh.addRepo("goclip-test/bin-only", binOnly)

	c := testClient(t, fh)
	dir, err := c.Download(ctxT(t), "goclip-test/sharded", "")
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(tinyWant[:len(tinyWant)-1]),
		"model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
	checkCache(t, c.CacheDir, "goclip-test/sharded", shardRepo, want, map[string]string{"main": shardRepo.commit})
	if got, ok := c.Cached("goclip-test/sharded", ""); !ok || got != dir {
		t.Errorf("Cached(sharded) = %s, %v", got, ok)
	}
	// Losing a shard makes the snapshot incomplete.
	os.Remove(filepath.Join(c.CacheDir, RepoFolderName("goclip-test/sharded"), "blobs", shardRepo.etagOf("model-00002-of-00002.safetensors")))
	if _, ok := c.Cached("goclip-test/sharded", ""); ok {
		t.Error("Cached accepts a snapshot with a missing shard")
	}

	if _, err := c.Download(ctxT(t), "goclip-test/bin-only", ""); err != nil {
		t.Fatal(err)
	}
	want = append(slices.Clone(tinyWant[:len(tinyWant)-1]), "pytorch_model.bin")
	checkCache(t, c.CacheDir, "goclip-test/bin-only", binRepo, want, map[string]string{"main": binRepo.commit})
}

func TestRevisionRefs(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	repo.revs["v1.0"] = repo.commit
	repo.revs["refs/pr/1"] = repo.commit
	c := testClient(t, fh)
	for _, rev := range []string{"v1.0", "refs/pr/1"} {
		if _, err := c.Download(ctxT(t), tinyID, rev); err != nil {
			t.Fatalf("%s: %v", rev, err)
		}
	}
	if _, err := c.Download(ctxT(t), tinyID, repo.commit); err != nil {
		t.Fatal(err)
	}
	// A commit-hash revision writes no ref; the others do.
	checkCache(t, c.CacheDir, tinyID, repo, tinyWant, map[string]string{"v1.0": repo.commit, "refs/pr/1": repo.commit})
	if _, err := os.Stat(filepath.Join(c.CacheDir, RepoFolderName(tinyID), "refs", repo.commit)); err == nil {
		t.Error("a ref named after the commit was written")
	}
	if n := fh.count("API " + tinyID + "@refs/pr/1"); n != 1 {
		t.Errorf("refs/pr/1 not sent escaped to the API: %v", fh.requests())
	}
	if _, ok := c.Cached(tinyID, "refs/pr/1"); !ok {
		t.Error("Cached(refs/pr/1) = false")
	}
}

func TestRenamedRepoFollowed(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	fh.renames["goclip-test/old-name"] = tinyID
	c := testClient(t, fh)
	dir, err := c.Download(ctxT(t), "goclip-test/old-name", "")
	if err != nil {
		t.Fatal(err)
	}
	// Stored under the name asked for, as huggingface_hub does.
	if want := filepath.Join(c.CacheDir, "models--goclip-test--old-name", "snapshots", repo.commit); dir != want {
		t.Errorf("dir = %s, want %s", dir, want)
	}
	checkCache(t, c.CacheDir, "goclip-test/old-name", repo, tinyWant, map[string]string{"main": repo.commit})
}

func TestNewCommitReusesBlobs(t *testing.T) {
	fh := newFakeHub(t)
	repo := fh.addRepo(tinyID, tinyModel(t))
	c := testClient(t, fh)
	if _, err := c.Download(ctxT(t), tinyID, ""); err != nil {
		t.Fatal(err)
	}
	oldCommit := repo.commit
	// A new commit on main changes config.json only.
	fh.mu.Lock()
	repo.commit = "2222222222222222222222222222222222222222"
	repo.files["config.json"] = append(bytes.Clone(repo.files["config.json"]), '\n')
	fh.mu.Unlock()
	fh.resetLog()
	dir, err := c.Download(ctxT(t), tinyID, "")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != repo.commit {
		t.Errorf("dir = %s, want the new commit", dir)
	}
	for _, r := range fh.requests() {
		if strings.HasPrefix(r, "GET ") && r != "GET config.json" || strings.HasPrefix(r, "CDN ") {
			t.Errorf("unchanged file downloaded again: %s", r)
		}
	}
	repoDir := filepath.Join(c.CacheDir, RepoFolderName(tinyID))
	if b, _ := os.ReadFile(filepath.Join(repoDir, "refs", "main")); string(b) != repo.commit {
		t.Errorf("refs/main = %q, want the new commit", b)
	}
	if got := dirNames(t, filepath.Join(repoDir, "snapshots")); !slices.Equal(got, slices.Sorted(slices.Values([]string{oldCommit, repo.commit}))) {
		t.Errorf("snapshots = %v", got)
	}
	if got := len(dirNames(t, filepath.Join(repoDir, "blobs"))); got != len(tinyWant)+1 {
		t.Errorf("%d blobs, want %d (one new config)", got, len(tinyWant)+1)
	}
}
