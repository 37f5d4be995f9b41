package clip

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// textTower is CLIPTextTransformer followed by text_projection: token and
// position embeddings, the causal encoder, final_layer_norm of the pooled
// token, projection.
type textTower struct {
	cfg            TextConfig
	tokenEmbedding []float32 // [vocab, d], read row by row (may alias a memory-mapped file)
	positions      []float32 // [max_positions, d]
	encoder        *encoder
	finalLayerNorm layerNorm
	projection     *tensor.Matrix // text_projection [proj, d]
}

func loadText(f *fetcher, pk *packer, c Config, prec Precision) (*textTower, error) {
	tc := c.Text
	t := &textTower{cfg: tc}
	get := f.take
	t.tokenEmbedding = f.takeUnscanned("text_model.embeddings.token_embedding.weight") // rows checked as they are read
	t.positions = get("text_model.embeddings.position_embedding.weight")
	t.finalLayerNorm = layerNorm{get("text_model.final_layer_norm.weight"), get("text_model.final_layer_norm.bias"), float32(tc.LayerNormEps)}
	err := f.err
	if err != nil {
		return nil, err
	}
	if t.projection, err = pk.tensorMatrix(f, "text_projection.weight", false, c.ProjectionDim, tc.HiddenSize); err != nil {
		return nil, err
	}
	t.encoder, err = loadEncoder(f, pk, prec, "text_model", tc.NumHiddenLayers, tc.HiddenSize, tc.IntermediateSize,
		tc.NumAttentionHeads, tc.HiddenAct, tc.LayerNormEps, true)
	return t, err
}

// poolIndex is the position whose hidden state becomes the text embedding,
// chosen as CLIPTextTransformer chooses it: with eos_token_id 2 (the legacy
// OpenAI configs) the first occurrence of the largest id, otherwise the
// first occurrence of eos_token_id (0 when there is none, as torch's argmax
// of an all-false mask gives).
func (t *textTower) poolIndex(ids []int) int {
	best := 0
	if t.cfg.EOSTokenID == 2 {
		for i, id := range ids {
			if id > ids[best] {
				best = i
			}
		}
		return best
	}
	for i, id := range ids {
		if id == t.cfg.EOSTokenID {
			return i
		}
	}
	return 0
}

// forward maps token id sequences to projected, unnormalised embeddings,
// written to out (len(seqs) × proj). Attention is causal, so every position
// after the pooled one is dropped before the encoder runs: the embedding is
// unchanged and the work shrinks to what is needed.
func (t *textTower) forward(ctx context.Context, pool *tensor.Pool, w *workspace, seqs [][]int, out []float32) error {
	d := t.cfg.HiddenSize
	bounds := make([]int, len(seqs)+1)
	for i, ids := range seqs {
		if len(ids) == 0 {
			return fmt.Errorf("text %d: no tokens", i)
		}
		if len(ids) > t.cfg.MaxPositionEmbeddings {
			return fmt.Errorf("text %d: %d tokens, the model takes at most %d", i, len(ids), t.cfg.MaxPositionEmbeddings)
		}
		for _, id := range ids {
			if id < 0 || id >= t.cfg.VocabSize {
				return fmt.Errorf("text %d: token id %d outside the vocabulary of %d", i, id, t.cfg.VocabSize)
			}
		}
		bounds[i+1] = bounds[i] + t.poolIndex(ids) + 1
	}
	rows := bounds[len(seqs)]
	w.reserve(rows*d + t.encoder.workFloats(rows, len(seqs)) + len(seqs)*d) // x, encoder, pooled
	x := w.floats(rows * d)
	for i, ids := range seqs {
		for pos := 0; pos < bounds[i+1]-bounds[i]; pos++ {
			row := x[(bounds[i]+pos)*d : (bounds[i]+pos+1)*d]
			tok := t.tokenEmbedding[ids[pos]*d : (ids[pos]+1)*d]
			if j := nonFinite(tok); j >= 0 {
				return fmt.Errorf("tensor text_model.embeddings.token_embedding.weight holds %v in the row of token %d: the weights are damaged", tok[j], ids[pos])
			}
			pe := t.positions[pos*d : (pos+1)*d]
			for j := range row {
				row[j] = tok[j] + pe[j]
			}
		}
	}
	last := make([]int, len(seqs)) // the pooled token ends each (cut) sequence
	for i := range seqs {
		last[i] = bounds[i+1] - 1
	}
	hidden, err := t.encoder.forward(ctx, pool, w, x, bounds, last)
	if err != nil {
		return err
	}
	pooled := w.floats(len(seqs) * d)
	t.finalLayerNorm.apply(pooled, hidden, len(seqs))
	pool.Linear(out, pooled, len(seqs), t.projection, tensor.Epilogue{})
	return nil
}
