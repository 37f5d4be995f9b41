package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Download makes sure the files goclip needs from repoID at revision
// ("" means "main") are in the cache, downloading what is missing, and
// returns the snapshot folder holding them
// ({CacheDir}/models--org--name/snapshots/{commit}).
//
// Which files: see [SelectFiles]. Offline (c.Offline), or with a commit-hash
// revision already cached, no request is made. Online it asks the Hub for the
// revision's commit and files; when the Hub cannot be reached (network
// failure, server error) but the revision is cached, the cached snapshot is
// returned, as huggingface_hub does. Errors wrap ErrNotFound, ErrAccess,
// ErrNotCached, ErrChecksum or ErrDiskFull when one applies.
func (c *Client) Download(ctx context.Context, repoID, revision string) (string, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	if err := validateRepoID(repoID); err != nil {
		return "", err
	}
	if err := validateRevision(revision); err != nil {
		return "", err
	}
	if c.CacheDir == "" {
		return "", errors.New("hub: no cache folder set")
	}
	if c.Offline {
		if dir, ok := c.Cached(repoID, revision); ok {
			return dir, nil
		}
		return "", fmt.Errorf("hub: %s@%s: %w %s and offline mode is on (HF_HUB_OFFLINE): download it once while online",
			repoID, revision, ErrNotCached, c.CacheDir)
	}
	if IsCommitHash(revision) {
		if dir, ok := c.Cached(repoID, revision); ok {
			return dir, nil
		}
	}
	s, err := c.newSession(repoID, revision)
	if err != nil {
		return "", err
	}
	info, err := s.modelInfo(ctx)
	if err != nil {
		if ctx.Err() == nil && isUnreachable(err) {
			if dir, ok := c.Cached(repoID, revision); ok {
				s.log.Warn("hub: the Hub is unreachable; using the cached snapshot", "repo", repoID, "revision", revision, "err", err)
				return dir, nil
			}
			return "", fmt.Errorf("hub: %s@%s: %w and the Hub is unreachable: %w", repoID, revision, ErrNotCached, inner(err))
		}
		return "", err
	}
	return s.download(ctx, info)
}

// download fetches the selected files of the listed commit.
func (s *session) download(ctx context.Context, info *repoInfo) (string, error) {
	listed := make(map[string]bool, len(info.Siblings))
	names := make([]string, 0, len(info.Siblings))
	for _, sib := range info.Siblings {
		listed[sib.RFilename] = true
		names = append(names, sib.RFilename)
	}
	files, format, err := SelectFiles(names)
	if err != nil {
		return "", fmt.Errorf("hub: %s@%s: %w", s.info.repo, s.info.revision, inner(err))
	}
	commit := info.SHA
	repoDir := filepath.Join(s.c.CacheDir, RepoFolderName(s.info.repo))
	snapshot := filepath.Join(repoDir, "snapshots", commit)
	s.log.Info("hub: resolving", "repo", s.info.repo, "revision", s.info.revision, "commit", commit, "format", format, "files", len(files))
	for i := 0; i < len(files); i++ {
		name := files[i]
		if err := validateRepoFile(name); err != nil {
			return "", err
		}
		if err := s.ensureFile(ctx, repoDir, commit, name); err != nil {
			return "", err
		}
		if !isShardIndex(name) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(snapshot, filepath.FromSlash(name)))
		if err != nil {
			return "", fmt.Errorf("hub: %w", inner(err))
		}
		shards, err := ShardFiles(b)
		if err != nil {
			return "", fmt.Errorf("hub: %s: %s: %w", s.info.repo, name, inner(err))
		}
		for _, sh := range shards {
			if !listed[sh] {
				return "", fmt.Errorf("hub: %s: %s names shard %q, which the repository does not have", s.info.repo, name, sh)
			}
		}
		files = append(files, shards...)
	}
	if s.info.revision != commit {
		if err := writeRef(repoDir, s.info.revision, commit); err != nil {
			return "", err
		}
	}
	return snapshot, nil
}

// ensureFile puts snapshots/{commit}/{name} in place, downloading its blob
// unless the cache already has it (under another snapshot, say).
func (s *session) ensureFile(ctx context.Context, repoDir, commit, name string) error {
	pointer := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(name))
	if _, err := os.Stat(pointer); err == nil {
		s.log.Debug("hub: cached", "file", name)
		return nil
	}
	m, err := s.fileMetadata(ctx, commit, name)
	if err != nil {
		return err
	}
	if m.commit != commit {
		return fmt.Errorf("hub: %s: the Hub answered commit %s for %s, listed at %s", s.info.repo, m.commit, name, commit)
	}
	blob := filepath.Join(repoDir, "blobs", m.etag)
	if !fileExists(blob) {
		lockPath := filepath.Join(s.c.CacheDir, ".locks", RepoFolderName(s.info.repo), m.etag+".lock")
		lock, err := acquireLock(ctx, lockPath, func(d time.Duration) {
			s.log.Info("hub: waiting for another download of the same file", "file", name, "lock", lockPath, "waited", d.Round(time.Second))
		})
		if err != nil {
			return err
		}
		// Another process may have finished it while we waited.
		if !fileExists(blob) {
			err = s.fetchBlob(ctx, name, m, blob)
		}
		if rerr := lock.release(); err == nil && rerr != nil {
			s.log.Warn("hub: releasing lock", "lock", lockPath, "err", rerr)
		}
		if err != nil {
			return err
		}
	}
	return linkPointer(blob, pointer)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// fetchBlob downloads m into blob via blob+".incomplete", resuming what an
