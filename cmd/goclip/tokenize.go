package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/goclip/goclip/tokenizer"
)

func runTokenize(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tokenize", "[--no-truncate] [--model DIR] TEXT...")
	noTrunc := fs.Bool("no-truncate", false, "do not truncate to the 77-token context")
	model := fs.String("model", "", "model folder whose vocab.json/merges.txt to use (default: the built-in CLIP vocabulary)")
	texts, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(texts) == 0 {
		fs.Usage()
		return errUsage
	}
	var tok *tokenizer.Tokenizer
	if *model != "" {
		tok, err = tokenizer.LoadDir(*model)
	} else {
		tok, err = tokenizer.Default()
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, t := range texts {
		ids := tok.Encode(t)
		if *noTrunc {
			ids = tok.EncodeNoTruncate(t)
		}
		if err := enc.Encode(struct {
			Text string `json:"text"`
			IDs  []int  `json:"ids"`
		}{t, ids}); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}
