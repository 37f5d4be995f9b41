package hub

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake Hub speaks the endpoints goclip uses: the model info API, the
// resolve endpoint (HEAD and GET) with ETag / X-Repo-Commit / X-Linked-*
// headers, redirects of LFS files to a second server (the "CDN") that
// honours byte ranges, and the Hub's error codes.

const (
	goodToken    = "hf_good"    // valid and granted everywhere
	ungrantToken = "hf_ungrant" // valid, not granted on gated repos
)

type fakeRepo struct {
	commit  string
	files   map[string][]byte
	lfs     map[string]bool   // served through the CDN
	revs    map[string]string // extra branch/tag names -> commit
	missing map[string]bool   // listed, but resolve answers 404 EntryNotFound
	gated   bool
	private bool
}

type fakeHub struct {
	t        testing.TB
	hub, cdn *httptest.Server

	mu          sync.Mutex
	repos       map[string]*fakeRepo
	log         []string // "API repo", "HEAD file", "GET file", "CDN file range"
	cdnGets     map[string]int
	cutAfter    int64           // first CDN GET of each blob stops after this many bytes
	cut         map[string]bool // blobs already cut once
	stallAfter  int64           // first CDN GET of each blob stalls after this many bytes
	stalled     map[string]bool
	corrupt     bool // CDN flips a byte
	apiFailures int  // answer 503 to this many API requests first
	cdnFailures int  // answer 503 to this many CDN requests first
	cdnDelay    time.Duration
	stop        chan struct{}     // closed at cleanup: releases stalled handlers
	renames     map[string]string // old repo id -> new: relative 307 redirects
}

func (fh *fakeHub) renamed(id string) (string, bool) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	n, ok := fh.renames[id]
	return n, ok
}

func newFakeHub(t testing.TB) *fakeHub {
	fh := &fakeHub{t: t, repos: map[string]*fakeRepo{}, cdnGets: map[string]int{},
		cut: map[string]bool{}, stalled: map[string]bool{}, stop: make(chan struct{}), renames: map[string]string{}}
	fh.cdn = httptest.NewServer(http.HandlerFunc(fh.serveCDN))
	fh.hub = httptest.NewServer(http.HandlerFunc(fh.serveHub))
	t.Cleanup(func() {
		close(fh.stop)
		fh.hub.Close()
		fh.cdn.Close()
	})
	return fh
}

// tinyModel reads the kit's tiny CLIP model, plus a decoy TensorFlow file
// that must never be requested.
func tinyModel(t testing.TB) map[string][]byte {
	t.Helper()
	dir := filepath.Join("..", "testdata", "kit", "models", "tiny-synth")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	if files["model.safetensors"] == nil || files["config.json"] == nil {
		t.Fatal("tiny-synth fixture incomplete")
	}
	files["tf_model.h5"] = []byte("decoy: goclip must never download TensorFlow weights")
	files["flax_model.msgpack"] = []byte("decoy")
	files["README.md"] = []byte("# tiny\n")
	return files
}

// addRepo registers a repository; files ending in .safetensors, .bin,
// .h5 and .msgpack are LFS files, as on the real Hub.
func (fh *fakeHub) addRepo(id string, files map[string][]byte) *fakeRepo {
	h := sha1.Sum([]byte(id + fmt.Sprint(len(files))))
	r := &fakeRepo{commit: hex.EncodeToString(h[:]), files: files, lfs: map[string]bool{},
		revs: map[string]string{}, missing: map[string]bool{}}
	for name := range files {
		switch filepath.Ext(name) {
		case ".safetensors", ".bin", ".h5", ".msgpack":
			r.lfs[name] = true
		}
	}
	fh.mu.Lock()
	fh.repos[id] = r
	fh.mu.Unlock()
	return r
}

func (fh *fakeHub) record(s string) {
	fh.mu.Lock()
	fh.log = append(fh.log, s)
	fh.mu.Unlock()
}

func (fh *fakeHub) requests() []string {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	return append([]string(nil), fh.log...)
}

func (fh *fakeHub) resetLog() {
	fh.mu.Lock()
	fh.log = nil
	fh.mu.Unlock()
}

// gitSHA1 is the git blob id, the ETag the Hub gives non-LFS files.
func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// etagOf is the blob name the cache must use for a file of a repo.
func (r *fakeRepo) etagOf(name string) string {
	if r.lfs[name] {
		return sha256Hex(r.files[name])
	}
	return gitSHA1(r.files[name])
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	if msg != "" {
		w.Header().Set("X-Error-Message", msg)
	}
	http.Error(w, code+" "+msg, status)
}

// auth returns "" (no token), "bad", "good" or "ungrant".
func auth(r *http.Request) string {
	h := r.Header.Get("Authorization")
	switch h {
	case "":
		return ""
	case "Bearer " + goodToken:
		return "good"
	case "Bearer " + ungrantToken:
		return "ungrant"
	}
	return "bad"
}

func (fh *fakeHub) lookup(w http.ResponseWriter, r *http.Request, id string) *fakeRepo {
	fh.mu.Lock()
	repo := fh.repos[id]
	fh.mu.Unlock()
	a := auth(r)
	if a == "bad" {
		hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil
	}
	if repo == nil || (repo.private && a != "good") {
		if a == "" {
			hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		} else {
			hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		}
		return nil
	}
	return repo
}

