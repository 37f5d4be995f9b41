package hub

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the Hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the revision fetched when none is given.
const DefaultRevision = "main"

// Client downloads model repositories into a huggingface_hub cache.
//
// The zero value is usable once CacheDir is set: missing fields take the
// defaults documented on each of them. A Client is safe for concurrent use
// as long as its fields are not changed meanwhile.
type Client struct {
	// Endpoint is the Hub base URL; empty means DefaultEndpoint.
	Endpoint string
	// Token, if set, is sent as "Authorization: Bearer" to the Endpoint
	// (never to the file host a download is redirected to).
	Token string
	// CacheDir is the hub cache folder (the one holding models--*).
	CacheDir string
	// Offline makes Download use the cache only, never the network.
	Offline bool
	// HTTP is the client used for all requests; nil means one whose
	// transport takes proxies from the environment.
	HTTP *http.Client
	// Progress, if set, is called while a file downloads with the bytes
	// done so far and the file's total size (-1 if unknown), at most ten
	// times a second plus once at the start and once at the end of each
	// file. Concurrent Downloads call it from their own goroutines.
	Progress func(file string, done, total int64)
	// Logger receives progress and fallback notes; nil discards them.
	Logger *slog.Logger

	// RequestTimeout bounds each metadata request (file listing, HEAD);
	// zero means 10s, like huggingface_hub's HF_HUB_ETAG_TIMEOUT.
	RequestTimeout time.Duration
	// StallTimeout aborts (and then retries) a download that received no
	// byte for this long; zero means 10s, like HF_HUB_DOWNLOAD_TIMEOUT.
	StallTimeout time.Duration
	// MaxRetries is how many times a transient failure (HTTP 429 and 5xx,
	// connection reset, timeout, cut transfer) is retried; zero means 5,
	// negative means none.
	MaxRetries int

	// retryBase is the first back-off delay (doubled each retry, capped at
	// 8s); zero means 500ms. Tests shorten it.
	retryBase time.Duration
}

// NewClientFromEnv returns a Client configured the way huggingface_hub
// configures itself: cache folder from [DefaultCacheDir], endpoint from
// HF_ENDPOINT, token from HF_TOKEN or the token file written by
// "huggingface-cli login", offline mode from HF_HUB_OFFLINE (or
// TRANSFORMERS_OFFLINE), and timeouts from HF_HUB_ETAG_TIMEOUT and
// HF_HUB_DOWNLOAD_TIMEOUT.
func NewClientFromEnv() (*Client, error) {
	return newClientFromEnv(os.Getenv)
}

func newClientFromEnv(getenv func(string) string) (*Client, error) {
	cache, err := cacheDirFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	c := &Client{
		Endpoint: strings.TrimRight(getenv("HF_ENDPOINT"), "/"),
		CacheDir: cache,
		Offline:  envTrue(getenv("HF_HUB_OFFLINE")) || envTrue(getenv("TRANSFORMERS_OFFLINE")),
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	c.HTTP = c.httpClient()
	if c.Token, err = tokenFromEnv(getenv); err != nil {
		return nil, err
	}
	if c.RequestTimeout, err = envSeconds(getenv, "HF_HUB_ETAG_TIMEOUT"); err != nil {
		return nil, err
	}
	if c.StallTimeout, err = envSeconds(getenv, "HF_HUB_DOWNLOAD_TIMEOUT"); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultCacheDir returns the hub cache folder huggingface_hub would use:
// HF_HUB_CACHE, else the legacy HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
// Like Python it expands a leading "~" and $VARIABLES in these values.
func DefaultCacheDir() (string, error) {
	return cacheDirFromEnv(os.Getenv)
}

func cacheDirFromEnv(getenv func(string) string) (string, error) {
	for _, name := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if v := getenv(name); v != "" {
			return expandPath(v, getenv)
		}
	}
	home, err := hfHome(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "hub"), nil
}

// hfHome is huggingface_hub's HF_HOME: $HF_HOME, else
// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func hfHome(getenv func(string) string) (string, error) {
	if v := getenv("HF_HOME"); v != "" {
		return expandPath(v, getenv)
	}
	if v := getenv("XDG_CACHE_HOME"); v != "" {
		p, err := expandPath(v, getenv)
		if err != nil {
			return "", err
		}
		return filepath.Join(p, "huggingface"), nil
	}
	home, err := userHome(getenv)
	if err != nil {
		return "", fmt.Errorf("hub: cannot locate the cache (set HF_HUB_CACHE or HF_HOME): %w", inner(err))
	}
	return filepath.Join(home, ".cache", "huggingface"), nil
}

// tokenFromEnv returns HF_TOKEN (or the legacy HUGGING_FACE_HUB_TOKEN), else
// the content of the token file ($HF_TOKEN_PATH, else $HF_HOME/token), else
// "". A missing token file is not an error; an unreadable one is.
func tokenFromEnv(getenv func(string) string) (string, error) {
	for _, name := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v, nil
		}
	}
	path := getenv("HF_TOKEN_PATH")
	var err error
	if path != "" {
		path, err = expandPath(path, getenv)
	} else {
		path, err = hfHome(getenv)
		path = filepath.Join(path, "token")
	}
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return "", nil
		}
		return "", fmt.Errorf("hub: reading token file: %w", inner(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// envTrue reports whether v is one of huggingface_hub's true values
// (1, ON, YES, TRUE, in any case).
func envTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// envSeconds parses an integer number of seconds; unset gives 0.
func envSeconds(getenv func(string) string, name string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("hub: %s=%q: want a positive number of seconds", name, v)
	}
	return time.Duration(n * float64(time.Second)), nil
}

// expandPath expands a leading "~" and $VAR or ${VAR} references, leaving
// unknown variables as written (as Python's os.path.expandvars does).
func expandPath(p string, getenv func(string) string) (string, error) {
	p = os.Expand(p, func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return "${" + name + "}"
	})
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		home, err := userHome(getenv)
		if err != nil {
			return "", fmt.Errorf("hub: expanding %q: %w", p, inner(err))
		}
		p = filepath.Join(home, p[1:])
	}
	return filepath.Clean(p), nil
}

func userHome(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); h != "" {
		return h, nil
	}
	return os.UserHomeDir()
}

func (c *Client) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/")
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) requestTimeout() time.Duration {
	if c.RequestTimeout <= 0 {
		return 10 * time.Second
	}
	return c.RequestTimeout
}

func (c *Client) stallTimeout() time.Duration {
	if c.StallTimeout <= 0 {
		return 10 * time.Second
	}
	return c.StallTimeout
}

func (c *Client) maxRetries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return 5
	}
	return c.MaxRetries
}

// httpClient returns c.HTTP or a new client whose transport honours the
// proxy environment variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: t}
}
