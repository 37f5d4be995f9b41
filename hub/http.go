package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const userAgent = "goclip-hub/1 (+https://github.com/goclip/goclip)"

// errStalled reports a transfer that received nothing for StallTimeout.
var errStalled = errors.New("download stalled")

// session is the state of one Download: the client, the repository and
// the HTTP client without redirects for HEAD requests.
type session struct {
	c        *Client
	hc       *http.Client // follows redirects (downloads, API)
	headHC   *http.Client // follows same-host redirects only (renamed repos)
	log      *slog.Logger
	info     reqInfo
	endpoint *url.URL
}

func (c *Client) newSession(repoID, revision string) (*session, error) {
	ep, err := url.Parse(c.endpoint())
	if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" {
		return nil, fmt.Errorf("hub: invalid endpoint %q (HF_ENDPOINT): want an http(s) URL", c.endpoint())
	}
	hc := c.httpClient()
	head := *hc
	head.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		// Like huggingface_hub, follow relative redirects only (a renamed
		// repository); an absolute Location is the file host, whose URL
		// is kept for the GET.
		if loc, err := url.Parse(req.Response.Header.Get("Location")); err != nil || loc.Host != "" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &session{
		c: c, hc: hc, headHC: &head, log: c.logger(), endpoint: ep,
		info: reqInfo{endpoint: c.endpoint(), repo: repoID, revision: revision, hasToken: c.Token != ""},
	}, nil
}

// newRequest builds a request carrying the token when it goes to the Hub
// itself (not to the host a file is redirected to).
func (s *session) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %s %s: %w", method, u, inner(err))
	}
	req.Header.Set("User-Agent", userAgent)
	// Sizes and byte ranges refer to the stored bytes, never to a
	// compressed transfer.
	req.Header.Set("Accept-Encoding", "identity")
	if s.c.Token != "" && req.URL.Host == s.endpoint.Host {
		req.Header.Set("Authorization", "Bearer "+s.c.Token)
	}
	return req, nil
}

// retry calls fn until it succeeds, fails for good, or MaxRetries
// transient failures have happened, sleeping with exponential back-off.
// fn returns progressed=true when the attempt moved forward (bytes
// received), which resets the count: a long download on a flaky line is
// not abandoned as long as it advances.
func (s *session) retry(ctx context.Context, what string, fn func() (progressed bool, err error)) error {
	failures := 0
	for {
		progressed, err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("hub: %s: %w", what, context.Cause(ctx))
		}
		if progressed {
			failures = 0
		}
		if !isTransient(err) || failures >= s.c.maxRetries() {
			return err
		}
		d := s.backoff(failures, err)
		failures++
		s.log.Warn("hub: retrying after a transient error", "what", what, "attempt", failures, "wait", d, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("hub: %s: %w", what, context.Cause(ctx))
		case <-time.After(d):
		}
	}
}

// backoff is base·2^n capped at 8s, or the server's Retry-After when it
// asked for longer (capped at 30s).
func (s *session) backoff(n int, err error) time.Duration {
	base := s.c.retryBase
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	d := base << min(n, 10)
	d = min(d, 8*time.Second)
	var he *HTTPError
	if errors.As(err, &he) && he.retryAfter > d {
		d = min(he.retryAfter, 30*time.Second)
	}
	return d
}

// isTransient reports failures worth retrying: HTTP 429 and 5xx, a
// connection reset or cut short, a stalled transfer and timeouts. A refused
// connection or an unknown host is not (the machine is offline: the cache
// is the answer, not waiting).
func isTransient(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	if errors.Is(err, errStalled) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, errShortBody) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// A server closing a kept-alive connection early reports a plain EOF.
	var ue *url.Error
	return errors.As(err, &ue) && errors.Is(ue.Err, io.EOF)
}

// isUnreachable reports errors that mean "the Hub could not be asked"
// rather than "the Hub said no": network failures and server errors. Those
// let Download fall back to the cache, as huggingface_hub does.
func isUnreachable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || isTransient(err)
}

