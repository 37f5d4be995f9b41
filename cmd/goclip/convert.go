package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/tokenizer"
)

// runConvert writes a model, from any checkpoint goclip reads
// (pytorch_model.bin, OpenCLIP's files, OpenAI tensor names, F16/BF16),
// as a Hugging Face folder with model.safetensors: from then on it loads
// memory-mapped, without unpickling or renaming, here and in transformers.
func runConvert(ctx context.Context, e *env, args []string) error {
	flags := newFlags(e, "convert", "--model MODEL --out DIR [--dtype f32|f16|bf16] [--force]")
	model := flags.String("model", "", modelFlagHelp)
	out := flags.String("out", "", "the folder to write (created if needed)")
	dtypeName := flags.String("dtype", "f32", "element type of model.safetensors: f32, f16 or bf16")
	force := flags.Bool("force", false, "overwrite an existing model.safetensors in --out")
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *model == "" || *out == "" {
		fmt.Fprintln(e.stderr, "goclip convert: want --model and --out, and no arguments")
		flags.Usage()
		return errUsage
	}
	dtype, err := parseDType(*dtypeName)
	if err != nil {
		fmt.Fprintf(e.stderr, "goclip convert: %v\n", err)
		return errUsage
	}
	src, err := resolveModel(ctx, e, *model)
	if err != nil {
		return err
	}
	res, err := convertModel(ctx, src, *out, dtype, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d tensors, %s as %v, from %s\n", filepath.Join(*out, "model.safetensors"),
		res.tensors, humanBytes(res.bytes), dtype, res.source)
	if res.maxDiff == 0 {
		fmt.Fprintf(e.stdout, "checked: the new folder gives identical embeddings\n")
	} else {
		fmt.Fprintf(e.stdout, "checked: embeddings within %.3g (max |Δ|) of the original, %.2g relative\n", res.maxDiff, res.relDiff)
	}
	if !res.tokenizer {
		fmt.Fprintf(e.stdout, "note: %s has no vocab.json/merges.txt; goclip uses its built-in CLIP vocabulary for the new folder too\n", src)
	}
	return nil
}

func parseDType(s string) (checkpoint.DType, error) {
	switch strings.ToLower(s) {
	case "f32", "float32", "fp32":
		return checkpoint.F32, nil
	case "f16", "float16", "fp16", "half":
		return checkpoint.F16, nil
	case "bf16", "bfloat16":
		return checkpoint.BF16, nil
	}
	return checkpoint.Invalid, fmt.Errorf("--dtype %q: want f32, f16 or bf16", s)
}

// convertResult describes a finished conversion.
type convertResult struct {
	source           string // the weight file read
	tensors          int
	bytes            int64 // size of model.safetensors
	maxDiff, relDiff float64
	tokenizer        bool // tokenizer files were copied
}

// convertModel writes the model of folder src to folder out. It loads the
// source model first (so an unreadable model fails before anything is
// written), writes model.safetensors with Hugging Face names, config.json
// with every field explicit, preprocessor_config.json and the tokenizer
// files, each atomically, and finally loads the new folder and checks its
// embeddings of a probe image and prompt against the source's.
func convertModel(ctx context.Context, src, out string, dtype checkpoint.DType, force bool) (convertResult, error) {
	var res convertResult
	if same, err := sameDir(src, out); err != nil {
		return res, err
	} else if same {
		return res, fmt.Errorf("--out %s is the model folder itself: write to a new folder", out)
	}
	target := filepath.Join(out, "model.safetensors")
	if _, err := os.Stat(target); err == nil && !force {
		return res, fmt.Errorf("%s exists (use --force to overwrite it)", target)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}

	m, err := clip.Load(src, clip.Options{})
	if err != nil {
		return res, err
	}
	cfg, pre := m.Config, m.ImageConfig()
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
	res.source = store.Path()
	w, err := clip.CheckpointWeights(store, cfg)
	if err != nil {
		return res, err
	}
	shapes := clip.TensorShapes(cfg)
	var tensors []checkpoint.NamedTensor
	for _, name := range clip.TensorNames(cfg) {
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
	res.tensors = len(tensors)
	if fi, err := os.Stat(target); err == nil {
		res.bytes = fi.Size()
	}
	store.Close()

	cj, err := clip.FormatConfig(cfg, map[checkpoint.DType]string{checkpoint.F32: "float32", checkpoint.F16: "float16", checkpoint.BF16: "bfloat16"}[dtype])
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
		res.tokenizer = res.tokenizer || name == "vocab.json"
	}

	m2, err := clip.Load(out, clip.Options{})
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
		res.maxDiff = math.Max(res.maxDiff, math.Abs(float64(g-v)))
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale > 0 {
		res.relDiff = res.maxDiff / scale
	}
	if dtype == checkpoint.F32 && res.maxDiff != 0 || res.relDiff > 0.25 { // rounding to F16/BF16 moves embeddings by a few percent at most; a wrong mapping, by their size
		return res, fmt.Errorf("the converted folder's embeddings differ from the original's by %g (max |Δ|): please report this", res.maxDiff)
	}
	return res, nil
}

// probe embeds a fixed synthetic image (a gradient, already at the model's
// input size and roughly normalised) and a prompt.
func probe(ctx context.Context, m *clip.Model) (img, txt []float32, err error) {
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
