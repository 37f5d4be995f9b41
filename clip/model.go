package clip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/mmap"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/tokenizer"
)

// Encoder is the contract between a CLIP model and what drives it: the
// evaluation (package eval), batch embedding (package batch), the server
// and the Beam pipeline take an Encoder, so any of them can run a *Model,
// a model behind a network call, or a test double. Its methods must be
// safe for concurrent use.
type Encoder interface {
	// EncodeImages maps preprocessed images (see ImageConfig) to
	// projected, unnormalised embeddings, one per image, in order. It
	// does not keep pixels after it returns (callers reuse them).
	EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error)
	// EncodeTexts maps texts to projected, unnormalised embeddings.
	EncodeTexts(ctx context.Context, texts []string) ([][]float32, error)
	// ImageConfig is the preprocessing EncodeImages expects.
	ImageConfig() imageproc.Config
	// LogitScale is exp(logit_scale), the factor from cosine to logit.
	LogitScale() float32
	// EmbedDim is the length of every embedding.
	EmbedDim() int
	// Fingerprint identifies what the encoder computes: equal
	// fingerprints, equal embeddings (caches key by it).
	Fingerprint() string
}

var _ Encoder = (*Model)(nil)

// Model is a CLIP model: the two towers, their projections and the logit
// scale, plus (when loaded from a folder) the tokenizer and image
// preprocessing that go with it. A Model is safe for concurrent use.
type Model struct {
	cfg Config

	vision     *visionTower
	text       *textTower
	logitScale float32 // exp(logit_scale)
	precision  Precision
	truncate   bool // Options.TruncateTexts

	// With Options.Lazy each tower is built on first use, from weights.
	weights    Weights
	visionOnce sync.Once
	visionErr  error
	textOnce   sync.Once
	textErr    error

	pack     packCache      // where towers are saved packed (Options.PackCache)
	packHits atomic.Int32   // towers mapped from the pack cache
	saving   sync.WaitGroup // pack files being written
	mu       sync.Mutex     // guards closers and textFile
	textFile *mmap.File     // the text tower's pack file, once the tower is built from it

	pool        *tensor.Pool
	ownsPool    bool
	work        workspaces // activation memory, reused between passes
	maxBatch    int
	fingerprint string
	closers     []io.Closer

	// The tokenizer and preprocessing of the model folder (set by Load).
	tokOnce  sync.Once
	tok      *tokenizer.Tokenizer
	tokErr   error
	image    imageproc.Config
	hasImage bool
}

// Options tune how a model runs; the zero value is fine.
type Options struct {
	// Threads is the number of goroutines the kernels use; 0 means GOMAXPROCS.
	Threads int
	// Pool, when set, is used instead of a pool of the model's own (Threads is then ignored).
	Pool *tensor.Pool
	// MaxBatch bounds how many images one forward pass takes (memory grows
	// with it); larger requests are split. 0 means 32.
	MaxBatch int
	// Lazy defers building (packing) each tower until it is first used:
	// a run whose embeddings all come from a cache then never pays for it.
	// Every tensor's presence and shape is still checked when the model is
	// made, so a wrong checkpoint fails there, not later.
	Lazy bool
	// Precision is the arithmetic of the encoder blocks; "" means FP32.
	Precision Precision
	// TruncateTexts cuts texts longer than the model's context instead of
	// refusing them (see EncodeTexts).
	TruncateTexts bool
	// HashMemo is a folder where Load remembers the SHA-256 of weight
	// files, by file identity, so that fingerprinting an unchanged model
	// reads no weights again (see Model.Fingerprint); "" hashes them on
	// every load. The goclip command keeps it in its cache folder.
	HashMemo string
	// PackCache is a folder where each tower, once packed for this CPU's
	// kernels, is saved (a file per model folder, tower, precision and layout:
	// about the size of the tower's float32 weights, a quarter of it for
	// Int8), so that later loads map the file instead of packing again:
	// for ViT-B/32 on the 2-core guests goclip is measured on, a tenth
	// of the time (0.1–0.2 s). A file is used only when it was written for the
	// model's fingerprint, precision and this process's packed layout and
	// its checksums hold; otherwise the tower is packed and the file
	// replaced, so a stale or damaged file costs time, never a wrong
	// result or an error. The file is written in the background after the
	// tower is built; Close waits for it. "" packs on every load. The
	// fingerprint comes first when it is set: set HashMemo too, or the
	// weights are hashed before packing rather than alongside it. The
	// goclip command keeps it in its cache folder.
	PackCache string
}

