package clip

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/tokenizer"
)

// ConvertResult describes a finished Convert.
type ConvertResult struct {
	Source           string // the weight file read
	Tensors          int
	Bytes            int64   // size of model.safetensors
	MaxDiff, RelDiff float64 // of the new folder's probe embeddings to the source's
	Tokenizer        bool    // tokenizer files were copied
}

// Convert writes the model of folder src, from any checkpoint Load reads
// (pytorch_model.bin, OpenCLIP's files, OpenAI tensor names, F16/BF16), as
// a Hugging Face folder out with model.safetensors of dtype: from then on
// it loads memory-mapped, without unpickling or renaming, here and in
// transformers. It loads the source model first (so an unreadable model
// fails before anything is written), writes model.safetensors with Hugging
// Face names, config.json with every field explicit,
// preprocessor_config.json and the tokenizer files, each atomically, and
// finally loads the new folder and checks its embeddings of a probe image
// and prompt against the source's. An existing out/model.safetensors is
// replaced only with overwrite (otherwise the error wraps fs.ErrExist).
func Convert(ctx context.Context, src, out string, dtype checkpoint.DType, overwrite bool) (ConvertResult, error) {
	var res ConvertResult
	if same, err := sameDir(src, out); err != nil {
		return res, err
	} else if same {
		return res, fmt.Errorf("%s is the model folder itself: write to a new folder", out)
	}
	target := filepath.Join(out, "model.safetensors")
	if _, err := os.Stat(target); err == nil && !overwrite {
		return res, fmt.Errorf("%s: %w", target, fs.ErrExist)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}

	m, err := Load(src, Options{})
	if err != nil {
		return res, err
	}
	cfg, pre := m.Config(), m.ImageConfig()
	wantImg, wantTxt, err := probe(ctx, m)
	m.Close()
	if err != nil {
		return res, err
	}

	store, err := checkpoint.OpenDir(src)
	if err != nil {
		return res, err
	}
	defer store.Close()
	res.Source = store.Path()
	w, err := CheckpointWeights(store, cfg)
	if err != nil {
		return res, err
	}
	shapes := TensorShapes(cfg)
	var tensors []checkpoint.NamedTensor
	for _, name := range TensorNames(cfg) {
		_, data, err := w.Tensor(name)
		if err != nil {
			return res, fmt.Errorf("%s: tensor %s: %w", store.Path(), name, err)
		}
		// The shapes were checked by Load; writing the config's shape also
		// turns a [1] logit_scale into the [] transformers saves.
		tensors = append(tensors, checkpoint.NamedTensor{Name: name, Shape: shapes[name], Data: data})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return res, err
	}
	meta := map[string]string{"format": "pt", "converted_by": "goclip convert", "source": filepath.Base(store.Path())}
	if err := checkpoint.WriteSafetensors(target, tensors, dtype, meta); err != nil {
		return res, err
	}
	res.Tensors = len(tensors)
	if fi, err := os.Stat(target); err == nil {
		res.Bytes = fi.Size()
	}
	store.Close()

	cj, err := FormatConfig(cfg, map[checkpoint.DType]string{checkpoint.F32: "float32", checkpoint.F16: "float16", checkpoint.BF16: "bfloat16"}[dtype])
	if err != nil {
		return res, err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "config.json"), cj, 0o644); err != nil {
		return res, err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "preprocessor_config.json"), imageproc.FormatConfig(pre), 0o644); err != nil {
		return res, err
	}
	for _, name := range tokenizer.Files() { // copied when the source has them
		b, err := os.ReadFile(filepath.Join(src, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return res, err
		}
		if err := atomicfile.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return res, err
		}
		res.Tokenizer = res.Tokenizer || name == "vocab.json"
	}

	m2, err := Load(out, Options{})
	if err != nil {
		return res, fmt.Errorf("the converted folder does not load: %w", err)
	}
	defer m2.Close()
	gotImg, gotTxt, err := probe(ctx, m2)
	if err != nil {
		return res, err
	}
	var scale float64
	for i, v := range append(wantImg, wantTxt...) {
		g := append(gotImg, gotTxt...)[i]
		res.MaxDiff = math.Max(res.MaxDiff, math.Abs(float64(g-v)))
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale > 0 {
		res.RelDiff = res.MaxDiff / scale
	}
	if dtype == checkpoint.F32 && res.MaxDiff != 0 || res.RelDiff > 0.25 { // rounding to F16/BF16 moves embeddings by a few percent at most; a wrong mapping, by their size
		return res, fmt.Errorf("the converted folder's embeddings differ from the original's by %g (max |Δ|): please report this", res.MaxDiff)
	}
	return res, nil
}

// probe embeds a fixed synthetic image (a gradient, already at the model's
// input size and roughly normalised) and a prompt.
func probe(ctx context.Context, m *Model) (img, txt []float32, err error) {
	s := m.ImageSize()
	px := make([]float32, 3*s*s)
	for i := range px {
		px[i] = float32(math.Sin(float64(i)*0.001)) * 1.5
	}
	imgs, err := m.EncodeImages(ctx, [][]float32{px})
	if err != nil {
		return nil, nil, err
	}
	txts, err := m.EncodeTexts(ctx, []string{"a photo of a cat"})
	if err != nil {
		return nil, nil, err
	}
	return imgs[0], txts[0], nil
}

// sameDir reports whether a and b name the same existing folder.
func sameDir(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}
