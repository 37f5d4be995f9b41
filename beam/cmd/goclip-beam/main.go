// Command goclip-beam runs goclip's embed and eval as Apache Beam
// pipelines: on Prism, in this process, by default; on Flink, Dataflow or
// any portable runner with --runner (Beam's own flags: --endpoint,
// --project, --region, --temp_location, --environment_config, ...).
//
//	goclip-beam embed --model M --input IN --output OUT [--dtype float16|float32]
//	goclip-beam eval --model M --dataset DIR_OR_SHARDS (--prompts FILE | --template T ...) --output OUT
//
// The same binary is the worker a remote runner starts (beam.Init).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/goclip/goclip/beam/pipeline"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/npy"
)

const usage = `usage:
  goclip-beam embed --model M --input IN --output OUT [--dtype float16|float32] [--runner prism]
  goclip-beam eval --model M --dataset DIR_OR_SHARDS (--prompts FILE | --template T ...) [--ensemble max|mean] --output OUT

IN: a glob of images, a folder, @list.txt (one path per line), or webdataset
shards (shards/{00000..00999}.tar). Paths may be gs:// or s3://.
Flags (both commands, then Beam's own):
`

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	// Beam's flags live in the process's flag set, and a remote runner
	// starts this binary as a worker with only those: the command comes
	// first and is taken off before the flags are parsed.
	cmd := ""
	args := os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	model := flag.String("model", hub.DefaultModel, "model: a local folder (present on every worker) or a Hub id org/name[@revision]")
	precision := flag.String("precision", "fp32", "fp32 or int8")
	output := flag.String("output", "", "output folder (local, gs:// or s3://)")
	input := flag.String("input", "", "embed: images or webdataset shards (see above)")
	dtype := flag.String("dtype", "float16", "embed: float16 or float32 embeddings")
	dataset := flag.String("dataset", "", "eval: a folder of class folders, or webdataset shards whose samples have a cls member (or a label field)")
	prompts := flag.String("prompts", "", "eval: prompts file: lines \"label: prompt\", or JSON {\"label\": [\"prompt\", ...]}")
	var templates listFlag
	flag.Var(&templates, "template", "eval: prompt template filled with each class folder name, {} is the name (repeatable; default \"a photo of a {}.\")")
	ensemble := flag.String("ensemble", "max", "eval: max or mean")
	digits := flag.Int("digits", 2, "eval: digits in the classification report")
	shardSize := flag.Int("shard-size", pipeline.DefaultShardSize, "image files per shard (webdataset: one shard per tar file)")
	batchSize := flag.Int("batch", 16, "images per encoder batch")
	workers := flag.Int("workers", 0, "goroutines reading and decoding images on each worker (0: all its cores)")
	maxBytes := flag.Int64("max-bytes", imageproc.DefaultMaxBytes, "refuse image files larger than this (0: no limit)")
	maxPixels := flag.Int64("max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels than this (0: no limit)")
	if f := flag.Lookup("runner"); f != nil {
		f.DefValue = "prism"
		f.Value.Set("prism")
	}
	flag.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		flag.PrintDefaults()
	}
	if err := flag.CommandLine.Parse(args); err != nil {
		os.Exit(2)
	}
	beam.Init() // a worker started by a runner never returns from here

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	noneIfZero := func(v int64) int64 {
		if v == 0 {
			return -1
		}
		return v
	}
	w := pipeline.Worker{
		Model: pipeline.ModelSpec{Ref: *model, Precision: *precision},
		Batch: *batchSize, Workers: *workers,
		MaxBytes: noneIfZero(*maxBytes), MaxPixels: noneIfZero(*maxPixels),
	}
	// In loopback mode (Prism's) Beam leaves an empty placeholder file,
	// beamloopbackworker-*, in the temporary folder on every run
	// (apache/beam#27569): the run gets a temporary folder of its own,
	// removed when it ends.
	tmp, tmpErr := os.MkdirTemp("", "goclip-beam-")
	if tmpErr == nil {
		os.Setenv("TMPDIR", tmp)
	}
	exit := func(code int) {
		if tmpErr == nil {
			os.RemoveAll(tmp)
		}
		os.Exit(code)
	}
	var err error
	switch cmd {
	case "embed":
		err = runEmbed(ctx, w, *input, *output, *dtype, *shardSize, os.Stderr)
	case "eval":
		err = runEval(ctx, w, *dataset, *prompts, templates, *ensemble, *output, *digits, *shardSize, os.Stdout, os.Stderr)
	default:
		if cmd == "" {
			fmt.Fprintln(os.Stderr, "goclip-beam: no command")
		} else {
			fmt.Fprintf(os.Stderr, "goclip-beam: unknown command %q\n", cmd)
		}
		flag.Usage()
		exit(2)
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "goclip-beam %s: %v\n", cmd, err)
		exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "goclip-beam %s: %v\n", cmd, err)
		exit(1)
	}
	exit(0)
}

type usageError struct{ error }

