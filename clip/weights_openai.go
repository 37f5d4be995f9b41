package clip

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/goclip/goclip/checkpoint"
)

// This file reads the checkpoints of OpenAI's CLIP code and of OpenCLIP
// (open_clip_model.safetensors or open_clip_pytorch_model.bin; their
// open_clip_config.json is read by openclip_config.go) as the same model
// the Hugging Face layout describes: one table maps their tensor names to CLIPModel's, and a
// Weights adapter renames, splits and transposes tensors as New asks for
// them, so nothing else in the package knows the other naming exists.

// reshape says how a source tensor becomes its Hugging Face counterpart.
type reshape int

const (
	asIs      reshape = iota // same shape, same values
	transpose                // [a, b] → [b, a]: OpenAI projections are x @ W, Hugging Face's are W x
	thirdQ                   // rows [0, d) of a fused [3d, ...] attention input projection
	thirdK                   // rows [d, 2d)
	thirdV                   // rows [2d, 3d)
)

// rename is one row of the mapping table: the Hugging Face CLIPModel name,
// the OpenAI/OpenCLIP name, and how to get one from the other. In model
// rows, "{text}" stands for the text tower's prefix ("" in OpenAI's CLIP
// and OpenCLIP's CLIP class, "text." in OpenCLIP's CustomTextCLIP).
type rename struct {
	hf, src string
	op      reshape
}

// The mapping table: OpenAI/OpenCLIP names (nn.MultiheadAttention's fused
// in_proj, x @ proj projections) to Hugging Face CLIPModel names (what
// transformers' convert_clip_original_pytorch_to_hf.py produces).
var (
	// openAIModel lists the tensors outside the transformer blocks.
	openAIModel = []rename{
		{"logit_scale", "logit_scale", asIs},
		{"text_model.embeddings.token_embedding.weight", "{text}token_embedding.weight", asIs},
		{"text_model.embeddings.position_embedding.weight", "{text}positional_embedding", asIs},
		{"text_model.final_layer_norm.weight", "{text}ln_final.weight", asIs},
		{"text_model.final_layer_norm.bias", "{text}ln_final.bias", asIs},
		{"text_projection.weight", "{text}text_projection", transpose},
		{"vision_model.embeddings.class_embedding", "visual.class_embedding", asIs},
		{"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", asIs},
		{"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", asIs},
		{"vision_model.pre_layrnorm.weight", "visual.ln_pre.weight", asIs},
		{"vision_model.pre_layrnorm.bias", "visual.ln_pre.bias", asIs},
		{"vision_model.post_layernorm.weight", "visual.ln_post.weight", asIs},
		{"vision_model.post_layernorm.bias", "visual.ln_post.bias", asIs},
		{"visual_projection.weight", "visual.proj", transpose},
	}
	// openAIBlocks maps the block prefixes of the two towers; "{n}" is the
	// block number.
	openAIBlocks = []rename{
		{"text_model.encoder.layers.{n}.", "{text}transformer.resblocks.{n}.", asIs},
		{"vision_model.encoder.layers.{n}.", "visual.transformer.resblocks.{n}.", asIs},
	}
	// openAIBlock lists the tensors of one block, after its prefix.
	openAIBlock = []rename{
		{"self_attn.q_proj.weight", "attn.in_proj_weight", thirdQ},
		{"self_attn.k_proj.weight", "attn.in_proj_weight", thirdK},
		{"self_attn.v_proj.weight", "attn.in_proj_weight", thirdV},
		{"self_attn.q_proj.bias", "attn.in_proj_bias", thirdQ},
		{"self_attn.k_proj.bias", "attn.in_proj_bias", thirdK},
		{"self_attn.v_proj.bias", "attn.in_proj_bias", thirdV},
		{"self_attn.out_proj.weight", "attn.out_proj.weight", asIs},
		{"self_attn.out_proj.bias", "attn.out_proj.bias", asIs},
		{"layer_norm1.weight", "ln_1.weight", asIs},
		{"layer_norm1.bias", "ln_1.bias", asIs},
		{"layer_norm2.weight", "ln_2.weight", asIs},
		{"layer_norm2.bias", "ln_2.bias", asIs},
		{"mlp.fc1.weight", "mlp.c_fc.weight", asIs},
		{"mlp.fc1.bias", "mlp.c_fc.bias", asIs},
		{"mlp.fc2.weight", "mlp.c_proj.weight", asIs},
		{"mlp.fc2.bias", "mlp.c_proj.bias", asIs},
	}
	// openAIBuffers are tensors OpenAI/OpenCLIP checkpoints may hold that
	// the model does not need: the causal mask, and the sizes OpenAI's
	// TorchScript models keep as tensors.
	openAIBuffers = []string{"attn_mask", "{text}attn_mask", "input_resolution", "context_length", "vocab_size"}
	// openAIPrefixes are whole-checkpoint prefixes: "module." from
	// DistributedDataParallel, "state_dict." from a flattened training
	// checkpoint (a pickled {"state_dict": ...} is unwrapped by package
	// checkpoint).
	openAIPrefixes = []string{"", "module.", "state_dict.", "state_dict.module."}
)

