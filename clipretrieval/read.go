package clipretrieval

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Shard is one shard of a folder in this layout: its embeddings and its
// metadata file.
type Shard struct {
	ID         string // as in the file names: "07"
	Embeddings string
	Metadata   string
}

// Shards lists the shards of the folder dir, in file name order (the
// order embedding-reader reads them). An embeddings file without its
// metadata file, or the other way round, is an error naming it.
func Shards(dir string) ([]Shard, error) {
	embs, err := filepath.Glob(filepath.Join(dir, EmbeddingsDir, "img_emb_*.npy"))
	if err != nil {
		return nil, err
	}
	metas, err := filepath.Glob(filepath.Join(dir, MetadataDir, "metadata_*.parquet"))
	if err != nil {
		return nil, err
	}
	if len(embs) == 0 {
		return nil, fmt.Errorf("%s: no %s/img_emb_*.npy (not a clip-retrieval embeddings folder)", dir, EmbeddingsDir)
	}
	id := func(p, prefix, ext string) string {
		return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), prefix), ext)
	}
	meta := map[string]string{}
	for _, m := range metas {
		meta[id(m, "metadata_", ".parquet")] = m
	}
	slices.Sort(embs)
	var out []Shard
	for _, e := range embs {
		n := id(e, "img_emb_", ".npy")
		m, ok := meta[n]
		if !ok {
			return nil, fmt.Errorf("%s: no metadata file %s for it", e, filepath.Join(dir, MetadataDir, "metadata_"+n+".parquet"))
		}
		delete(meta, n)
		out = append(out, Shard{ID: n, Embeddings: e, Metadata: m})
	}
	for n, m := range meta {
		return nil, fmt.Errorf("%s: no embeddings file img_emb_%s.npy for it", m, n)
	}
	return out, nil
}

// ReadImagePaths reads the image_path column of a metadata file, in row
// order. A row without one is an error.
func ReadImagePaths(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type row struct {
		ImagePath *string `parquet:"image_path,optional"`
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := f.Schema().Lookup("image_path"); !ok {
		return nil, fmt.Errorf("%s: no image_path column", path)
	}
	rows, err := parquet.Read[row](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		if r.ImagePath == nil {
			return nil, fmt.Errorf("%s: row %d has no image_path", path, i)
		}
		out[i] = *r.ImagePath
	}
	return out, nil
}
