package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: the Hub has no such repository, revision or file (404),
	// or, without a token, the repository may also be private (the Hub
	// answers 401 RepoNotFound for both).
	ErrNotFound = errors.New("not found on the Hub")
	// ErrAccess: the repository is gated or private and the token is
	// missing, invalid or without access (401/403).
	ErrAccess = errors.New("access denied by the Hub")
	// ErrNotCached: offline (HF_HUB_OFFLINE or no network) and the model is
	// not in the cache.
	ErrNotCached = errors.New("model not in the local cache")
	// ErrChecksum: a downloaded file did not match its SHA-256; the file
	// was discarded.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrDiskFull: the disk holding the cache ran out of space.
	ErrDiskFull = errors.New("no space left on device")
)

// HTTPError is an error answer of the Hub or of its file host.
type HTTPError struct {
	StatusCode int
	Code       string // X-Error-Code header, e.g. RepoNotFound, GatedRepo
	Message    string // X-Error-Message header
	URL        string
	text       string        // human explanation
	kind       error         // ErrNotFound, ErrAccess or nil
	retryAfter time.Duration // Retry-After, if the server sent one
}

func (e *HTTPError) Error() string {
	s := "hub: " + e.text + " (HTTP " + fmt.Sprint(e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s + ")"
}

// Unwrap returns ErrNotFound or ErrAccess when the status means one.
func (e *HTTPError) Unwrap() error { return e.kind }

// Temporary reports whether retrying may help (429 and 5xx).
func (e *HTTPError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// reqInfo says what a request was about, to explain its failure.
type reqInfo struct {
	endpoint, repo, revision, file string
	hasToken                       bool
}

// statusError turns a non-2xx/3xx response into an *HTTPError whose text
// tells the user what to do, following huggingface_hub's reading of the
// X-Error-Code header.
func statusError(resp *http.Response, info reqInfo) *HTTPError {
	e := &HTTPError{
		StatusCode: resp.StatusCode,
		Code:       resp.Header.Get("X-Error-Code"),
		Message:    resp.Header.Get("X-Error-Message"),
		URL:        resp.Request.URL.String(),
	}
	repo := fmt.Sprintf("%q", info.repo)
	tokenHint := "if it is private or gated, set HF_TOKEN (or run `huggingface-cli login`)"
	if info.hasToken {
		tokenHint = "if it is private or gated, check that your token has access to it"
	}
	switch {
	case e.Code == "RevisionNotFound":
		e.kind = ErrNotFound
		e.text = fmt.Sprintf("revision %q not found in repository %s", info.revision, repo)
	case e.Code == "EntryNotFound":
		e.kind = ErrNotFound
		e.text = fmt.Sprintf("file %q not found in repository %s at revision %q", info.file, repo, info.revision)
	case e.Code == "GatedRepo":
		e.kind = ErrAccess
		if info.hasToken {
			e.text = fmt.Sprintf("repository %s is gated and your token has no access: request it at %s/%s", repo, info.endpoint, info.repo)
		} else {
			e.text = fmt.Sprintf("repository %s is gated: request access at %s/%s, then set HF_TOKEN (or run `huggingface-cli login`)", repo, info.endpoint, info.repo)
		}
	case e.Message == "Invalid credentials in Authorization header" ||
		(resp.StatusCode == http.StatusUnauthorized && info.hasToken && e.Code == ""):
		e.kind = ErrAccess
		e.text = "the Hub rejected the token: check HF_TOKEN or the token file"
	case e.Code == "RepoNotFound" || resp.StatusCode == http.StatusUnauthorized:
		// The Hub answers 401 RepoNotFound both for a missing repository
		// and for a private or gated one asked without a token.
		e.kind = ErrNotFound
		if e.Code == "" {
			e.kind = ErrAccess
		}
		e.text = fmt.Sprintf("repository %s not found at %s; %s", repo, info.endpoint, tokenHint)
	case resp.StatusCode == http.StatusForbidden:
		e.kind = ErrAccess
		e.text = fmt.Sprintf("access to repository %s denied; %s", repo, tokenHint)
	case resp.StatusCode == http.StatusNotFound:
		e.kind = ErrNotFound
		if info.file != "" {
			e.text = fmt.Sprintf("file %q of repository %s at revision %q not found", info.file, repo, info.revision)
		} else {
			e.text = fmt.Sprintf("repository %s or its revision %q not found at %s", repo, info.revision, info.endpoint)
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		e.text = "rate limited by the Hub"
	case resp.StatusCode >= 500:
		e.text = "Hub server error for " + e.URL
	default:
		e.text = "unexpected answer for " + e.URL
	}
	return e
}

// wrapWriteErr makes a failed write to the cache say which file and, when
// the disk is full, say so plainly (errors.Is works for both ErrDiskFull
// and the underlying syscall error).
// inner marks an error wrapped into another of this package's: its message
// loses the "hub: " prefix, which the outer error already has, and the
// error chain stays whole (errors.Is and As see through it).
func inner(err error) error { return innerErr{err} }

type innerErr struct{ error }

func (e innerErr) Error() string { return strings.TrimPrefix(e.error.Error(), "hub: ") }
func (e innerErr) Unwrap() error { return e.error }

func wrapWriteErr(path string, err error) error {
	if err == nil {
		return nil
	}
	what := "writing " + path + ": "
	if strings.Contains(err.Error(), path) {
		what = "" // the error names the file already
	}
	if errors.Is(err, syscall.ENOSPC) || isDiskFullOS(err) {
		return fmt.Errorf("hub: %s%w (free some space or set HF_HUB_CACHE to another disk): %w", what, ErrDiskFull, inner(err))
	}
	return fmt.Errorf("hub: %s%w", what, inner(err))
}