// openAISources returns, for every tensor of a CLIPModel with config c,
// where it comes from in an OpenAI/OpenCLIP checkpoint whose names carry
// prefix (see openAIPrefixes) and text tower prefix text.
func openAISources(c Config, prefix, text string) map[string]rename {
	out := make(map[string]rename, len(TensorShapes(c)))
	src := func(s string) string { return prefix + strings.ReplaceAll(s, "{text}", text) }
	for _, r := range openAIModel {
		out[r.hf] = rename{r.hf, src(r.src), r.op}
	}
	for i, blocks := range openAIBlocks {
		n := c.Text.NumHiddenLayers
		if i == 1 {
			n = c.Vision.NumHiddenLayers
		}
		for l := 0; l < n; l++ {
			num := fmt.Sprint(l)
			hfp, srcp := strings.ReplaceAll(blocks.hf, "{n}", num), strings.ReplaceAll(blocks.src, "{n}", num)
			for _, r := range openAIBlock {
				out[hfp+r.hf] = rename{hfp + r.hf, src(srcp + r.src), r.op}
			}
		}
	}
	return out
}

// CheckpointWeights returns the tensors of s under Hugging Face CLIPModel
// names, whatever naming s uses: Hugging Face's (as they are), or OpenAI's
// and OpenCLIP's (visual.conv1.weight, attn.in_proj_weight, ...), which
// are renamed, split and transposed lazily as they are read. The naming is
// told by the tensors s holds; c gives the number of blocks.
func CheckpointWeights(s checkpoint.Store, c Config) (Weights, error) {
	prefix, ok := openAIPrefix(s)
	if !ok {
		if _, hf := s.Tensor("vision_model.embeddings.patch_embedding.weight"); !hf && !slices.ContainsFunc(s.Names(), isHFName) {
			return nil, fmt.Errorf("%s: neither Hugging Face CLIPModel tensor names (vision_model.…, text_model.…) nor OpenAI/OpenCLIP ones (visual.conv1.weight, …): %s",
				s.Path(), sampleNames(s.Names()))
		}
		return StoreWeights{s}, nil
	}
	text := ""
	if _, ok := s.Tensor(prefix + "token_embedding.weight"); !ok {
		if _, ok := s.Tensor(prefix + "text.token_embedding.weight"); ok {
			text = "text."
		}
	}
	w := &openAIWeights{store: s, sources: openAISources(c, prefix, text), converted: map[string]*conversion{}}
	w.logExtra(prefix, text)
	return w, nil
}

// openAIPrefix reports whether s uses OpenAI/OpenCLIP names, and with
// which whole-checkpoint prefix.
func openAIPrefix(s checkpoint.Store) (string, bool) {
	for _, p := range openAIPrefixes {
		if _, ok := s.Tensor(p + "visual.conv1.weight"); ok {
			return p, true
		}
	}
	return "", false
}

func isHFName(n string) bool {
	return strings.HasPrefix(n, "vision_model.") || strings.HasPrefix(n, "text_model.")
}

// sampleNames lists up to five names for an error message.
func sampleNames(names []string) string {
	if len(names) == 0 {
		return "the checkpoint holds no tensors"
	}
	if len(names) > 5 {
		return fmt.Sprintf("it holds %s, … (%d tensors)", strings.Join(names[:5], ", "), len(names))
	}
	return "it holds " + strings.Join(names, ", ")
}

// openAIWeights presents an OpenAI/OpenCLIP checkpoint under Hugging Face
// names. Renamed tensors and q/k/v thirds of a fused projection are views
// of the store's data (no copy for F32 files); only the two projections
// are transposed into new slices.
type openAIWeights struct {
	store   checkpoint.Store
	sources map[string]rename // Hugging Face name → source

	// converted holds non-F32 source tensors converted to float32 for the
	// thirds of a fused projection still to be read: the first of the
	// three converts, the others wait for it (only it), the last one
	// drops the entry.
	mu        sync.Mutex
	converted map[string]*conversion
}

