package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
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
	res, err := clip.Convert(ctx, src, *out, dtype, *force)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w (use --force to overwrite it)", err)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d tensors, %s as %v, from %s\n", filepath.Join(*out, "model.safetensors"),
		res.Tensors, humanBytes(res.Bytes), dtype, res.Source)
	if res.MaxDiff == 0 {
		fmt.Fprintf(e.stdout, "checked: the new folder gives identical embeddings\n")
	} else {
		fmt.Fprintf(e.stdout, "checked: embeddings within %.3g (max |Δ|) of the original, %.2g relative\n", res.MaxDiff, res.RelDiff)
	}
	if !res.Tokenizer {
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
