package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// Server serves a CLIP model over HTTP. Create it with New, give it its
// model with SetModel (until then /readyz and the API answer 503 not_ready),
// and serve Handler with any http.Server, or call Serve.
type Server struct {
	opt     Options
	log     *slog.Logger
	metrics *metrics
	cache   *lru

	backend  atomic.Pointer[backend] // nil until SetModel
	draining atomic.Bool             // set by Close: refuse new work

	admit    chan struct{}       // MaxQueue slots for API requests; Close takes them all to wait for the last
	bodies   *semaphore.Weighted // bytes of request bodies being read: MaxQueue × MaxBodyBytes
	decode   chan struct{}       // DecodeWorkers slots
	textSlot chan struct{}       // TextWorkers slots

	flightMu sync.Mutex         // guards flights
	flights  map[string]*flight // prompts being encoded now
}

// backend is the loaded model, its image pipeline and its batcher.
type backend struct {
	model    clip.Encoder
	pipeline *imageproc.Pipeline
	batcher  *batcher
}

// New returns a server with options opt; it is not ready until SetModel.
func New(opt Options) *Server {
	opt = opt.withDefaults()
	return &Server{
		opt:      opt,
		log:      opt.Logger,
		metrics:  newMetrics(),
		cache:    newLRU(opt.CacheSize),
		admit:    make(chan struct{}, opt.MaxQueue),
		bodies:   semaphore.NewWeighted(int64(opt.MaxQueue) * opt.MaxBodyBytes),
		decode:   make(chan struct{}, opt.DecodeWorkers),
		textSlot: make(chan struct{}, opt.TextWorkers),
		flights:  map[string]*flight{},
	}
}

// SetModel makes the server ready to serve m. It may be called once; the
// server does not close m.
func (s *Server) SetModel(m clip.Encoder) error {
	if err := checkIndex(s.opt.Index, m); err != nil {
		return err
	}
	p, err := imageproc.NewPipeline(m.ImageConfig(), imageproc.Limits{MaxBytes: s.opt.MaxBodyBytes, MaxPixels: s.opt.MaxPixels})
	if err != nil {
		return fmt.Errorf("model preprocessing: %w", err)
	}
	b := &backend{model: m, pipeline: p}
	b.batcher = newBatcher(m.EncodeImages, s.opt.MaxBatch, s.opt.BatchWait, s.opt.MaxQueue, s.metrics.batch)
	if !s.backend.CompareAndSwap(nil, b) {
		b.batcher.close(context.Background())
		return errors.New("server already has a model")
	}
	s.log.Info("model ready", "fingerprint", m.Fingerprint())
	return nil
}

// Ready reports whether the server has a model and is not shutting down.
func (s *Server) Ready() bool { return s.backend.Load() != nil && !s.draining.Load() }

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats { return s.metrics.stats() }

// Close stops admitting API requests (they get 503 shutting_down), waits for
// those admitted to finish, then drains the image batcher. Used alone it
// suits a Handler mounted in someone else's http.Server (call it after that
// server's Shutdown); Serve calls it itself.
func (s *Server) Close(ctx context.Context) error {
	s.draining.Store(true)
	// Every admitted request holds a slot of admit until it is answered:
	// holding all the slots means none is left. (acquire gives back a slot
	// it took after draining began.)
	for i := 0; i < cap(s.admit); i++ {
		select {
		case s.admit <- struct{}{}:
		case <-ctx.Done():
			for ; i > 0; i-- {
				<-s.admit
			}
			return fmt.Errorf("wait for requests: %w", ctx.Err())
		}
	}
	for i := 0; i < cap(s.admit); i++ {
		<-s.admit
	}
	if b := s.backend.Load(); b != nil {
		return b.batcher.close(ctx)
	}
	return nil
}

