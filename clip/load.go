package clip

import (
	"fmt"
	"path/filepath"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/tensor"
)

// Load reads a model folder laid out like a Hugging Face CLIP repository:
// config.json, preprocessor_config.json, vocab.json + merges.txt, and the
// weights (model.safetensors, a sharded index, or pytorch_model.bin; see
// checkpoint.SearchOrder). A folder without tokenizer files uses the CLIP
// vocabulary built into goclip; one without preprocessor_config.json uses
// CLIP's preprocessing at the model's image size. OpenCLIP folders load
// too: open_clip_config.json stands in for config.json, and checkpoints with
// OpenAI/OpenCLIP tensor names are mapped (see CheckpointWeights).
//
// The model's fingerprint hashes every byte of every file Load reads, and
// no other file (see Model.Fingerprint); Options.HashMemo saves re-reading
// unchanged weights on later loads.
func Load(dir string, opt Options) (*Model, error) {
	m, err := load(dir, opt)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return m, nil
}

func load(dir string, opt Options) (*Model, error) {
	if err := tensor.KernelsError(); err != nil {
		return nil, err
	}
	f, err := readFolder(dir)
	if err != nil {
		return nil, err
	}
	store, err := checkpoint.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	w, err := CheckpointWeights(store, f.cfg) // Hugging Face or OpenAI/OpenCLIP names (weights_openai.go)
	if err != nil {
		store.Close()
		return nil, err
	}
	// The weight files are hashed while the towers are built, unless the
	// pack cache, which is keyed by the fingerprint, needs it first.
	type sum struct {
		fp  string
		err error
	}
	fpc := make(chan sum, 1)
	go func() {
		fp, err := folderFingerprint(f, checkpoint.Files(store), opt.HashMemo)
		fpc <- sum{fp, err}
	}()
	var fp sum
	if opt.PackCache != "" {
		if fp = <-fpc; fp.err != nil {
			store.Close()
			return nil, fp.err
		}
	}
	source, aerr := filepath.Abs(f.dir) // names the pack files
	if aerr != nil {
		source = f.dir
	}
	m, err := newModel(f.cfg, w, opt, source, fp.fp)
	if opt.PackCache == "" {
		fp = <-fpc
	}
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("%s: %w", store.Path(), err)
	}
	m.addCloser(store)
	checkpoint.ReleasePages(store) // what is still read (token embedding rows) comes back on demand
	if fp.err != nil {
		m.Close()
		return nil, fp.err
	}
	m.fingerprint = fp.fp
	m.image, m.hasImage = f.pre, true
	if f.tok != nil {
		m.tokOnce.Do(func() { m.tok = f.tok })
	}
	return m, nil
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