func (r *fakeRepo) resolveRev(rev string) (string, bool) {
	switch {
	case rev == "main" || rev == r.commit:
		return r.commit, true
	case r.revs[rev] != "":
		return r.revs[rev], true
	}
	return "", false
}

func (fh *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/models/"); ok {
		fh.serveAPI(w, r, rest)
		return
	}
	// /{org}/{name}/resolve/{rev}/{file}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" {
		fh.t.Errorf("fake hub: unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	id := parts[0] + "/" + parts[1]
	if newID, ok := fh.renamed(id); ok {
		http.Redirect(w, r, "/"+newID+strings.TrimPrefix(r.URL.EscapedPath(), "/"+id), http.StatusTemporaryRedirect)
		return
	}
	rev, err1 := url.PathUnescape(parts[3])
	name, err2 := url.PathUnescape(parts[4])
	if err1 != nil || err2 != nil {
		http.NotFound(w, r)
		return
	}
	fh.record(r.Method + " " + name)
	if strings.HasSuffix(name, ".h5") || strings.HasSuffix(name, ".msgpack") || name == "README.md" {
		fh.t.Errorf("fake hub: %s %s must never be requested", r.Method, name)
	}
	repo := fh.lookup(w, r, id)
	if repo == nil {
		return
	}
	if repo.gated {
		switch auth(r) {
		case "":
			hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+id+" is restricted. You must be authenticated to access it.")
			return
		case "ungrant":
			hubError(w, http.StatusForbidden, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list.")
			return
		}
	}
	commit, ok := repo.resolveRev(rev)
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	data, ok := repo.files[name]
	if !ok || repo.missing[name] {
		hubError(w, http.StatusNotFound, "EntryNotFound", name+" does not exist on \""+rev+"\"")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if repo.lfs[name] {
		sum := sha256Hex(data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		w.Header().Set("ETag", `"`+gitSHA1([]byte("pointer "+sum))+`"`)
		http.Redirect(w, r, fh.cdn.URL+"/blobs/"+sum+"?name="+name, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitSHA1(data)+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

func (fh *fakeHub) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	fh.mu.Lock()
	fail := fh.apiFailures > 0
	if fail {
		fh.apiFailures--
	}
	fh.mu.Unlock()
	id, rev, ok := strings.Cut(rest, "/revision/")
	rev, _ = url.PathUnescape(rev)
	if newID, ok := fh.renamed(id); ok {
		http.Redirect(w, r, "/api/models/"+newID+"/revision/"+url.PathEscape(rev), http.StatusTemporaryRedirect)
		return
	}
	fh.record("API " + id + "@" + rev)
	if fail {
		hubError(w, http.StatusServiceUnavailable, "", "")
		return
	}
	if !ok || r.Method != http.MethodGet {
		fh.t.Errorf("fake hub: unexpected API request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	repo := fh.lookup(w, r, id)
	if repo == nil {
		return
	}
	commit, ok := repo.resolveRev(rev)
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
	}
	var names []string
	for name := range repo.files {
		names = append(names, name)
	}
	sort.Strings(names)
	info := struct {
		ID       string    `json:"id"`
		SHA      string    `json:"sha"`
		Siblings []sibling `json:"siblings"`
	}{ID: id, SHA: commit}
	for _, n := range names {
		info.Siblings = append(info.Siblings, sibling{n})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(info)
}

func (fh *fakeHub) blobBySHA(sum string) ([]byte, string) {
	fh.mu.Lock()
	defer fh.mu.Unlock()
	for _, repo := range fh.repos {
		for name, b := range repo.files {
			if repo.lfs[name] && sha256Hex(b) == sum {
				return b, name
			}
		}
	}
	return nil, ""
}

func (fh *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		fh.t.Errorf("fake CDN: the Hub token leaked to the file host")
	}
	sum := strings.TrimPrefix(r.URL.Path, "/blobs/")
	data, name := fh.blobBySHA(sum)
	fh.record("CDN " + name + " " + r.Header.Get("Range"))
	if data == nil {
		http.NotFound(w, r)
		return
	}
	fh.mu.Lock()
	fh.cdnGets[name]++
	fail := fh.cdnFailures > 0
	if fail {
		fh.cdnFailures--
	}
	cut := fh.cutAfter > 0 && !fh.cut[sum] && int64(len(data)) > fh.cutAfter
	if cut {
		fh.cut[sum] = true
	}
	stall := fh.stallAfter > 0 && !fh.stalled[sum] && int64(len(data)) > fh.stallAfter
	if stall {
		fh.stalled[sum] = true
	}
	corrupt, delay := fh.corrupt, fh.cdnDelay
	fh.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail {
		http.Error(w, "try later", http.StatusBadGateway)
		return
	}
	if corrupt {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 0xff
	}
	switch {
	case cut:
		// Announce everything, send cutAfter bytes, drop the connection.
		hj, ok := w.(http.Hijacker)
		if !ok {
			fh.t.Fatal("fake CDN: no hijacker")
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			fh.t.Error(err)
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", len(data))
		buf.Write(data[:fh.cutAfter])
		buf.Flush()
		conn.Close()
	case stall:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:fh.stallAfter])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-fh.stop:
		}
	default:
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}
}

// count returns how many logged requests start with prefix.
func (fh *fakeHub) count(prefix string) int {
	n := 0
	for _, l := range fh.requests() {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}
