package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goclip/goclip/bench"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/synth"
)

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", "[--model DIR|ID | --synthetic] [--batch N]... [--threads N] [--duration D] [--json]")
	model := fs.String("model", defaultModel, modelFlagHelp)
	synthetic := fs.Bool("synthetic", false, "build the full-size ViT-B/32 with the kit's synthetic weights in memory instead of loading a model")
	var batchFlags listFlag
	fs.Var(&batchFlags, "batch", "image tower batch size (repeatable or comma-separated; default 1,8,32)")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "kernel goroutines, and eval workers for the end-to-end run")
	duration := fs.Duration("duration", 3*time.Second, "time spent on each measured point (at least 3 runs each, after one warm-up run)")
	images := fs.Int("images", 96, "images in the generated end-to-end dataset")
	parts := fs.String("parts", strings.Join(bench.Parts(), ","), "what to measure: any of "+strings.Join(bench.Parts(), ","))
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	jsonOut := fs.Bool("json", false, "print one JSON object instead of a table")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	modelSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "model" {
			modelSet = true
		}
	})
	bad := func(format string, a ...any) error {
		fmt.Fprintf(e.stderr, "goclip bench: "+format+"\n", a...)
		return errUsage
	}
	switch {
	case len(rest) > 0:
		return bad("unexpected arguments %q", rest)
	case *synthetic && modelSet:
		return bad("give --model or --synthetic, not both")
	case *threads < 1:
		return bad("--threads must be at least 1")
	case *duration < 0:
		return bad("--duration must not be negative")
	case *images < 1:
		return bad("--images must be at least 1")
	}
	batches, err := parseBatches(batchFlags)
	if err != nil {
		return bad("%v", err)
	}
	var partList []string
	for _, p := range strings.Split(*parts, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(bench.Parts(), p) {
			return bad("unknown part %q in --parts (want %s)", p, strings.Join(bench.Parts(), ","))
		}
		partList = append(partList, p)
	}

	r := bench.NewReport()
	r.Threads, r.Synthetic = *threads, *synthetic
	opt, err := withPrecision(e, "bench", *precision, withModelCaches("", clip.Options{Threads: *threads, MaxBatch: max(32, slices.Max(batches))}))
	if err != nil {
		return err
	}
	r.Precision = string(opt.Precision)
	m, err := benchModel(ctx, e, r, *model, *synthetic, opt)
	if err != nil {
		return err
	}
	defer m.Close()
	limitHeap(m, false) // as the batch commands run, so their memory figures are eval's
	if err := bench.Run(ctx, m, bench.Options{Parts: partList, Batches: batches, Duration: *duration, Images: *images, Threads: *threads}, r); err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.WriteText(e.stdout)
	return nil
}

// benchModel loads the model (timing clip.Load alone, after any download)
// or builds the synthetic ViT-B/32 in memory.
func benchModel(ctx context.Context, e *env, r *bench.Report, ref string, synthetic bool, opt clip.Options) (*clip.Model, error) {
	if synthetic {
		opt.PackCache = ""          // the timed step is packing
		cfg := clip.DefaultConfig() // exactly ViT-B/32's config
		t0 := time.Now()
		w, err := synth.Generate(cfg)
		if err != nil {
			return nil, fmt.Errorf("synthetic weights: %w", err)
		}
		r.GenerateMs = time.Since(t0).Seconds() * 1000
		t0 = time.Now()
		m, err := clip.New(cfg, w, opt)
		if err != nil {
			return nil, fmt.Errorf("synthetic model: %w", err)
		}
		r.LoadMs = time.Since(t0).Seconds() * 1000
		r.Model = "synthetic ViT-B/32 (clip.DefaultConfig, internal/synth weights)"
		// The generated tensors were copied into packed form (w is dead
		// from here on): give their memory back to the system so it does
		// not weigh on the runs. The peak RSS keeps it.
		debug.FreeOSMemory()
		return m, nil
	}
	dir, err := resolveModel(ctx, e, ref)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	m, err := clip.Load(dir, opt)
	if err != nil {
		return nil, err
	}
	r.LoadMs = time.Since(t0).Seconds() * 1000
	if opt.PackCache != "" && m.PackCacheHits() == 0 {
		// This load packed the towers and is saving them: let it finish
		// (Close waits), so the runs are not timed beside it, and time
		// and measure the load that later runs get.
		r.PackLoadMs = r.LoadMs
		if err := m.Close(); err != nil {
			return nil, err
		}
		debug.FreeOSMemory()
		bench.ResetPeakRSS() // the memory figures are those of the timed load
		t0 = time.Now()
		if m, err = clip.Load(dir, opt); err != nil {
			return nil, err
		}
		r.LoadMs = time.Since(t0).Seconds() * 1000
	}
	r.PackCacheHits = m.PackCacheHits()
	r.Model = dir
	return m, nil
}

// parseBatches reads --batch values ("8", "1,8,32"); none means 1, 8, 32.
func parseBatches(flags []string) ([]int, error) {
	var out []int
	for _, f := range flags {
		for _, s := range strings.Split(f, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 || n > 1024 {
				return nil, fmt.Errorf("--batch %q: want a whole number from 1 to 1024", s)
			}
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []int{1, 8, 32}
	}
	return out, nil
}
