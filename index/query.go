package index

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// Term is one part of a query: a text or an image, with a weight.
type Term struct {
	Weight float64
	Text   string
	Image  string // a file; Text is empty
}

// ParseQuery reads a search query. Without a double quote it is one text.
// Otherwise it is terms joined by + and -, in rclip's spirit: each a
// quoted text or image:PATH (PATH up to the next space), optionally
// weighted as 2*"snow" or 0.5*image:a.jpg:
//
//	"a dog" + "snow" - "grass"
//	"a red car" + 2*image:mine.jpg
//
// A quote inside a text is written \".
func ParseQuery(s string) ([]Term, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty query")
	}
	if !strings.Contains(s, `"`) && !strings.HasPrefix(s, "image:") {
		return []Term{{Weight: 1, Text: s}}, nil
	}
	var terms []Term
	rest := s
	sign := 1.0
	for first := true; ; first = false {
		rest = strings.TrimSpace(rest)
		if !first {
			if rest == "" {
				break
			}
			switch rest[0] {
			case '+':
				sign = 1
			case '-':
				sign = -1
			default:
				return nil, fmt.Errorf("query %q: want + or - before %q", s, rest)
			}
			rest = strings.TrimSpace(rest[1:])
		}
		w := 1.0
		if i := strings.IndexByte(rest, '*'); i > 0 && !strings.ContainsAny(rest[:i], `" `) {
			v, err := strconv.ParseFloat(rest[:i], 64)
			if err != nil {
				return nil, fmt.Errorf("query %q: weight %q is not a number", s, rest[:i])
			}
			w, rest = v, strings.TrimSpace(rest[i+1:])
		}
		t := Term{Weight: sign * w}
		switch {
		case strings.HasPrefix(rest, `"`):
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) && rest[i+1] == '"' {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i == len(rest) {
				return nil, fmt.Errorf("query %q: unclosed quote", s)
			}
			t.Text, rest = b.String(), rest[i+1:]
			if strings.TrimSpace(t.Text) == "" {
				return nil, fmt.Errorf("query %q: empty text", s)
			}
		case strings.HasPrefix(rest, "image:"):
			end := strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
			t.Image, rest = rest[len("image:"):end], rest[end:]
			if t.Image == "" {
				return nil, fmt.Errorf("query %q: image: without a file", s)
			}
		default:
			return nil, fmt.Errorf("query %q: want a quoted text or image:PATH at %q", s, rest)
		}
		terms = append(terms, t)
	}
	return terms, nil
}

// QueryVector embeds the terms with enc (images through p) and returns the
// normalised weighted sum of their normalised embeddings.
func QueryVector(ctx context.Context, enc clip.Encoder, p *imageproc.Pipeline, terms []Term) ([]float32, error) {
	var texts, images []string
	for _, t := range terms {
		if t.Image != "" {
			images = append(images, t.Image)
		} else {
			texts = append(texts, t.Text)
		}
	}
	embs := map[string][]float32{}
	if len(texts) > 0 {
		out, err := enc.EncodeTexts(ctx, texts)
		if err != nil {
			return nil, err
		}
		for i, t := range texts {
			embs["t:"+t] = out[i]
		}
	}
	if len(images) > 0 {
		_, err := batch.Embed(ctx, batch.Config{Encoder: enc, Pipeline: p}, batch.Files(images), func(r batch.Result) error {
			if r.Err != nil {
				return r.Err
			}
			embs["i:"+r.Name] = r.Embedding
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	per := make([][]float32, len(terms))
	for i, t := range terms {
		per[i] = embs["t:"+t.Text]
		if t.Image != "" {
			per[i] = embs["i:"+t.Image]
		}
	}
	return Combine(terms, per)
}

// ErrTermsCancel reports a query whose weighted terms sum to zero.
var ErrTermsCancel = errors.New("the query's terms cancel out")

// Combine is the query vector of terms whose embeddings are embs (one per
// term, in the same order): the normalised weighted sum of the normalised
// embeddings. It fails with ErrTermsCancel when they sum to zero.
func Combine(terms []Term, embs [][]float32) ([]float32, error) {
	if len(terms) == 0 || len(embs) != len(terms) {
		return nil, fmt.Errorf("index: %d embeddings for %d query terms", len(embs), len(terms))
	}
	sum := make([]float32, len(embs[0]))
	for i, t := range terms {
		for j, v := range clip.Normalize(embs[i]) {
			sum[j] += float32(t.Weight) * v
		}
	}
	v := clip.Normalize(sum)
	for _, x := range v {
		if x != 0 {
			return v, nil
		}
	}
	return nil, ErrTermsCancel
}