// Precision is the arithmetic of the matrix products in the encoder
// blocks, which are nearly all of a model's work.
type Precision string

const (
	// FP32 computes in float32, as PyTorch does: embeddings match the
	// reference to about 1e-6. The default.
	FP32 Precision = "fp32"
	// Int8 quantizes the weights of each block's four Linear layers to
	// 7-bit integers (±63, a scale per output row) and their inputs to
	// uint8 (a scale and zero point per token), and multiplies in exact
	// integer arithmetic (tensor.PackInt8), so every CPU gives the same
	// embeddings. They move slightly from FP32's (on the kit's images a
	// worst centred cosine of 0.9993); the weights take a quarter of the
	// memory. With AVX-512 VNNI or AVX-VNNI the image tower takes about
	// 0.4 of FP32's time, with AVX2 alone about 0.55 (Zen 5, batch 8); a
	// CPU without AVX2 runs a portable kernel, slower than FP32. Never
	// chosen silently.
	Int8 Precision = "int8"
)

// ParsePrecision reads a --precision value: "fp32" (or "") or "int8".
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(s); p {
	case "", FP32:
		return FP32, nil
	case Int8:
		return Int8, nil
	}
	return "", fmt.Errorf("precision %q: want fp32 or int8", s)
}

// Precision reports the arithmetic the model's encoder blocks use.
func (m *Model) Precision() Precision { return m.precision }