// Serve serves on l until ctx is cancelled (e.g. on SIGINT or SIGTERM),
// then shuts down gracefully: /readyz and new API requests turn 503
// shutting_down at once; after Options.ShutdownDelay (0 by default: at once)
// the listener closes, so new connections are refused, idle connections are
// closed, requests in flight finish (within Options.ShutdownTimeout) and
// the batcher is drained. A load balancer that polls /readyz needs a
// ShutdownDelay of its polling period to see the 503 before the listener
// goes.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.opt.RequestTimeout + 30*time.Second,
		WriteTimeout:      s.opt.RequestTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	if d := s.opt.ShutdownDelay; d > 0 {
		s.log.Info("shutting down: /readyz answers 503 while the listener stays open", "delay", d)
		time.Sleep(d)
	}
	s.log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), s.opt.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if cerr := s.Close(sctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("shut down")
	return nil
}

// route is one path of the API: the methods it answers and whether it needs
// the API key.
type route struct {
	name    string // for metrics and logs
	methods []string
	auth    bool
	handle  func(w http.ResponseWriter, r *http.Request) error
}

// Handler returns the HTTP handler of every endpoint, with request ids,
// access logs, metrics, authentication and JSON errors.
func (s *Server) Handler() http.Handler {
	routes := map[string]route{
		"/":              {"page", []string{"GET", "HEAD"}, false, s.handlePage},
		"/healthz":       {"healthz", []string{"GET", "HEAD"}, false, s.handleHealth},
		"/readyz":        {"readyz", []string{"GET", "HEAD"}, false, s.handleReady},
		"/metrics":       {"metrics", []string{"GET", "HEAD"}, true, s.handleMetrics},
		"/v1/classify":   {"classify", []string{"POST"}, true, s.handleClassify},
		"/v1/embeddings": {"embeddings", []string{"POST"}, true, s.handleEmbeddings},
		"/v1/search":     {"search", []string{"POST"}, true, s.handleSearch},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		w.Header().Set("X-Request-ID", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		sw := &statusWriter{ResponseWriter: w}

		rt, ok := routes[r.URL.Path]
		name := rt.name
		if !ok {
			name = "other"
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", id, "panic", p)
				if sw.status == 0 {
					s.writeError(sw, r, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
				}
			}
			d := time.Since(start)
			s.metrics.request(name, sw.code(), d)
			s.log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", sw.code(), "bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000,
				"remote", r.RemoteAddr)
		}()

		var err error
		switch {
		case !ok:
			err = errorf(http.StatusNotFound, CodeNotFound, "no such endpoint: %s", r.URL.Path)
		case !methodAllowed(rt.methods, r.Method):
			sw.Header().Set("Allow", joinMethods(rt.methods))
			err = errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s does not allow %s (use %s)", r.URL.Path, r.Method, joinMethods(rt.methods))
		case rt.auth && !s.authorized(r):
			err = errorf(http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key: send \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\"")
		default:
			err = rt.handle(sw, r)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
	})
}

func methodAllowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

