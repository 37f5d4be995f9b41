package index

import (
	"context"
	"fmt"
	"os"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/clipretrieval"
	"github.com/goclip/goclip/npy"
)

// ImportStats says what Import did.
type ImportStats struct {
	Shards   int
	Imported int // rows read
	Replaced int // of which replaced an entry of the same path
	Images   int // in the index after the import
}

// Import adds the embeddings of a folder in clip-retrieval's layout
// (img_emb/img_emb_N.npy, float16 or float32, with metadata_N.parquet's
// image_path; what goclip-beam embed writes) to the index at path, made
// by the model whose fingerprint is model, named ref (the folder does not say;
// vectors of another length than dim are refused). Rows replace entries of
// the same path; the vectors are normalised again. Imported entries have
// no size or time: a later Build over their folder embeds them again.
//
// lists, when positive, gives the index an IVF of that many lists
// (BuildConfig.Lists).
func Import(ctx context.Context, path, dir, model, ref string, dim, lists int) (ImportStats, error) {
	var st ImportStats
	old, err := openExisting(path, model, dim)
	if err != nil {
		return st, err
	}
	if old != nil {
		defer old.Close()
	}
	shards, err := clipretrieval.Shards(dir)
	if err != nil {
		return st, err
	}
	byPath := map[string]int{}
	var rows []row
	if old != nil {
		for i := range old.Len() {
			e, err := old.Entry(i)
			if err != nil {
				return st, err
			}
			byPath[e.Path] = len(rows)
			rows = append(rows, row{e: e, old: old.Vector(i)})
		}
	}
	for _, sh := range shards {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		paths, err := clipretrieval.ReadImagePaths(sh.Metadata)
		if err != nil {
			return st, err
		}
		f, err := os.Open(sh.Embeddings)
		if err != nil {
			return st, err
		}
		h, vals, err := npy.Read(f)
		f.Close()
		if err != nil {
			return st, fmt.Errorf("%s: %w", sh.Embeddings, err)
		}
		if h.Cols != dim {
			return st, fmt.Errorf("%s: vectors of %d values, the model makes %d", sh.Embeddings, h.Cols, dim)
		}
		if h.Rows != len(paths) {
			return st, fmt.Errorf("%s: %d vectors, %s has %d rows", sh.Embeddings, h.Rows, sh.Metadata, len(paths))
		}
		for i, p := range paths {
			r := row{e: Entry{Path: p}, vec: ToF16(clip.Normalize(vals[i*dim : (i+1)*dim]))}
			if j, ok := byPath[p]; ok {
				rows[j] = r
				st.Replaced++
			} else {
				byPath[p] = len(rows)
				rows = append(rows, r)
			}
		}
		st.Shards++
		st.Imported += len(paths)
	}
	st.Images = len(rows)
	return st, writeRows(ctx, path, model, ref, dim, rows, lists)
}