func check(w pipeline.Worker, output string, shardSize int) error {
	switch {
	case output == "":
		return usageError{errors.New("--output is required")}
	case shardSize < 1:
		return usageError{fmt.Errorf("--shard-size %d: want at least 1", shardSize)}
	case w.Batch < 1:
		return usageError{fmt.Errorf("--batch %d: want at least 1", w.Batch)}
	case w.Workers < 0:
		return usageError{fmt.Errorf("--workers %d: want 0 or more", w.Workers)}
	}
	if _, err := clip.ParsePrecision(w.Model.Precision); err != nil {
		return usageError{fmt.Errorf("--precision: %w", err)}
	}
	return nil
}

func runEmbed(ctx context.Context, w pipeline.Worker, input, output, dtype string, shardSize int, stderr io.Writer) error {
	if err := check(w, output, shardSize); err != nil {
		return err
	}
	if input == "" {
		return usageError{errors.New("--input is required")}
	}
	dt, err := npy.ParseDType(dtype)
	if err != nil {
		return usageError{fmt.Errorf("--dtype: %w", err)}
	}
	shards, unlisted, err := pipeline.ListInput(ctx, input, shardSize)
	if err != nil {
		return err
	}
	for _, u := range unlisted {
		fmt.Fprintf(stderr, "goclip-beam: %s: %s\n", u.Path, u.Reason)
	}
	p, s := beam.NewPipelineWithRoot()
	pipeline.Embed(s, pipeline.EmbedConfig{Worker: w, Output: output, DType: dt, Unlisted: unlisted}, shards)
	return run(ctx, p, "embed", len(shards), output, stderr)
}

func runEval(ctx context.Context, w pipeline.Worker, dataset, prompts string, templates []string, ensemble, output string, digits, shardSize int, stdout, stderr io.Writer) error {
	if err := check(w, output, shardSize); err != nil {
		return err
	}
	if dataset == "" {
		return usageError{errors.New("--dataset is required")}
	}
	if prompts != "" && len(templates) > 0 {
		return usageError{errors.New("give --prompts or --template, not both")}
	}
	if digits < 0 || digits > 17 {
		return usageError{fmt.Errorf("--digits %d: want 0 to 17", digits)}
	}
	ens, err := clip.ParseEnsemble(ensemble)
	if err != nil {
		return usageError{err}
	}
	shards, folders, unreadable, err := pipeline.ListDataset(ctx, dataset, shardSize)
	if err != nil {
		return err
	}
	var classes []clip.Class
	if prompts != "" {
		if classes, err = clip.LoadPrompts(prompts); err != nil {
			return err
		}
	} else {
		if folders == nil {
			return usageError{errors.New("webdataset shards have no class folders to fill templates with: give --prompts")}
		}
		if classes, err = clip.LabelClasses(folders, templates...); err != nil {
			return fmt.Errorf("--template: %w", err)
		}
	}
	if folders != nil {
		// The report covers the class folders, in their order, as
		// goclip eval's does.
		if classes, err = eval.ValidateClasses(folders, classes); err != nil {
			if prompts != "" {
				return fmt.Errorf("prompts %s: %w", prompts, err)
			}
			return err
		}
	} else {
		// No folders: the prompts' labels, sorted as sklearn sorts labels.
		slices.SortStableFunc(classes, func(a, b clip.Class) int { return strings.Compare(a.Label, b.Label) })
	}
	p, s := beam.NewPipelineWithRoot()
	err = pipeline.Eval(s, pipeline.EvalConfig{Worker: w, Output: output, Classes: classes, Ensemble: ens,
		Digits: digits, Dataset: dataset, Unreadable: unreadable}, shards)
	if err != nil {
		return err
	}
	if err := run(ctx, p, "eval", len(shards), output, stderr); err != nil {
		return err
	}
	if !strings.Contains(output, "://") {
		report, err := os.ReadFile(filepath.Join(output, "report.txt"))
		if err != nil {
			return err
		}
		stdout.Write(report)
	}
	return nil
}

// run runs the pipeline and prints what it did, from the runner's metrics.
func run(ctx context.Context, p *beam.Pipeline, cmd string, shards int, output string, stderr io.Writer) error {
	slog.Info("goclip-beam: running", "command", cmd, "shards", shards, "cores", runtime.NumCPU())
	t0 := time.Now()
	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	counters := map[string]int64{}
	if res != nil {
		for _, c := range res.Metrics().AllMetrics().Counters() {
			if c.Key.Namespace == "goclip" {
				counters[c.Key.Name] += c.Result()
			}
		}
	}
	summary(stderr, cmd, shards, output, counters, took)
	return nil
}

func summary(w io.Writer, cmd string, shards int, output string, c map[string]int64, took time.Duration) {
	fmt.Fprintf(w, "goclip-beam %s: %d images in %d shards, %d embedded, %d errors, in %s (%.1f images/s); wrote %s\n",
		cmd, c["images"], shards, c["embedded"], c["errors"], took.Round(time.Millisecond), float64(c["images"])/took.Seconds(), output)
}
