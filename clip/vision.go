package clip

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/tensor"
)

// visionTower is CLIPVisionTransformer followed by visual_projection: patch
// embedding (a stride-p convolution without bias, computed as one GEMM over
// the image's patches), class token, position embeddings, pre_layrnorm, the
// encoder, post_layernorm of the class token, projection.
type visionTower struct {
	cfg            VisionConfig
	patchEmbedding *tensor.Matrix // [d, channels·p·p]
	classEmbedding []float32      // [d]
	positions      []float32      // [patches+1, d]
	preLayrnorm    layerNorm
	encoder        *encoder
	postLayernorm  layerNorm
	projection     *tensor.Matrix // visual_projection [proj, d]
}

func loadVision(f *fetcher, pk *packer, c Config, prec Precision) (*visionTower, error) {
	v := c.Vision
	t := &visionTower{cfg: v}
	get := f.take
	t.classEmbedding = get("vision_model.embeddings.class_embedding")
	t.positions = get("vision_model.embeddings.position_embedding.weight")
	t.preLayrnorm = layerNorm{get("vision_model.pre_layrnorm.weight"), get("vision_model.pre_layrnorm.bias"), float32(v.LayerNormEps)}
	t.postLayernorm = layerNorm{get("vision_model.post_layernorm.weight"), get("vision_model.post_layernorm.bias"), float32(v.LayerNormEps)}
	err := f.err
	if err != nil {
		return nil, err
	}
	if t.patchEmbedding, err = pk.tensorMatrix(f, "vision_model.embeddings.patch_embedding.weight", false, v.HiddenSize, v.NumChannels*v.PatchSize*v.PatchSize); err != nil {
		return nil, err
	}
	if t.projection, err = pk.tensorMatrix(f, "visual_projection.weight", false, c.ProjectionDim, v.HiddenSize); err != nil {
		return nil, err
	}
	t.encoder, err = loadEncoder(f, pk, prec, "vision_model", v.NumHiddenLayers, v.HiddenSize, v.IntermediateSize,
		v.NumAttentionHeads, v.HiddenAct, v.LayerNormEps, false)
	return t, err
}

// pixelCount is the length of one preprocessed image: channels × size × size, CHW.
func (t *visionTower) pixelCount() int {
	return t.cfg.NumChannels * t.cfg.ImageSize * t.cfg.ImageSize
}

// forward maps preprocessed images (CHW float32 each) to projected,
// unnormalised embeddings, written to out (len(images) × proj).
func (t *visionTower) forward(ctx context.Context, pool *tensor.Pool, w *workspace, images [][]float32, out []float32) error {
	v := t.cfg
	d, p, s, ch := v.HiddenSize, v.PatchSize, v.ImageSize, v.NumChannels
	g := s / p
	np := g * g
	seq := np + 1
	kp := ch * p * p
	for i, img := range images {
		if len(img) != t.pixelCount() {
			return fmt.Errorf("image %d has %d values, the model needs %d×%d×%d", i, len(img), ch, s, s)
		}
	}
	// im2col: one row per patch, in the (channel, row, column) order of the
	// convolution weight, so the convolution becomes a matrix product.
	b := len(images)
	w.reserve(b*np*kp + b*np*d + b*seq*d + t.encoder.workFloats(b*seq, b) + b*d) // cols, patches, x, encoder, pooled
	cols := w.floats(b * np * kp)
	pool.Parallel(b*np, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, patch := images[r/np], r%np
			py, px := patch/g, patch%g
			dst := cols[r*kp : (r+1)*kp]
			k := 0
			for c := 0; c < ch; c++ {
				for ky := 0; ky < p; ky++ {
					o := c*s*s + (py*p+ky)*s + px*p
					k += copy(dst[k:k+p], img[o:o+p])
				}
			}
		}
	})
	patches := w.floats(b * np * d)
	pool.Linear(patches, cols, b*np, t.patchEmbedding, tensor.Epilogue{})
	x := w.floats(b * seq * d)
	bounds := make([]int, b+1)
	for i := 0; i < b; i++ {
		bounds[i+1] = (i + 1) * seq
		xi := x[i*seq*d : (i+1)*seq*d]
		copy(xi[:d], t.classEmbedding)
		copy(xi[d:], patches[i*np*d:(i+1)*np*d])
		for j := range xi {
			xi[j] += t.positions[j]
		}
	}
	t.preLayrnorm.apply(x, x, b*seq)
	cls := make([]int, b) // the class token of each image
	for i := range cls {
		cls[i] = i * seq
	}
	hidden, err := t.encoder.forward(ctx, pool, w, x, bounds, cls)
	if err != nil {
		return err
	}
	pooled := w.floats(b * d)
	t.postLayernorm.apply(pooled, hidden, b)
	pool.Linear(out, pooled, b, t.projection, tensor.Epilogue{})
	return nil
}