// earlier attempt left there, then checks size and (for LFS files) SHA-256
// before renaming it into place. The caller holds the blob's lock.
func (s *session) fetchBlob(ctx context.Context, name string, m *fileMeta, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o777); err != nil {
		return wrapWriteErr(filepath.Dir(blob), err)
	}
	incomplete := blob + ".incomplete"
	s.log.Info("hub: downloading", "file", name, "size", m.size)
	err := s.retry(ctx, "downloading "+name, func() (bool, error) {
		return s.downloadOnce(ctx, name, m, incomplete)
	})
	if err != nil {
		return err
	}
	st, err := os.Stat(incomplete)
	if err != nil {
		return fmt.Errorf("hub: %w", inner(err))
	}
	if m.size >= 0 && st.Size() != m.size {
		os.Remove(incomplete)
		return fmt.Errorf("hub: %s: downloaded %d bytes, the Hub announced %d; the file was discarded", name, st.Size(), m.size)
	}
	if m.lfs && isSHA256(m.etag) {
		got, err := fileSHA256(incomplete)
		if err != nil {
			return err
		}
		if got != m.etag {
			os.Remove(incomplete)
			return fmt.Errorf("hub: %s of %s: %w: expected sha256 %s, got %s; the file was discarded", name, s.info.repo, ErrChecksum, m.etag, got)
		}
	}
	if err := os.Rename(incomplete, blob); err != nil {
		return wrapWriteErr(blob, err)
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hub: %w", inner(err))
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hub: hashing %s: %w", path, inner(err))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// errShortBody: the server closed the body before Content-Length bytes.
var errShortBody = errors.New("transfer cut short")

// downloadOnce makes one GET of m.location into the incomplete file,
// starting with a Range request at its current size. progressed reports
// whether any byte arrived.
func (s *session) downloadOnce(ctx context.Context, name string, m *fileMeta, incomplete string) (progressed bool, err error) {
	f, err := os.OpenFile(incomplete, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return false, wrapWriteErr(incomplete, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = wrapWriteErr(incomplete, cerr)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("hub: %w", inner(err))
	}
	offset := st.Size()
	if m.size >= 0 && offset > m.size {
		offset = 0 // longer than the file: not ours; start over
	}
	if m.size >= 0 && offset == m.size && offset > 0 {
		return false, nil // an earlier run finished the bytes; verify next
	}
	if offset > 0 {
		s.log.Info("hub: resuming", "file", name, "from", offset)
	}

	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := s.newRequest(rctx, http.MethodGet, m.location)
	if err != nil {
		return false, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	// No byte (headers included) for StallTimeout: cancel, then retry.
	watchdog := time.AfterFunc(s.c.stallTimeout(), func() { cancel(errStalled) })
	defer watchdog.Stop()
	resp, err := s.hc.Do(req)
	if err != nil {
		return false, s.transferErr(rctx, name, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			return false, fmt.Errorf("hub: %s: asked bytes from %d, got Content-Range %q", name, offset, resp.Header.Get("Content-Range"))
		}
	case http.StatusOK:
		offset = 0 // the server ignored the range: rewrite from the start
	case http.StatusRequestedRangeNotSatisfiable:
		if err := f.Truncate(0); err != nil {
			return false, wrapWriteErr(incomplete, err)
		}
		return true, fmt.Errorf("hub: %s: stale partial download: %w", name, errShortBody)
	default:
		return false, s.statusError(resp, name)
	}
	if err := f.Truncate(offset); err != nil {
		return false, wrapWriteErr(incomplete, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false, fmt.Errorf("hub: %w", inner(err))
	}
	want := int64(-1)
	if resp.ContentLength >= 0 {
		want = resp.ContentLength
	}
	total := m.size
	if total < 0 && want >= 0 {
		total = offset + want
	}
	p := progressReporter{fn: s.c.Progress, file: name, total: total, done: offset}
	p.report(true)
	buf := make([]byte, 256<<10)
	var got int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(s.c.stallTimeout())
			if _, werr := f.Write(buf[:n]); werr != nil {
				return got > 0, wrapWriteErr(incomplete, werr)
			}
			got += int64(n)
			p.done += int64(n)
			p.report(false)
			if m.size >= 0 && offset+got > m.size {
				return true, fmt.Errorf("hub: %s: the server sent more than the announced %d bytes", name, m.size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return got > 0, s.transferErr(rctx, name, rerr)
		}
	}
	if want >= 0 && got != want {
		return got > 0, fmt.Errorf("hub: %s: got %d of %d bytes: %w", name, got, want, errShortBody)
	}
	p.report(true)
	return got > 0, nil
}

// transferErr names a stalled transfer as such rather than "context
// canceled".
func (s *session) transferErr(rctx context.Context, name string, err error) error {
	if cause := context.Cause(rctx); errors.Is(cause, errStalled) {
		return fmt.Errorf("hub: %s: no data for %s: %w", name, s.c.stallTimeout(), errStalled)
	}
	return fmt.Errorf("hub: downloading %s: %w", name, inner(err))
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	startStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(startStr, 10, 64)
	return n, err == nil
}

// progressReporter throttles Client.Progress calls.
type progressReporter struct {
	fn          func(file string, done, total int64)
	file        string
	done, total int64
	last        time.Time
}

func (p *progressReporter) report(force bool) {
	if p.fn == nil {
		return
	}
	if now := time.Now(); force || now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.fn(p.file, p.done, p.total)
	}
}
