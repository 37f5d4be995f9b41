package clip

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/tokenizer"
)

// extra holds what goes with the bare towers: the tokenizer and the image
// preprocessing of the model folder, and batching limits.
type extra struct {
	maxBatch int

	tokOnce sync.Once
	tok     *tokenizer.Tokenizer
	tokErr  error

	image    imageproc.Config
	hasImage bool
}

// Load reads a model folder laid out like a Hugging Face CLIP repository:
// config.json, preprocessor_config.json, vocab.json + merges.txt, and the
// weights (model.safetensors, a sharded index, or pytorch_model.bin; see
// checkpoint.SearchOrder). A folder without tokenizer files uses the CLIP
// vocabulary built into goclip; one without preprocessor_config.json uses
// CLIP's preprocessing at the model's image size. OpenCLIP folders load
// too: open_clip_config.json stands in for config.json, and checkpoints with
// OpenAI/OpenCLIP tensor names are mapped (see CheckpointWeights).
func Load(dir string, opt Options) (*Model, error) {
	m, err := load(dir, opt)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return m, nil
}

func load(dir string, opt Options) (*Model, error) {
	cfg, ocPre, occ, err := folderConfig(dir) // config.json, else open_clip_config.json (openclip.go)
	if err != nil {
		return nil, err
	}
	pre := imageproc.DefaultConfig()
	pre.Size = imageproc.Size{ShortestEdge: cfg.Vision.ImageSize}
	pre.CropSize = imageproc.Size{Height: cfg.Vision.ImageSize, Width: cfg.Vision.ImageSize}
	if ocPre != nil {
		pre = *ocPre
	}
	if p := filepath.Join(dir, "preprocessor_config.json"); exists(p) {
		if pre, err = imageproc.LoadConfig(p); err != nil {
			return nil, err
		}
	}
	if h, w := pre.OutputSize(); h != cfg.Vision.ImageSize || w != cfg.Vision.ImageSize {
		return nil, fmt.Errorf("preprocessor_config.json makes %dx%d images, the vision tower takes %dx%d",
			w, h, cfg.Vision.ImageSize, cfg.Vision.ImageSize)
	}
	var tok *tokenizer.Tokenizer
	if exists(filepath.Join(dir, "vocab.json")) || exists(filepath.Join(dir, "merges.txt")) {
		if tok, err = tokenizer.LoadDir(dir); err != nil {
			return nil, err
		}
	} else {
		slog.Debug("model folder has no vocab.json/merges.txt: using the built-in CLIP vocabulary", "dir", dir)
	}
	store, err := checkpoint.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	w, err := CheckpointWeights(store, cfg) // Hugging Face or OpenAI/OpenCLIP names (openclip.go)
	if err != nil {
		store.Close()
		return nil, err
	}
	m, err := newModel(cfg, w, opt, false)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("%s: %w", store.Path(), err)
	}
	m.closers = append(m.closers, store)
	checkpoint.ReleasePages(store) // what is still read (token embedding rows) comes back on demand
	if m.fingerprint, err = folderFingerprint(dir, store.Path()); err != nil {
		m.Close()
		return nil, err
	}
	m.fingerprint = withOpenCLIPConfig(m.fingerprint, occ)
	m.image, m.hasImage = pre, true
	if tok != nil {
		m.tokOnce.Do(func() { m.tok = tok })
	}
	return m, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// StoreWeights adapts a checkpoint.Store to Weights.
type StoreWeights struct{ checkpoint.Store }

// ReleasePages drops the resident pages of a memory-mapped checkpoint;
// New calls it as it packs the weights.
func (s StoreWeights) ReleasePages() error { return checkpoint.ReleasePages(s.Store) }

// TensorShape returns a tensor's shape from the checkpoint's header.
func (s StoreWeights) TensorShape(name string) ([]int, error) {
	t, ok := s.Store.Tensor(name)
	if !ok {
		return nil, ErrTensorNotFound
	}
	return t.Shape, nil
}

// Tensor implements Weights.
func (s StoreWeights) Tensor(name string) ([]int, []float32, error) {
	t, ok := s.Store.Tensor(name)
	if !ok {
		return nil, nil, ErrTensorNotFound
	}
	data, err := t.Float32()
	if err != nil {
		return nil, nil, err
	}
	return t.Shape, data, nil
}

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
	s := m.Config.Vision.ImageSize
	c.Size = imageproc.Size{ShortestEdge: s}
	c.CropSize = imageproc.Size{Height: s, Width: s}
	return c
}

// EncodeTexts tokenizes texts (truncating to the context length, EOS
// kept last) and returns their projected, unnormalised embeddings.
func (m *Model) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	tok, err := m.Tokenizer()
	if err != nil {
		return nil, err
	}
	ids := make([][]int, len(texts))
	for i, s := range texts {
		ids[i] = tok.EncodeContext(s, m.Config.Text.MaxPositionEmbeddings)
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