// repoInfo is the part of the model info API answer goclip uses.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// modelInfo asks GET {endpoint}/api/models/{repo}/revision/{revision} for
// the commit a revision names and the files it holds.
func (s *session) modelInfo(ctx context.Context) (*repoInfo, error) {
	u := s.c.endpoint() + "/api/models/" + s.info.repo + "/revision/" + url.PathEscape(s.info.revision)
	var info repoInfo
	err := s.retry(ctx, "listing "+s.info.repo, func() (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, s.c.requestTimeout())
		defer cancel()
		req, err := s.newRequest(rctx, http.MethodGet, u)
		if err != nil {
			return false, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := s.hc.Do(req)
		if err != nil {
			return false, fmt.Errorf("hub: listing %s: %w", s.info.repo, inner(err))
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, s.statusError(resp, "")
		}
		info = repoInfo{}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
			return false, fmt.Errorf("hub: listing %s: decoding %s: %w", s.info.repo, u, inner(err))
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if !IsCommitHash(info.SHA) {
		return nil, fmt.Errorf("hub: listing %s: the answer of %s has no valid commit sha (%q)", s.info.repo, u, info.SHA)
	}
	return &info, nil
}

// fileMeta is what a HEAD on a file's resolve URL tells.
type fileMeta struct {
	commit   string // X-Repo-Commit
	etag     string // normalized X-Linked-Etag or ETag: the blob's name
	size     int64  // X-Linked-Size or Content-Length; -1 if unknown
	location string // where to GET the bytes (the file host for LFS files)
	lfs      bool   // X-Linked-Etag was set: etag is the SHA-256
}

// etagPattern keeps blob names to safe file names.
var etagPattern = regexp.MustCompile(`^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$`)

// resolveURL is {endpoint}/{repo}/resolve/{revision}/{file}.
func (s *session) resolveURL(revision, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return s.c.endpoint() + "/" + s.info.repo + "/resolve/" + url.PathEscape(revision) + "/" + strings.Join(parts, "/")
}

// fileMetadata sends HEAD to the resolve URL without following the
// redirect to the file host, as huggingface_hub's get_hf_file_metadata.
func (s *session) fileMetadata(ctx context.Context, revision, name string) (*fileMeta, error) {
	u := s.resolveURL(revision, name)
	var m *fileMeta
	err := s.retry(ctx, "HEAD "+name, func() (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, s.c.requestTimeout())
		defer cancel()
		req, err := s.newRequest(rctx, http.MethodHead, u)
		if err != nil {
			return false, err
		}
		resp, err := s.headHC.Do(req)
		if err != nil {
			return false, fmt.Errorf("hub: HEAD %s: %w", u, inner(err))
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return false, s.statusError(resp, name)
		}
		m, err = parseFileMeta(resp)
		if err != nil {
			return false, fmt.Errorf("hub: HEAD %s: %w", u, inner(err))
		}
		return false, nil
	})
	return m, err
}

func parseFileMeta(resp *http.Response) (*fileMeta, error) {
	h := resp.Header
	m := &fileMeta{commit: h.Get("X-Repo-Commit"), size: -1, location: resp.Request.URL.String()}
	etag := h.Get("X-Linked-Etag")
	m.lfs = etag != ""
	if etag == "" {
		etag = h.Get("ETag")
	}
	m.etag = normalizeETag(etag)
	if m.commit == "" || !IsCommitHash(m.commit) {
		return nil, fmt.Errorf("no valid X-Repo-Commit header (%q): is HF_ENDPOINT a Hugging Face Hub?", m.commit)
	}
	if m.etag == "" || len(m.etag) > 128 || !etagPattern.MatchString(m.etag) {
		return nil, fmt.Errorf("no usable ETag (%q): cannot name the file in the cache", etag)
	}
	size := h.Get("X-Linked-Size")
	if size == "" {
		size = h.Get("Content-Length")
	}
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad file size %q", size)
		}
		m.size = n
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("redirect without a usable Location: %w", err)
		}
		m.location = loc.String()
	}
	return m, nil
}

// normalizeETag removes the weak marker and quotes: W/"abc" -> abc.
func normalizeETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}

// statusError builds an *HTTPError for a failed response of this session.
func (s *session) statusError(resp *http.Response, file string) *HTTPError {
	info := s.info
	info.file = file
	e := statusError(resp, info)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs > 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}
