package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/index"
	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/npy"
)

func runSearch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "search", `[--model DIR|ID] [--index FILE] [--top K] [--json] [--html OUT] QUERY | --image PATH | --vector FILE.npy`,
		`QUERY is a text, or terms joined by + and -: "a dog" + "snow" - "grass", 2*"snow", image:PATH.`)
	model := fs.String("model", defaultModel, modelFlagHelp+" (default: the model the index was made with)")
	indexFlag := fs.String("index", "", indexFlagHelp)
	top := fs.Int("top", 10, "number of results")
	asJSON := fs.Bool("json", false, "one JSON object per line: rank, path, score")
	html := fs.String("html", "", "also write a page of the results with thumbnails to this file")
	var images listFlag
	fs.Var(&images, "image", "find images like this one (repeatable; added to QUERY)")
	vector := fs.String("vector", "", "search with a raw embedding: a .npy file of one row (float16 or float32)")
	threads := fs.Int("threads", 0, "goroutines scanning the index (0: GOMAXPROCS)")
	nprobe := fs.Int("nprobe", 0, "approximate search: scan only the rows of the NPROBE inverted-file lists nearest the query (an index built with --ivf); 0: exact, every row")
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *top < 1 {
		return badFlag(e, "search", fmt.Errorf("--top %d: want at least 1", *top))
	}
	if *nprobe < 0 {
		return badFlag(e, "search", fmt.Errorf("--nprobe %d: want 0 (exact) or a number of lists", *nprobe))
	}
	query := strings.Join(rest, " ")
	if (*vector != "") == (query != "" || len(images) > 0) {
		fmt.Fprintln(e.stderr, "goclip search: give a QUERY and/or --image, or --vector alone")
		fs.Usage()
		return errUsage
	}
	path, err := indexPath(*indexFlag)
	if err != nil {
		return err
	}
	x, err := index.Open(path)
	if err != nil {
		return err
	}
	defer x.Close()

	var q []float32
	var pipe *imageproc.Pipeline
	if *vector != "" {
		if q, err = readVector(*vector); err != nil {
			return err
		}
		query = *vector
	} else {
		var terms []index.Term
		if query != "" {
			if terms, err = index.ParseQuery(query); err != nil {
				return err
			}
		}
		for _, im := range images {
			terms = append(terms, index.Term{Weight: 1, Image: im})
			query = strings.TrimSpace(query + " image:" + im)
		}
		// Lazy: only the towers the query needs are built, after the
		// model is checked against the index.
		opt, err := withPrecision(e, "search", *precision, withModelCaches("", clip.Options{Lazy: true}))
		if err != nil {
			return err
		}
		m, _, err := loadModelWith(ctx, e, searchModel(fs, *model, x), opt)
		if err != nil {
			return err
		}
		defer m.Close()
		if err := x.CheckModel(m.Fingerprint()); err != nil {
			return err
		}
		if pipe, err = imageproc.NewPipeline(m.ImageConfig(), imageproc.Limits{}); err != nil {
			return err
		}
		if q, err = index.QueryVector(ctx, m, pipe, terms); err != nil {
			return err
		}
	}
	t0 := time.Now()
	var hits []index.Hit
	if *nprobe > 0 {
		hits, err = x.SearchApprox(ctx, q, *top, *nprobe, *threads)
	} else {
		hits, err = x.Search(ctx, q, *top, *threads)
	}
	if err != nil {
		return err
	}
	took := time.Since(t0)
	if err := printHits(e.stdout, hits, *asJSON); err != nil {
		return err
	}
	if *nprobe > 0 {
		fmt.Fprintf(e.stderr, "goclip search: approximate, %d of %d lists probed, in %s\n", min(*nprobe, x.Lists()), x.Lists(), took.Round(10*time.Microsecond))
	} else {
		fmt.Fprintf(e.stderr, "goclip search: %d images scanned in %s\n", x.Len(), took.Round(10*time.Microsecond))
	}
	if *html != "" {
		if pipe == nil {
			if pipe, err = imageproc.NewPipeline(imageproc.DefaultConfig(), imageproc.Limits{}); err != nil {
				return err
			}
		}
		if err := atomicfile.Write(*html, 0o644, func(w io.Writer) error { return index.WriteHTML(ctx, w, query, hits, pipe) }); err != nil {
			return err
		}
	}
	return nil
}

func printHits(w io.Writer, hits []index.Hit, asJSON bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, h := range hits {
		var err error
		if asJSON {
			err = enc.Encode(struct {
				Rank  int     `json:"rank"`
				Path  string  `json:"path"`
				Score float32 `json:"score"`
			}{i + 1, h.Path, h.Score})
		} else {
			_, err = fmt.Fprintf(w, "%3d  %.4f  %s\n", i+1, h.Score, h.Path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readVector reads a query embedding: a .npy of one row, or of shape (1, d).
func readVector(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, v, err := npy.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Rows != 1 {
		return nil, fmt.Errorf("%s: %d rows, want one embedding", path, h.Rows)
	}
	return v, nil
}
