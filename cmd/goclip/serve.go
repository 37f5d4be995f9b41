package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/index"
	"github.com/goclip/goclip/server"
)

// runServe serves the model over HTTP (package server): the JSON API, the
// metrics and the web page. It listens first and loads the model after, so
// /healthz answers at once and /readyz turns 200 when the model is in;
// SIGINT or SIGTERM (ctx) shuts down gracefully.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "[--model M] [--addr 127.0.0.1:8080] [--api-key KEY] [limits]")
	model := fs.String("model", defaultModel, modelFlagHelp)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; any address but loopback requires an API key")
	apiKey := fs.String("api-key", os.Getenv("GOCLIP_API_KEY"), "API key required on /v1/* and /metrics (default $GOCLIP_API_KEY)")
	opt := server.DefaultOptions()
	fs.IntVar(&opt.MaxBatch, "max-batch", opt.MaxBatch, "most images per encoder call (dynamic batching)")
	fs.DurationVar(&opt.BatchWait, "batch-wait", opt.BatchWait, "how long a batch waits for more images")
	fs.IntVar(&opt.MaxQueue, "queue", opt.MaxQueue, "classify/embeddings requests admitted at once; more get 429")
	fs.DurationVar(&opt.RequestTimeout, "timeout", opt.RequestTimeout, "time limit of one request")
	fs.Int64Var(&opt.MaxBodyBytes, "max-body", opt.MaxBodyBytes, "largest request body, in bytes")
	fs.Int64Var(&opt.MaxPixels, "max-pixels", opt.MaxPixels, "refuse images with more pixels (checked from the header)")
	fs.IntVar(&opt.MaxLabels, "max-labels", opt.MaxLabels, "most classes per classify request")
	fs.IntVar(&opt.MaxPrompts, "max-prompts", opt.MaxPrompts, "most prompts per classify request")
	fs.IntVar(&opt.MaxPromptLen, "max-prompt-len", opt.MaxPromptLen, "longest label, prompt or text, in bytes")
	fs.IntVar(&opt.MaxImages, "max-images", opt.MaxImages, "most images per embeddings request")
	fs.IntVar(&opt.CacheSize, "cache", opt.CacheSize, "prompt embeddings kept in the LRU cache (negative: none)")
	fs.DurationVar(&opt.ShutdownTimeout, "shutdown-timeout", opt.ShutdownTimeout, "how long shutdown waits for requests in flight")
	fs.DurationVar(&opt.ShutdownDelay, "shutdown-delay", opt.ShutdownDelay, "after SIGINT/SIGTERM, keep listening this long with /readyz answering 503, before closing the listener")
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	truncate := fs.Bool("truncate", false, truncateFlagHelp)
	logFormat := fs.String("log-format", "text", "access log format on stderr: text or json")
	indexFile := fs.String("index", "", "a search index (goclip index) made with --model, searched by POST /v1/search")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "goclip serve: unexpected argument %q\n", rest[0])
		fs.Usage()
		return errUsage
	}
	if err := server.CheckAddr(*addr, *apiKey); err != nil {
		return err
	}
	opt.APIKey = *apiKey
	hopt := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch *logFormat {
	case "text":
		opt.Logger = slog.New(slog.NewTextHandler(e.stderr, hopt))
	case "json":
		opt.Logger = slog.New(slog.NewJSONHandler(e.stderr, hopt))
	default:
		return fmt.Errorf("--log-format %q: want text or json", *logFormat)
	}

	if *indexFile != "" {
		x, err := index.Open(*indexFile)
		if err != nil {
			return err
		}
		defer x.Close()
		opt.Index = x
		*model = searchModel(fs, *model, x)
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := server.New(opt)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx, l) }()
	opt.Logger.Info("listening", "url", "http://"+l.Addr().String()+"/", "api_key", *apiKey != "")

	mopt, err := withPrecision(e, "serve", *precision, withModelCaches("", clip.Options{TruncateTexts: *truncate}))
	if err != nil {
		stop()
		<-served
		return err
	}
	m, dir, err := loadModelWith(ctx, e, *model, mopt)
	if err != nil {
		stop()
		<-served
		return err
	}
	defer m.Close()
	if err := s.SetModel(m); err != nil {
		stop()
		<-served
		return err
	}
	opt.Logger.Info("model loaded", "model", dir)
	return <-served
}
