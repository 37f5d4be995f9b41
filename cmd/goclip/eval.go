package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
)

func runEval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval", "[--model DIR|ID] [--prompts FILE | --template T ... | --templates imagenet80] [--ensemble max|mean] [--out DIR] DATASET")
	model := fs.String("model", defaultModel, modelFlagHelp)
	prompts := fs.String("prompts", "", "prompts file: lines \"label: prompt\", or JSON {\"label\": [\"prompt\", ...]}; labels are class folder names")
	var templates listFlag
	fs.Var(&templates, "template", "prompt template filled with each folder name, {} is the name (repeatable; default \"a photo of a {}.\")")
	templateSet := fs.String("templates", "", "a named template set: imagenet80 (OpenAI's 80 ImageNet templates)")
	ensemble := fs.String("ensemble", "max", "max (class of the best single prompt, as the write-up) or mean (averaged prompt embeddings)")
	out := fs.String("out", "", "folder for predictions.csv, report.json and report.html")
	digits := fs.Int("digits", 2, "digits in the classification report")
	cacheDir, noCache := cacheFlags(fs)
	quiet := fs.Bool("quiet", false, "no progress output")
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	truncate := fs.Bool("truncate", false, truncateFlagHelp)
	var imf imageFlags
	imf.register(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		if len(rest) == 0 {
			fmt.Fprintln(e.stderr, "goclip eval: no dataset folder given")
		} else {
			fmt.Fprintf(e.stderr, "goclip eval: one dataset folder, please (got %d arguments)\n", len(rest))
		}
		fs.Usage()
		return errUsage
	}
	if err := imf.check(); err != nil {
		return badFlag(e, "eval", err)
	}
	if *digits < 0 || *digits > 17 {
		return badFlag(e, "eval", fmt.Errorf("--digits %d: want 0 to 17", *digits))
	}
	if *prompts != "" && (len(templates) > 0 || *templateSet != "") {
		fmt.Fprintln(e.stderr, "goclip eval: give --prompts or templates, not both")
		return errUsage
	}
	ens, err := clip.ParseEnsemble(*ensemble)
	if err != nil {
		return err
	}
	root := rest[0]

	// Everything that can be checked is checked before any image is read.
	ds, err := eval.Scan(root)
	if err != nil {
		return err
	}
	var classes []clip.Class
	switch {
	case *prompts != "":
		if classes, err = clip.LoadPrompts(*prompts); err != nil {
			return err
		}
	default:
		ts := []string(templates)
		if *templateSet != "" {
			set, err := eval.Templates(*templateSet)
			if err != nil {
				return err
			}
			ts = append(ts, set...)
		}
		if classes, err = clip.LabelClasses(ds.Classes, ts...); err != nil {
			return fmt.Errorf("--template: %w", err)
		}
	}
	if _, err := eval.ValidateClasses(ds.Classes, classes); err != nil {
		if *prompts != "" {
			return fmt.Errorf("prompts %s: %w", *prompts, err)
		}
		return err
	}
	for _, sk := range ds.Skipped {
		fmt.Fprintf(e.stderr, "goclip eval: skipped %s: %s\n", sk.Path, sk.Reason)
	}
	if len(ds.Items) == 0 {
		return fmt.Errorf("dataset %s: no images in %v", root, ds.Classes)
	}

	// The embedding cache, unless --no-cache; the weight files' hashes are
	// remembered next to it either way (they are not embeddings).
	c, err := openEmbeddingCache(*cacheDir, *noCache)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
	}
	// Lazy: a run served from the cache never builds the towers.
	opt, err := withPrecision(e, "eval", *precision, withModelCaches(*cacheDir, clip.Options{Lazy: true, TruncateTexts: *truncate}))
	if err != nil {
		return err
	}
	m, _, err := loadModelWith(ctx, e, *model, opt)
	if err != nil {
		return err
	}
	limitHeap(m, true)
	defer m.Close()

	cfg := eval.Config{
		Model: m, Dataset: ds, Classes: classes, Ensemble: ens,
		Workers: imf.workers, Batch: imf.batch, Limits: imf.limits(),
	}
	if c != nil {
		cfg.Cache = c
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		cfg.Progress = progressReporter(e.stderr, "eval", len(ds.Items), &bar)
	}
	res, err := eval.Run(ctx, cfg)
	if err := runEnded(e, bar, err); err != nil {
		return err
	}

	if res.Metrics != nil {
		for _, w := range res.Metrics.Warnings {
			fmt.Fprintf(e.stderr, "warning: %s\n", w)
		}
		fmt.Fprint(e.stdout, res.Metrics.Text(*digits))
	} else {
		fmt.Fprintln(e.stdout, "no image could be read: no report")
	}
	if !*quiet {
		st := res.Stats
		fmt.Fprintf(e.stderr, "%d images (%d encoded, %d from cache) in %s: %.1f images/s\n",
			st.Images, st.Decoded, st.CacheHits, st.TotalTime.Round(time.Millisecond), float64(st.Images)/st.TotalTime.Seconds())
	}
	if *out != "" {
		if err := res.WriteFiles(ctx, *out, *model, root, m.Fingerprint()); err != nil {
			return err
		}
		if !*quiet {
			fmt.Fprintf(e.stderr, "wrote %s/predictions.csv, report.json, report.html\n", *out)
		}
	}
	if len(res.Failures) > 0 {
		for _, f := range res.Failures {
			fmt.Fprintf(e.stderr, "goclip: unreadable: %s: %s\n", f.Path, f.Reason)
		}
		fmt.Fprintf(e.stderr, "goclip eval: %d of %d images or folders could not be read (left out of the metrics)\n", len(res.Failures), len(ds.Items)+len(ds.Unreadable))
		return errSilent
	}
	return nil
}

// progressReporter draws a progress bar when w is a terminal, and prints a
// plain line every few seconds otherwise.
func progressReporter(w io.Writer, cmd string, total int, bar **progressbar.ProgressBar) func(eval.Progress) {
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		*bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("encoding"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		return func(p eval.Progress) { (*bar).Set(p.Done) }
	}
	var last time.Duration
	lastDone := 0
	step := max(total/10, 1)
	return func(p eval.Progress) {
		if p.Elapsed-last < 5*time.Second && p.Done-lastDone < step && p.Done != p.Total {
			return
		}
		last, lastDone = p.Elapsed, p.Done
		rate := float64(p.Done) / p.Elapsed.Seconds()
		eta := time.Duration(float64(p.Total-p.Done)/max(rate, 1e-9)) * time.Second
		fmt.Fprintf(w, "%s: %d/%d images (%.0f%%), %.1f img/s, %d cached, %d unreadable, ETA %s\n",
			cmd, p.Done, p.Total, 100*float64(p.Done)/float64(p.Total), rate, p.CacheHits, p.Failed, eta.Round(time.Second))
	}
}

// isTerminal reports whether f is a terminal (not a file, a pipe, or a
// character device such as /dev/null).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
