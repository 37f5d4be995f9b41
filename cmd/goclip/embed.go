package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/clip"
)

func runEmbed(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "embed", "[--model DIR|ID] [--raw] [--image PATH]... [--text STR]...")
	model := fs.String("model", defaultModel, modelFlagHelp)
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	truncate := fs.Bool("truncate", false, truncateFlagHelp)
	raw := fs.Bool("raw", false, "print the projected, unnormalised embeddings (image_embeds/text_embeds) instead of L2-normalised ones")
	var images, texts listFlag
	fs.Var(&images, "image", "an image file (repeatable)")
	fs.Var(&texts, "text", "a text (repeatable)")
	var imf imageFlags
	imf.register(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 || len(images)+len(texts) == 0 {
		if len(rest) > 0 {
			fmt.Fprintf(e.stderr, "goclip embed: unexpected argument %q (use --image or --text)\n", rest[0])
		} else {
			fmt.Fprintln(e.stderr, "goclip embed: nothing to embed: give --image FILE and/or --text TEXT")
		}
		fs.Usage()
		return errUsage
	}
	if err := imf.check(); err != nil {
		return badFlag(e, "embed", err)
	}
	opt, err := withPrecision(e, "embed", *precision, withModelCaches("", clip.Options{TruncateTexts: *truncate}))
	if err != nil {
		return err
	}
	m, _, err := loadModelWith(ctx, e, *model, opt)
	if err != nil {
		return err
	}
	limitHeap(m, false)
	defer m.Close()
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	type line struct {
		Kind      string    `json:"kind"`
		Input     string    `json:"input"`
		Embedding []float32 `json:"embedding"`
	}
	out := func(v []float32) []float32 {
		if *raw {
			return v
		}
		return clip.Normalize(v)
	}
	failed := 0
	err = embedFiles(ctx, m, images, imf, func(r batch.Result) error {
		if r.Err != nil {
			failed++
			reportError(e, r.Name, r.Err)
			return nil
		}
		return enc.Encode(line{"image", r.Name, out(r.Embedding)})
	})
	if err != nil {
		return err
	}
	if len(texts) > 0 {
		emb, err := m.EncodeTexts(ctx, texts)
		if err != nil {
			return err
		}
		for i, t := range texts {
			if err := enc.Encode(line{"text", t, out(emb[i])}); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "goclip embed: %d of %d images could not be read\n", failed, len(images))
		return errSilent
	}
	return nil
}
