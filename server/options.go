package server

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/goclip/goclip/index"
)

// Options configure a Server. Zero fields take the defaults shown.
type Options struct {
	// APIKey, when set, is required on /v1/* and /metrics, as
	// "Authorization: Bearer KEY" or "X-API-Key: KEY". The page, /healthz and
	// /readyz stay open (the page asks for the key and sends it itself).
	APIKey string
	// Logger receives access logs and errors; nil means slog.Default().
	Logger *slog.Logger
	// Index, when set, is searched by /v1/search; it must have been made
	// by the model (SetModel refuses another). The server does not close it.
	Index *index.Index

	MaxBodyBytes int64 // request body; default 20 MiB
	MaxPixels    int64 // image width×height, checked from the header; default 40,000,000
	MaxLabels    int   // classes per classify request; default 256
	MaxPrompts   int   // prompts per classify request (labels × templates); default 1024
	MaxPromptLen int   // bytes per label, prompt, template or embeddings text; default 300
	MaxImages    int   // images per embeddings request; default 16
	MaxTexts     int   // texts per embeddings request; default 256

	// RequestTimeout bounds the work on one API request; default 30 s.
	RequestTimeout time.Duration
	// MaxBatch is the most images one encoder call takes; default 16.
	MaxBatch int
	// BatchWait is how long the batcher waits for more images once it has
	// one; default 5 ms.
	BatchWait time.Duration
	// MaxQueue is the number of classify and embeddings requests admitted at
	// once (waiting or being worked on); one more is answered 429 with
	// Retry-After. Default 64.
	MaxQueue int
	// DecodeWorkers bounds how many images are decoded at once (each may
	// take width×height×3 bytes); default GOMAXPROCS.
	DecodeWorkers int
	// TextWorkers bounds concurrent text-encoder calls; default 2.
	TextWorkers int
	// CacheSize is the number of prompt embeddings kept; default 4096;
	// negative disables the cache.
	CacheSize int
	// RetryAfterSeconds is sent with 429 and 503 answers; default 1.
	RetryAfterSeconds int
	// ShutdownTimeout bounds Serve's graceful shutdown; default 30 s.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long Serve keeps its listener open after it is
	// told to stop, answering /readyz (and new API requests) 503
	// shutting_down, so a load balancer stops sending traffic before
	// connections are refused; default 0.
	ShutdownDelay time.Duration
}

// DefaultOptions returns the options a zero Options stands for: the one
// place the server's defaults are written (goclip serve's flags show them).
func DefaultOptions() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 20 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 40_000_000
	}
	def(&o.MaxLabels, 256)
	def(&o.MaxPrompts, 1024)
	def(&o.MaxPromptLen, 300)
	def(&o.MaxImages, 16)
	def(&o.MaxTexts, 256)
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	def(&o.MaxBatch, 16)
	if o.BatchWait <= 0 {
		o.BatchWait = 5 * time.Millisecond
	}
	def(&o.MaxQueue, 64)
	def(&o.DecodeWorkers, runtime.GOMAXPROCS(0))
	def(&o.TextWorkers, 2)
	if o.CacheSize == 0 {
		o.CacheSize = 4096
	}
	def(&o.RetryAfterSeconds, 1)
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	return o
}
