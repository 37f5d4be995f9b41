package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/tensor"
)

// defaultModel is what --model means when it is not given.
const defaultModel = hub.DefaultModel

const modelFlagHelp = "model: a local folder (Hugging Face layout) or a Hub id org/name[@revision], fetched into the huggingface_hub cache on first use"

// resolveModel turns a --model value into a local folder (hub.ResolveModel),
// with download progress on stderr.
func resolveModel(ctx context.Context, e *env, ref string) (string, error) {
	p := newDownloadProgress(e.stderr)
	defer p.finish()
	return hub.ResolveModel(ctx, ref, p.update)
}

const truncateFlagHelp = "cut prompts and texts longer than the model's context (77 tokens) instead of refusing them, as clip.tokenize(truncate=True) does"

const precisionFlagHelp = "arithmetic of the encoder blocks: fp32 (matches PyTorch) or int8 (8-bit weights and activations: a quarter of the memory, slightly different embeddings; fast on CPUs with AVX2, fastest with AVX-512 VNNI or AVX-VNNI)"

// withPrecision parses a --precision value into opt. int8 on a CPU without
// AVX2 works but is slow, which the user is told on stderr.
func withPrecision(e *env, cmd, s string, opt clip.Options) (clip.Options, error) {
	p, err := clip.ParsePrecision(s)
	if err != nil {
		return opt, fmt.Errorf("--precision: %w", err)
	}
	if p == clip.Int8 && tensor.Int8KernelName() == "go" {
		fmt.Fprintf(e.stderr, "goclip %s: warning: this CPU has no AVX2, so int8 runs a portable kernel, many times slower than fp32\n", cmd)
	}
	opt.Precision = p
	return opt, nil
}

// loadModelWith resolves and loads a model with options.
func loadModelWith(ctx context.Context, e *env, ref string, opt clip.Options) (*clip.Model, string, error) {
	dir, err := resolveModel(ctx, e, ref)
	if err != nil {
		return nil, "", err
	}
	m, err := clip.Load(dir, opt)
	return m, dir, err
}

// limitHeap sets a soft memory limit once a model is loaded, unless the
// user set GOMEMLIMIT. Batch commands (eval, classify, embed) call it, whose
// memory beyond the model is bounded by their batch size; the server does
// not, since its requests in flight can legitimately need more. The packed weights are most of the live heap, and
// with the default GOGC the heap may grow to twice the live heap before a
// collection: for ViT-B/32 that is 600 MB of headroom nobody uses. The
// limit keeps the heap within a fixed margin of what is live (the
// collector still runs as usual below it).
//
// A lazily loaded model has not packed its weights yet: their size (every
// tensor but the token embedding, which stays memory-mapped) is added, so
// building the towers later does not run into the limit.
func limitHeap(m *clip.Model, lazy bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const margin = 256 << 20
	limit := int64(ms.HeapInuse + ms.StackInuse + ms.GCSys + margin)
	if lazy {
		for name, shape := range clip.TensorShapes(m.Config()) {
			if name == "text_model.embeddings.token_embedding.weight" {
				continue
			}
			n := int64(4)
			for _, d := range shape {
				n *= int64(d)
			}
			limit += n
		}
	}
	debug.SetMemoryLimit(limit)
}

// downloadProgress shows one progress bar per file on a terminal, and a
// line per finished file otherwise.
type downloadProgress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	file string
	bar  *progressbar.ProgressBar
	t0   time.Time
}

func newDownloadProgress(w io.Writer) *downloadProgress {
	p := &downloadProgress{w: w}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.tty = true
	}
	return p
}

func (p *downloadProgress) update(file string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if file != p.file {
		p.finishLocked()
		p.file, p.t0 = file, time.Now()
		if p.tty {
			p.bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(file),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
			)
		}
	}
	if p.bar != nil {
		p.bar.Set64(done)
	}
	if done == total && !p.tty {
		fmt.Fprintf(p.w, "downloaded %s (%d bytes) in %s\n", file, total, time.Since(p.t0).Round(time.Millisecond))
		p.file = ""
	}
}

func (p *downloadProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
}

func (p *downloadProgress) finishLocked() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}

// hubEnvHelp lists the settings the Hub client reads, as huggingface_hub does.
const hubEnvHelp = `Environment:
  HF_TOKEN         access token for private and gated models (else the file
                   $HF_TOKEN_PATH or $HF_HOME/token, as huggingface-cli login writes it)
  HF_HUB_CACHE     the cache folder (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
  HF_ENDPOINT      the Hub's address (default https://huggingface.co)
  HF_HUB_OFFLINE   1: never go online; use what is cached`

func runDownload(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "download", "[MODEL]",
		"Fetches a CLIP model from the Hugging Face Hub into the cache huggingface_hub uses\n"+
			"(and reuses from it), then prints the snapshot folder. MODEL is a Hub id\n"+
			"org/name[@revision]; default "+defaultModel+". Only the files goclip reads are\n"+
			"fetched (config, preprocessor config, tokenizer, one weight format); an\n"+
			"interrupted download resumes.",
		hubEnvHelp)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		fs.Usage()
		return errUsage
	}
	ref := defaultModel
	if len(rest) == 1 {
		ref = rest[0]
	}
	if _, _, ok := hub.ParseModelRef(ref); !ok {
		return fmt.Errorf("%q is not a Hub id (want org/name[@revision])", ref)
	}
	dir, err := resolveModel(ctx, e, ref)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, dir)
	return nil
}

func runModels(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "models", "[--all]", "Lists the CLIP models in the Hugging Face cache, with their sizes and revisions.", hubEnvHelp)
	all := fs.Bool("all", false, "list every cached model repository, not only CLIP ones")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	dir, err := hub.DefaultCacheDir()
	if err != nil {
		return err
	}
	models, err := hub.ListCached(dir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tSIZE\tREVISIONS\tPATH")
	n := 0
	for _, m := range models {
		if !m.CLIP && !*all {
			continue
		}
		n++
		revs := ""
		for i, r := range m.Revisions {
			if i > 0 {
				revs += " "
			}
			name := r.Commit[:min(len(r.Commit), 10)]
			if len(r.Refs) > 0 {
				name = r.Refs[0] + "=" + name
			}
			if !r.Complete {
				name += "(partial)"
			}
			revs += name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.RepoID, humanBytes(m.Size), revs, m.Dir)
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintf(e.stderr, "no CLIP models in %s (goclip download %s fetches one)\n", filepath.Clean(dir), defaultModel)
	}
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
