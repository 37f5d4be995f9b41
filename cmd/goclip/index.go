package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/goclip/goclip/cache"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/index"
)

const indexFlagHelp = "index file (default: index.goclip in the goclip cache folder)"

// indexPath is the --index value, or the default index file.
func indexPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	dir, err := cache.DefaultDir()
	if err != nil {
		return "", fmt.Errorf("%w (use --index FILE)", err)
	}
	return filepath.Join(dir, "index.goclip"), nil
}

func runIndex(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "index", "[--model DIR|ID] [--index FILE] DIR... | --index FILE --import EMBEDDINGS_DIR")
	model := fs.String("model", defaultModel, modelFlagHelp)
	indexFlag := fs.String("index", "", indexFlagHelp)
	importDir := fs.String("import", "", "import a clip-retrieval folder (img_emb/*.npy + metadata/*.parquet, as goclip-beam embed writes) made with --model")
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	cacheDir, noCache := cacheFlags(fs)
	quiet := fs.Bool("quiet", false, "no progress output")
	ivf := fs.String("ivf", "", "also build an inverted file for approximate search (goclip search --nprobe): a number of lists, or auto (about 4·√images); for collections too large to scan")
	var imf imageFlags
	imf.register(fs)
	dirs, err := parse(fs, args)
	if err != nil {
		return err
	}
	if (len(dirs) == 0) == (*importDir == "") {
		fmt.Fprintln(e.stderr, "goclip index: give folders to index, or --import DIR")
		fs.Usage()
		return errUsage
	}
	if err := imf.check(); err != nil {
		return badFlag(e, "index", err)
	}
	path, err := indexPath(*indexFlag)
	if err != nil {
		return err
	}
	lists, err := parseLists(*ivf)
	if err != nil {
		return badFlag(e, "index", err)
	}
	opt, err := withPrecision(e, "index", *precision, withModelCaches(*cacheDir, clip.Options{Lazy: true}))
	if err != nil {
		return err
	}
	m, _, err := loadModelWith(ctx, e, *model, opt)
	if err != nil {
		return err
	}
	// No limitHeap: an index build holds every row it writes (1 KiB each
	// for ViT-B/32), so its memory grows with the collection, and a soft
	// limit below that would only make the collector run without end.
	defer m.Close()
	t0 := time.Now()

	if *importDir != "" {
		st, err := index.Import(ctx, path, *importDir, m.Fingerprint(), modelRef(*model), m.EmbedDim(), lists)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "goclip index: imported %d embeddings from %d shards of %s (%d replaced); %s holds %d images (%s)\n",
			st.Imported, st.Shards, *importDir, st.Replaced, path, st.Images, time.Since(t0).Round(time.Millisecond))
		return nil
	}

	cfg := index.BuildConfig{Encoder: m, Workers: imf.workers, Batch: imf.batch, Lists: lists, ModelRef: modelRef(*model)}
	if cfg.Pipeline, err = imageproc.NewPipeline(m.ImageConfig(), imf.limits()); err != nil {
		return err
	}
	c, err := openEmbeddingCache(*cacheDir, *noCache)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
		cfg.Cache = c
	}
	var bar *progressbar.ProgressBar
	if !*quiet {
		var report func(eval.Progress)
		cfg.Progress = func(done, total int) {
			if report == nil {
				report = progressReporter(e.stderr, "index", total, &bar)
			}
			report(eval.Progress{Done: done, Total: total, Elapsed: time.Since(t0)})
		}
	}
	st, err := index.Build(ctx, path, dirs, cfg)
	if err := runEnded(e, bar, err); err != nil {
		return err
	}
	for _, f := range st.Failures {
		fmt.Fprintf(e.stderr, "goclip: unreadable: %s: %s\n", f.Path, f.Reason)
	}
	if !*quiet || len(st.Failures) > 0 {
		fmt.Fprintf(e.stderr, "goclip index: %s: %d images (%d new, %d changed, %d removed, %d unchanged, %d unreadable) in %s\n",
			path, st.Images, st.Added, st.Updated, st.Removed, st.Kept, len(st.Failures), time.Since(t0).Round(time.Millisecond))
	}
	if len(st.Failures) > 0 {
		return errSilent
	}
	return nil
}

// parseLists reads --ivf: "" (none), "auto" (-1: index.AutoLists of the
// rows, decided when they are known) or a number of lists.
func parseLists(s string) (int, error) {
	switch s {
	case "":
		return 0, nil
	case "auto":
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--ivf %q: want a number of lists (at least 1) or auto", s)
	}
	return n, nil
}

// modelRef is how an index remembers the --model it was made with: a Hub
// id as it is, a folder as an absolute path (so a search from another
// folder finds it).
func modelRef(ref string) string {
	if _, _, ok := hub.ParseModelRef(ref); ok {
		return ref
	}
	if abs, err := filepath.Abs(ref); err == nil {
		return abs
	}
	return ref
}

// searchModel is the model a search of x loads: --model when given, else
// the one x was made with, else the default.
func searchModel(fs *flag.FlagSet, model string, x *index.Index) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "model" })
	if !given && x.ModelRef() != "" {
		return x.ModelRef()
	}
	return model
}