// New builds a model from its config and weights. The weights' slices are
// read during New (and the token embedding for the model's life), so a
// memory-mapped source must stay open until Close.
func New(cfg Config, w Weights, opt Options) (*Model, error) {
	var fp string
	if opt.PackCache != "" { // the pack cache is keyed by the fingerprint
		var err error
		if fp, err = weightsFingerprint(cfg, w); err != nil {
			return nil, err
		}
	}
	m, err := newModel(cfg, w, opt, fp, fp)
	if err != nil {
		return nil, err
	}
	if fp == "" {
		if m.fingerprint, err = weightsFingerprint(cfg, w); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// newModel is New for a model whose fingerprint is fp ("" when it is not
// known yet: it is then set by the caller, and towers are not saved).
// source names the model's pack files (see packCache).
func newModel(cfg Config, w Weights, opt Options, source, fp string) (*Model, error) {
	if err := tensor.KernelsError(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &fetcher{w: w, shapes: TensorShapes(cfg)}
	prec, err := ParsePrecision(string(opt.Precision))
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, precision: prec, truncate: opt.TruncateTexts, fingerprint: fp}
	if opt.PackCache != "" && fp != "" {
		m.pack = packCache{dir: opt.PackCache, source: source, fingerprint: m.Fingerprint()}
	}
	m.maxBatch = opt.MaxBatch
	if m.maxBatch <= 0 {
		m.maxBatch = 32
	}
	ls, err := f.get("logit_scale")
	if err != nil {
		return nil, err
	}
	m.logitScale = float32(math.Exp(float64(ls[0])))
	if math.IsInf(float64(m.logitScale), 0) || m.logitScale == 0 {
		return nil, fmt.Errorf("tensor logit_scale is %v: exp(logit_scale) = %v cannot scale logits (CLIP checkpoints hold about 4.6, i.e. a scale of 100)", ls[0], m.logitScale)
	}
	m.weights = w
	if opt.Lazy {
		if err := f.checkShapes(); err != nil {
			return nil, err
		}
	} else {
		_, err := m.visionTower()
		if err == nil {
			_, err = m.textTower()
		}
		if err != nil {
			m.Close()
			return nil, err
		}
	}
	if opt.Pool != nil {
		m.pool = opt.Pool
	} else {
		m.pool = tensor.NewPool(opt.Threads)
		m.ownsPool = true
	}
	return m, nil
}

// Close waits for pack files being written (Options.PackCache), then
// releases the worker pool, any memory-mapped checkpoint and pack files.
func (m *Model) Close() error {
	m.saving.Wait()
	if m.ownsPool && m.pool != nil {
		m.pool.Close()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	m.closers, m.textFile = nil, nil
	return errors.Join(errs...)
}

// addCloser has Close close c.
func (m *Model) addCloser(c io.Closer) {
	m.mu.Lock()
	m.closers = append(m.closers, c)
	m.mu.Unlock()
}

// visionTower returns the vision tower, building it on first use.
func (m *Model) visionTower() (*visionTower, error) {
	m.visionOnce.Do(func() {
		pk := m.packer("vision")
		m.vision, m.visionErr = loadVision(&fetcher{w: m.weights, shapes: TensorShapes(m.cfg)}, pk, m.cfg, m.precision)
		m.saveTower(pk, m.visionErr)
	})
	return m.vision, m.visionErr
}

// textTower returns the text tower, building it on first use.
func (m *Model) textTower() (*textTower, error) {
	m.textOnce.Do(func() {
		pk := m.packer("text")
		m.text, m.textErr = loadText(&fetcher{w: m.weights, shapes: TensorShapes(m.cfg)}, pk, m.cfg, m.precision)
		if m.textErr == nil && pk.file != nil && !pk.packed {
			m.mu.Lock()
			m.textFile = pk.file
			m.mu.Unlock()
		}
		m.saveTower(pk, m.textErr)
	})
	return m.text, m.textErr
}

// ReleaseTextPages tells the system that the text tower's weights are not
// needed for now, where they are mapped from the pack cache
// (Options.PackCache): they leave the process's resident set and come
// back, from the page cache or the file, when a text is next encoded. A
// job that embeds its prompts first and then only images calls it after
// the prompts (goclip eval and classify do): for ViT-B/32 in float32, 150
// MB that the rest of the run does not read. Weights packed on the heap
// (no pack cache, or a tower packed by this load) stay as they are.
func (m *Model) ReleaseTextPages() error {
	m.mu.Lock()
	defer m.mu.Unlock() // Close unmaps the file under mu
	return m.textFile.ReleasePages()
}

// packer returns the packer of a tower, its pack file (if any) closed
// with the model.
func (m *Model) packer(tower string) *packer {
	pk := m.pack.newPacker(tower, m.precision)
	if pk.file != nil {
		m.addCloser(pk.file)
	}
	return pk
}

// saveTower writes a tower's pack file in the background once the tower is
// built (err nil) if it was packed; a failure to is logged, as the next
// load just packs again.
func (m *Model) saveTower(pk *packer, err error) {
	if err != nil {
		return
	}
	if pk.file != nil && !pk.packed {
		m.packHits.Add(1)
		return
	}
	m.saving.Go(func() {
		if err := pk.save(); err != nil {
			slog.Warn("pack cache: cannot save packed weights", "err", err)
		}
	})
}

// PackCacheHits is the number of towers built so far whose packed weights
// were mapped from the pack cache (Options.PackCache) rather than packed.
func (m *Model) PackCacheHits() int { return int(m.packHits.Load()) }

// Config returns the model's configuration (a copy).
func (m *Model) Config() Config { return m.cfg }

// LogitScale is exp(logit_scale): the factor between cosine similarity and logits.
func (m *Model) LogitScale() float32 { return m.logitScale }

// EmbedDim is the length of the (projected) embeddings.
func (m *Model) EmbedDim() int { return m.cfg.ProjectionDim }

// ImageSize is the side of the square pixel input the vision tower takes.
func (m *Model) ImageSize() int { return m.cfg.Vision.ImageSize }

// Tokenizer returns the model's tokenizer: the folder's vocabulary, or the
// built-in CLIP vocabulary for a model made with New.
func (m *Model) Tokenizer() (*tokenizer.Tokenizer, error) {
	m.tokOnce.Do(func() { m.tok, m.tokErr = tokenizer.Default() })
	return m.tok, m.tokErr
}

// ImageConfig returns the preprocessing the model expects: the folder's
// preprocessor_config.json, or CLIP's defaults at the model's image size.
func (m *Model) ImageConfig() imageproc.Config {
	if m.hasImage {
		return m.image
	}
	c := imageproc.DefaultConfig()
	s := m.cfg.Vision.ImageSize
	c.Size = imageproc.Size{ShortestEdge: s}
	c.CropSize = imageproc.Size{Height: s, Width: s}
	return c
}

// ErrTextTooLong is returned (wrapped) by EncodeTexts for a text of more
// tokens than the model's context, unless Options.TruncateTexts is set.
var ErrTextTooLong = errors.New("text too long")

// EncodeTexts tokenizes texts and returns their projected, unnormalised
// embeddings. A text longer than the model's context (77 tokens for CLIP,
// start and end included) is refused with ErrTextTooLong, as OpenAI's
// clip.tokenize refuses it, unless Options.TruncateTexts asks to cut it
// (the end token kept last, as clip.tokenize(truncate=True) does).
func (m *Model) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	tok, err := m.Tokenizer()
	if err != nil {
		return nil, err
	}
	n := m.cfg.Text.MaxPositionEmbeddings
	ids := make([][]int, len(texts))
	for i, s := range texts {
		if m.truncate {
			ids[i] = tok.EncodeContext(s, n)
			continue
		}
		if ids[i] = tok.EncodeContext(s, n+1); len(ids[i]) > n {
			short := s
			if len(short) > 60 {
				short = short[:60] + "…"
			}
			return nil, fmt.Errorf("%w: %q has more than the %d tokens of the model's context; shorten it, or ask for truncation (--truncate)", ErrTextTooLong, short, n)
		}
	}
	return m.EncodeTokens(ctx, ids)
}

// EncodeRGB preprocesses decoded images and returns their projected,
// unnormalised embeddings.
func (m *Model) EncodeRGB(ctx context.Context, images []*imageproc.RGB) ([][]float32, error) {
	pre := m.ImageConfig()
	pixels := make([][]float32, len(images))
	for i, img := range images {
		px, err := pre.Preprocess(img)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		pixels[i] = px
	}
	return m.EncodeImages(ctx, pixels)
}

// EncodeImages maps preprocessed images (CHW float32, channels × size ×
// size each, as imageproc produces) to projected, unnormalised embeddings:
// CLIPModel's image_embeds. Batches larger than Options.MaxBatch are split;
// the result does not depend on how images are batched.
func (m *Model) EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	vision, err := m.visionTower()
	if err != nil {
		return nil, err
	}
	p := m.cfg.ProjectionDim
	out := make([][]float32, 0, len(pixels))
	w := m.work.get()
	defer m.work.put(w)
	for lo := 0; lo < len(pixels); lo += m.maxBatch {
		hi := min(lo+m.maxBatch, len(pixels))
		buf := make([]float32, (hi-lo)*p)
		err := vision.forward(ctx, m.pool, w, pixels[lo:hi], buf)
		w.reset()
		if err != nil {
			return nil, fmt.Errorf("encode images: %w", err)
		}
		for i := 0; i < hi-lo; i++ {
			out = append(out, buf[i*p:(i+1)*p:(i+1)*p])
		}
	}
	return out, nil
}

// EncodeTokens maps token id sequences ([BOS] ... [EOS], as the tokenizer
// makes them) to projected, unnormalised embeddings: CLIPModel's text_embeds.
func (m *Model) EncodeTokens(ctx context.Context, ids [][]int) ([][]float32, error) {
	text, err := m.textTower()
	if err != nil {
		return nil, err
	}
	p := m.cfg.ProjectionDim
	out := make([][]float32, 0, len(ids))
	const maxSeqs = 256 // bounds the activation memory of one pass
	w := m.work.get()
	defer m.work.put(w)
	for lo := 0; lo < len(ids); lo += maxSeqs {
		hi := min(lo+maxSeqs, len(ids))
		buf := make([]float32, (hi-lo)*p)
		err := text.forward(ctx, m.pool, w, ids[lo:hi], buf)
		w.reset()
		if err != nil {
			return nil, fmt.Errorf("encode texts: %w", err)
		}
		for i := 0; i < hi-lo; i++ {
			out = append(out, buf[i*p:(i+1)*p:(i+1)*p])
		}
	}
	return out, nil
}

// Normalize returns v scaled to unit L2 norm (a copy; v is unchanged).
// A zero vector stays zero.
func Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}