func joinMethods(methods []string) string {
	out := ""
	for i, m := range methods {
		if i > 0 {
			out += ", "
		}
		out += m
	}
	return out
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

type requestIDKey struct{}

// requestID returns the request id stored in ctx by Handler.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID accepts a client's X-Request-ID if it is short and made of
// printable ASCII without spaces (it is echoed in headers and logs).
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// admitRequest starts an API request. Its body is read first, whole, and
// only then does it take an admission slot (see acquire), so a client that
// sends slowly holds no slot while honest requests wait:
//
//   - a Content-Length above MaxBodyBytes is answered 413 at once, without
//     reading anything;
//   - bodies being read share a budget of MaxQueue × MaxBodyBytes bytes
//     (the declared length, or MaxBodyBytes when none is declared); a body
//     that does not fit is answered 429;
//   - a body must arrive within RequestTimeout: a client that trickles is
//     cut off with 408.
//
// The returned request carries the body in memory and a context bounded by
// RequestTimeout; done must be called when the request is answered.
func (s *Server) admitRequest(w http.ResponseWriter, r *http.Request) (*backend, *http.Request, func(), error) {
	if err := s.acceptable(); err != nil {
		return nil, nil, nil, err
	}
	if r.ContentLength > s.opt.MaxBodyBytes {
		return nil, nil, nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body of %d bytes; at most %d are allowed", r.ContentLength, s.opt.MaxBodyBytes)
	}
	charge := s.opt.MaxBodyBytes
	if r.ContentLength >= 0 {
		charge = r.ContentLength
	}
	if !s.bodies.TryAcquire(charge) {
		return nil, nil, nil, errorf(http.StatusTooManyRequests, CodeQueueFull, "the server is busy receiving other requests; retry later")
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.bodies.Release(charge)
		return nil, nil, nil, err
	}
	b, release, err := s.acquire()
	if err != nil {
		s.bodies.Release(charge)
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.RequestTimeout)
	r = r.WithContext(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return b, r, func() { cancel(); release(); s.bodies.Release(charge) }, nil
}

// readBody reads r's whole body, at most MaxBodyBytes of it, within
// RequestTimeout.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(s.opt.RequestTimeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	if deadline {
		rc.SetReadDeadline(time.Time{})
	}
	if err == nil {
		return body, nil
	}
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.As(err, &ne) && ne.Timeout():
		return nil, errorf(http.StatusRequestTimeout, CodeBodyTimeout, "the request body did not arrive within %v", s.opt.RequestTimeout)
	case r.Context().Err() != nil:
		return nil, ctxError(r.Context().Err())
	}
	return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading the request body: %v", err)
}

// acceptable refuses work while the server has no model or is shutting down.
func (s *Server) acceptable() error {
	if s.draining.Load() {
		return errorf(http.StatusServiceUnavailable, CodeShuttingDown, "the server is shutting down")
	}
	if s.backend.Load() == nil {
		return errorf(http.StatusServiceUnavailable, CodeNotReady, "the model is still loading")
	}
	return nil
}

// acquire takes an admission slot for an API request: 503 if the server is
// not ready or shutting down, 429 if MaxQueue requests are already in. The
// returned release must be called when the request is answered.
func (s *Server) acquire() (*backend, func(), error) {
	if err := s.acceptable(); err != nil {
		return nil, nil, err
	}
	b := s.backend.Load()
	select {
	case s.admit <- struct{}{}:
	default:
		return nil, nil, errorf(http.StatusTooManyRequests, CodeQueueFull, "the server is busy (%d requests in progress); retry later", s.opt.MaxQueue)
	}
	if s.draining.Load() { // Close started between the check and the slot
		<-s.admit
		return nil, nil, errorf(http.StatusServiceUnavailable, CodeShuttingDown, "the server is shutting down")
	}
	return b, func() { <-s.admit }, nil
}

// slot waits for a place in sem (decode or text workers) or for ctx.
func slot(ctx context.Context, sem chan struct{}) (func(), error) {
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctxError(ctx.Err())
	}
}

// ctxError maps a context error to the API error a client sees.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errorf(http.StatusServiceUnavailable, CodeTimeout, "the request took too long")
	}
	// The client went away; the status is only seen in logs (499 is nginx's
	// "client closed request").
	return errorf(499, CodeClientClosed, "the client closed the request")
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	switch b := s.backend.Load(); {
	case s.draining.Load():
		return errorf(http.StatusServiceUnavailable, CodeShuttingDown, "the server is shutting down")
	case b == nil:
		return errorf(http.StatusServiceUnavailable, CodeNotReady, "the model is still loading")
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "model": b.model.Fingerprint()})
		return nil
	}
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	g := gauges{inflight: float64(len(s.admit)), cacheEntries: float64(s.cache.len())}
	if s.Ready() {
		g.ready = 1
	}
	if b := s.backend.Load(); b != nil {
		g.queueDepth = float64(b.batcher.depth.Load())
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	return s.metrics.write(w, g)
}
