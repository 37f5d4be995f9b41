package pipeline

import (
	"context"
	"io"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/clipretrieval"
	"github.com/goclip/goclip/npy"
)

// embedFn embeds one shard and writes its two files of clip-retrieval's
// layout: img_emb/img_emb_N.npy (L2-normalised rows) and
// metadata/metadata_N.parquet (the same rows, in the same order).
type embedFn struct {
	Worker
	Output string
	DType  string // npy.Float16 or npy.Float32
}

func (f *embedFn) Setup(ctx context.Context) error { return f.setup(ctx) }
func (f *embedFn) Teardown()                       { f.teardown() }

func (f *embedFn) ProcessElement(ctx context.Context, s Shard, emit func(Part)) error {
	// The shard's images are embedded in this process's turn; its files
	// are written while the next shard's images are.
	done, err := f.wait(ctx)
	if err != nil {
		return err
	}
	part := Part{Shard: s.N}
	var rows [][]float32
	meta := clipretrieval.NewTable("image_path")
	err = f.embed(ctx, s, &part, func(in *input, emb []float32) error {
		rows = append(rows, clip.Normalize(emb))
		meta.Add(in.meta)
		return nil
	})
	done()
	if err != nil {
		return err
	}
	dim := f.model.EmbedDim()
	if err := writeFile(ctx, f.Output, clipretrieval.EmbeddingsFile(s.N, s.Count), func(w io.Writer) error {
		return npy.Write(w, npy.DType(f.DType), dim, rows)
	}); err != nil {
		return err
	}
	if err := writeFile(ctx, f.Output, clipretrieval.MetadataFile(s.N, s.Count), meta.WriteParquet); err != nil {
		return err
	}
	emit(part)
	return nil
}