// conversion is one source tensor converted to float32 once.
type conversion struct {
	once sync.Once
	data []float32
	err  error
	left int // reads of it to come
}

// ReleasePages drops the resident pages of a memory-mapped checkpoint;
// New calls it as it packs the weights.
func (w *openAIWeights) ReleasePages() error { return checkpoint.ReleasePages(w.store) }

// TensorShape returns the shape the tensor name has under Hugging Face's
// layout, from the source tensor's header: no value is read or converted.
func (w *openAIWeights) TensorShape(name string) ([]int, error) {
	r, t, err := w.source(name)
	if err != nil {
		return nil, err
	}
	return r.shape(t.Shape)
}

// Tensor implements Weights.
func (w *openAIWeights) Tensor(name string) ([]int, []float32, error) {
	r, t, err := w.source(name)
	if err != nil {
		return nil, nil, err
	}
	shape, err := r.shape(t.Shape)
	if err != nil {
		return nil, nil, err
	}
	var data []float32
	if r.op >= thirdQ {
		data, err = w.float32(t, 3)
	} else {
		data, err = t.Float32()
	}
	if err != nil {
		return nil, nil, err
	}
	switch r.op {
	case asIs:
		return shape, data, nil
	case transpose:
		rows, cols := t.Shape[0], t.Shape[1]
		out := make([]float32, len(data))
		for i := 0; i < rows; i++ {
			for j, v := range data[i*cols : (i+1)*cols] {
				out[j*rows+i] = v
			}
		}
		return shape, out, nil
	default: // a third of a fused q/k/v projection
		n := numel(shape)
		k := int(r.op - thirdQ)
		return shape, data[k*n : (k+1)*n : (k+1)*n], nil
	}
}

// source returns where the Hugging Face tensor name comes from.
func (w *openAIWeights) source(name string) (rename, *checkpoint.Tensor, error) {
	r, ok := w.sources[name]
	if !ok {
		return r, nil, fmt.Errorf("no OpenAI/OpenCLIP counterpart: %w", ErrTensorNotFound)
	}
	t, ok := w.store.Tensor(r.src)
	if !ok {
		return r, nil, fmt.Errorf("OpenAI/OpenCLIP tensor %q is missing from %s: %w", r.src, w.store.Path(), ErrTensorNotFound)
	}
	return r, t, nil
}

// shape returns the Hugging Face shape of a source tensor of shape src.
func (r rename) shape(src []int) ([]int, error) {
	bad := func(want string) error {
		return fmt.Errorf("OpenAI/OpenCLIP tensor %q has shape %s, want %s", r.src, shapeString(src), want)
	}
	switch r.op {
	case asIs:
		return slices.Clone(src), nil
	case transpose:
		if len(src) != 2 {
			return nil, bad("a matrix")
		}
		return []int{src[1], src[0]}, nil
	default:
		if len(src) == 0 || src[0]%3 != 0 {
			return nil, bad("[3·d, …]")
		}
		part := slices.Clone(src)
		part[0] /= 3
		return part, nil
	}
}

// float32 returns t's values for one of reads reads of it: an F32 tensor
// as it is (a view of the file), another converted once for all of them.
func (w *openAIWeights) float32(t *checkpoint.Tensor, reads int) ([]float32, error) {
	if t.DType == checkpoint.F32 {
		return t.Float32()
	}
	w.mu.Lock()
	c := w.converted[t.Name]
	if c == nil {
		c = &conversion{left: reads}
		w.converted[t.Name] = c
	}
	if c.left--; c.left == 0 {
		delete(w.converted, t.Name)
	}
	w.mu.Unlock()
	c.once.Do(func() { c.data, c.err = t.Float32() })
	return c.data, c.err
}

// logExtra logs, at debug level, the tensors of the checkpoint that the
// model does not read (other than known buffers): a checkpoint of a larger
// or different architecture shows up here.
func (w *openAIWeights) logExtra(prefix, text string) {
	used := make(map[string]bool, len(w.sources))
	for _, r := range w.sources {
		used[r.src] = true
	}
	for _, b := range openAIBuffers {
		used[prefix+strings.ReplaceAll(b, "{text}", text)] = true
	}
	var extra []string
	for _, n := range w.store.Names() {
		if !used[n] && !strings.HasSuffix(n, "position_ids") {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		slog.Debug("checkpoint holds tensors the CLIP model does not use", "file", w.store.Path(), "count", len(extra), "names", extra[:min(len(extra), 10)])
	}
}
