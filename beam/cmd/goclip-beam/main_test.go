package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/beam/internal/beamtest"
	"github.com/goclip/goclip/beam/pipeline"
)

// TestMain runs the tests on Prism with caches of their own (beamtest.Main).
func TestMain(m *testing.M) { beamtest.Main(m) }

func worker(t *testing.T) pipeline.Worker {
	abs, err := filepath.Abs("../../../testdata/kit/models/tiny-synth")
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Worker{Model: pipeline.ModelSpec{Ref: abs, Precision: "fp32"}, Batch: 8}
}

func TestUsageErrors(t *testing.T) {
	ctx := context.Background()
	w := worker(t)
	bad := w
	bad.Batch = 0
	int8w := w
	int8w.Model.Precision = "int4"
	for name, err := range map[string]error{
		"no output":    runEmbed(ctx, w, "x/*.jpg", "", "float16", 10, io.Discard),
		"no input":     runEmbed(ctx, w, "", "out", "float16", 10, io.Discard),
		"bad dtype":    runEmbed(ctx, w, "x/*.jpg", "out", "float64", 10, io.Discard),
		"shard size 0": runEmbed(ctx, w, "x/*.jpg", "out", "float16", 0, io.Discard),
		"batch 0":      runEmbed(ctx, bad, "x/*.jpg", "out", "float16", 10, io.Discard),
		"precision":    runEmbed(ctx, int8w, "x/*.jpg", "out", "float16", 10, io.Discard),
		"no dataset":   runEval(ctx, w, "", "p.txt", nil, "max", "out", 2, 10, io.Discard, io.Discard),
		"both prompts": runEval(ctx, w, "ds", "p.txt", []string{"a {}"}, "max", "out", 2, 10, io.Discard, io.Discard),
		"digits":       runEval(ctx, w, "ds", "p.txt", nil, "max", "out", 20, 10, io.Discard, io.Discard),
		"ensemble":     runEval(ctx, w, "ds", "p.txt", nil, "median", "out", 2, 10, io.Discard, io.Discard),
	} {
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: err = %v, want a usage error", name, err)
		}
	}
	// Not usage errors, but named: a missing input, a prompt file that
	// does not match the folders.
	if err := runEmbed(ctx, w, filepath.Join(t.TempDir(), "none-*.jpg"), t.TempDir(), "float16", 10, io.Discard); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Errorf("empty glob: %v", err)
	}
	prompts := filepath.Join(t.TempDir(), "p.txt")
	os.WriteFile(prompts, []byte("cat: a cat\nbird: a bird\n"), 0o644)
	err := runEval(ctx, w, "../../../examples/afhq-mini", prompts, nil, "max", t.TempDir(), 2, 10, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), prompts) || !strings.Contains(err.Error(), "bird") {
		t.Errorf("prompts without the dataset's classes: %v", err)
	}
}

// A whole run through the command's own code: the summary line counts
// what the runner's metrics counted.
func TestEmbedRun(t *testing.T) {
	if err := flag.Set("runner", "prism"); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var b bytes.Buffer
	err := runEmbed(context.Background(), worker(t), "../../../testdata/kit/images/*", out, "float16", 10, &b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "34 images in 4 shards, 29 embedded, 5 errors") {
		t.Errorf("summary %q", b.String())
	}
	for _, f := range []string{"img_emb/img_emb_0.npy", "metadata/metadata_3.parquet", "errors.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
