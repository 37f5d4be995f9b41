package clip

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/imageproc"
)

// This file reads the checkpoints of OpenAI's CLIP code and of OpenCLIP
// (open_clip_config.json + open_clip_model.safetensors or
// open_clip_pytorch_model.bin) as the same model the Hugging Face layout
// describes: one table maps their tensor names to CLIPModel's, and a
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
	w := &openAIWeights{store: s, sources: openAISources(c, prefix, text)}
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

	// last caches the most recent converted (non-F32) source tensor, so
	// the q, k and v thirds of an F16 in_proj convert it once.
	mu       sync.Mutex
	lastName string
	lastData []float32
}

// ReleasePages drops the resident pages of a memory-mapped checkpoint;
// New calls it as it packs the weights.
func (w *openAIWeights) ReleasePages() error { return checkpoint.ReleasePages(w.store) }

// Tensor implements Weights.
func (w *openAIWeights) Tensor(name string) ([]int, []float32, error) {
	r, ok := w.sources[name]
	if !ok {
		return nil, nil, fmt.Errorf("no OpenAI/OpenCLIP counterpart: %w", ErrTensorNotFound)
	}
	t, ok := w.store.Tensor(r.src)
	if !ok {
		return nil, nil, fmt.Errorf("OpenAI/OpenCLIP tensor %q is missing from %s: %w", r.src, w.store.Path(), ErrTensorNotFound)
	}
	data, err := w.float32(t)
	if err != nil {
		return nil, nil, err
	}
	shape := t.Shape
	bad := func(want string) error {
		return fmt.Errorf("OpenAI/OpenCLIP tensor %q has shape %s, want %s", r.src, shapeString(shape), want)
	}
	switch r.op {
	case asIs:
		return slices.Clone(shape), data, nil
	case transpose:
		if len(shape) != 2 {
			return nil, nil, bad("a matrix")
		}
		rows, cols := shape[0], shape[1]
		out := make([]float32, len(data))
		for i := 0; i < rows; i++ {
			for j, v := range data[i*cols : (i+1)*cols] {
				out[j*rows+i] = v
			}
		}
		return []int{cols, rows}, out, nil
	default: // a third of a fused q/k/v projection
		if len(shape) == 0 || shape[0]%3 != 0 {
			return nil, nil, bad("[3·d, …]")
		}
		part := slices.Clone(shape)
		part[0] /= 3
		n := numel(part)
		k := int(r.op - thirdQ)
		return part, data[k*n : (k+1)*n : (k+1)*n], nil
	}
}

// float32 returns t's values, converting a non-F32 tensor once for the
// three thirds read from it.
func (w *openAIWeights) float32(t *checkpoint.Tensor) ([]float32, error) {
	if t.DType == checkpoint.F32 {
		return t.Float32()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastName == t.Name && w.lastData != nil {
		return w.lastData, nil
	}
	data, err := t.Float32()
	if err != nil {
		return nil, err
	}
	w.lastName, w.lastData = t.Name, data
	return data, nil
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

// OpenCLIPConfigFile is the name of OpenCLIP's model description in a
// model folder (what open_clip.create_model reads for "hf-hub:" and
// "local-dir:" models).
const OpenCLIPConfigFile = "open_clip_config.json"

// ParseOpenCLIPConfig reads an open_clip_config.json body ({"model_cfg":
// ..., "preprocess_cfg": ...}, or a bare model config as in OpenCLIP's
// model_configs/*.json) into the equivalent Hugging Face Config and the
// image preprocessing the model expects. Fields take OpenCLIP's defaults
// (CLIPVisionCfg, CLIPTextCfg, PreprocessCfg): notably quick_gelu is false,
// so the activation is exact GELU unless the file says otherwise. Vision
// and text variants that the Hugging Face architecture cannot express
// (ResNet or timm towers, Hugging Face text towers, layer scale,
// attentional pooling, QK norm, ...) are refused by name.
func ParseOpenCLIPConfig(data []byte) (Config, imageproc.Config, error) {
	var file struct {
		ModelCfg      json.RawMessage `json:"model_cfg"`
		PreprocessCfg json.RawMessage `json:"preprocess_cfg"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return Config{}, imageproc.Config{}, fmt.Errorf("parse %s: %w", OpenCLIPConfigFile, err)
	}
	model := file.ModelCfg
	if !isObject(model) {
		model = data // open_clip's get_model_config: config.get('model_cfg', config)
	}
	c, err := parseOpenCLIPModel(model)
	if err != nil {
		return c, imageproc.Config{}, fmt.Errorf("parse %s: %w", OpenCLIPConfigFile, err)
	}
	pre, err := parseOpenCLIPPreprocess(file.PreprocessCfg, c.Vision.ImageSize)
	if err != nil {
		return c, pre, fmt.Errorf("parse %s: %w", OpenCLIPConfigFile, err)
	}
	return c, pre, nil
}

// openCLIPModelCfg is model_cfg, with OpenCLIP's defaults where a field
// may be missing.
type openCLIPModelCfg struct {
	EmbedDim      *int            `json:"embed_dim"`
	QuickGELU     bool            `json:"quick_gelu"`
	InitLogitBias *float64        `json:"init_logit_bias"`
	VisionCfg     json.RawMessage `json:"vision_cfg"`
	TextCfg       json.RawMessage `json:"text_cfg"`
}

// openCLIPTower holds the fields of vision_cfg and text_cfg goclip reads.
type openCLIPTower struct {
	Layers        json.RawMessage `json:"layers"` // a number, or a list for a ResNet
	Width         int             `json:"width"`
	HeadWidth     int             `json:"head_width"`
	Heads         int             `json:"heads"`
	MLPRatio      float64         `json:"mlp_ratio"`
	PatchSize     json.RawMessage `json:"patch_size"`
	ImageSize     json.RawMessage `json:"image_size"`
	ContextLength int             `json:"context_length"`
	VocabSize     int             `json:"vocab_size"`
	PoolType      string          `json:"pool_type"`
	EOSID         *int            `json:"eos_id"`
	ProjType      string          `json:"proj_type"`
	NormKwargs    map[string]any  `json:"norm_kwargs"`
	ActKwargs     map[string]any  `json:"act_kwargs"`
}

// openCLIPUnsupported lists config keys whose non-default values change the
// architecture beyond what a Hugging Face CLIPModel computes. A key is
// accepted when missing, null, false, 0, "" or equal to the listed value.
var openCLIPUnsupported = map[string]map[string]any{
	"model": {"multimodal_cfg": nil, "audio_cfg": nil, "genlip_cfg": nil, "genlap_cfg": nil},
	"vision": {
		"timm_model_name": nil, "ls_init_value": nil, "attentional_pool": nil, "no_ln_pre": nil,
		"block_type": "default", "qk_norm": nil, "scaled_cosine_attn": nil, "scale_heads": nil,
		"scale_attn_inner": nil, "scale_attn": nil, "scale_fc": nil, "pool_type": "tok",
	},
	"text": {
		"hf_model_name": nil, "hf_tokenizer_name": nil, "tokenizer_type": nil, "text_arch": "clip",
		"ls_init_value": nil, "embed_cls": nil, "no_causal_mask": nil, "proj_bias": nil,
		"proj_type": "linear", "variable_text": nil, "block_type": "default", "qk_norm": nil,
		"scaled_cosine_attn": nil, "scale_heads": nil, "scale_attn_inner": nil, "scale_attn": nil,
		"scale_fc": nil,
	},
}

// checkSupported refuses the keys of raw that openCLIPUnsupported[part]
// lists with a value the Hugging Face architecture cannot express.
func checkSupported(part string, raw json.RawMessage) error {
	var m map[string]any
	if !isObject(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		def, listed := openCLIPUnsupported[part][k]
		if !listed {
			continue
		}
		switch v := m[k].(type) {
		case nil:
			continue
		case bool:
			if !v {
				continue
			}
		case float64:
			if v == 0 {
				continue
			}
		case string:
			if v == "" || v == def {
				continue
			}
		}
		where := part + "_cfg."
		if part == "model" {
			where = ""
		}
		return fmt.Errorf("%s%s = %v is not supported: goclip runs the OpenAI CLIP architecture (ViT towers, as Hugging Face CLIPModel)", where, k, m[k])
	}
	return nil
}

func parseOpenCLIPModel(raw json.RawMessage) (Config, error) {
	c := DefaultConfig()
	var mc openCLIPModelCfg
	if err := json.Unmarshal(raw, &mc); err != nil {
		return c, fmt.Errorf("model_cfg: %w", err)
	}
	if err := checkSupported("model", raw); err != nil {
		return c, err
	}
	if mc.EmbedDim == nil {
		return c, errors.New("model_cfg.embed_dim is missing")
	}
	if mc.InitLogitBias != nil {
		return c, errors.New("model_cfg.init_logit_bias is set: a SigLIP-style logit bias is not supported")
	}
	if err := checkSupported("vision", mc.VisionCfg); err != nil {
		return c, err
	}
	if err := checkSupported("text", mc.TextCfg); err != nil {
		return c, err
	}
	act := "gelu" // OpenCLIP's default: nn.GELU unless quick_gelu
	if mc.QuickGELU {
		act = "quick_gelu"
	}
	c.ProjectionDim = *mc.EmbedDim

	// CLIPVisionCfg defaults.
	v := openCLIPTower{Width: 768, HeadWidth: 64, MLPRatio: 4,
		Layers: json.RawMessage("12"), PatchSize: json.RawMessage("16"), ImageSize: json.RawMessage("224")}
	if isObject(mc.VisionCfg) {
		if err := json.Unmarshal(mc.VisionCfg, &v); err != nil {
			return c, fmt.Errorf("vision_cfg: %w", err)
		}
	}
	var err error
	var layers int
	if err := json.Unmarshal(v.Layers, &layers); err != nil {
		if strings.HasPrefix(strings.TrimSpace(string(v.Layers)), "[") {
			return c, fmt.Errorf("vision_cfg.layers = %s: a ResNet image tower is not supported (want a ViT: one number of layers)", v.Layers)
		}
		return c, fmt.Errorf("vision_cfg.layers = %s, want a number", v.Layers)
	}
	if v.HeadWidth <= 0 {
		return c, fmt.Errorf("vision_cfg.head_width = %d, want a positive width", v.HeadWidth)
	}
	eps, err := normEps("vision_cfg", v)
	if err != nil {
		return c, err
	}
	c.Vision = VisionConfig{
		HiddenSize:        v.Width,
		IntermediateSize:  int(float64(v.Width) * v.MLPRatio),
		NumHiddenLayers:   layers,
		NumAttentionHeads: v.Width / v.HeadWidth,
		NumChannels:       3,
		HiddenAct:         act,
		LayerNormEps:      eps,
	}
	if c.Vision.ImageSize, err = squareSize("vision_cfg.image_size", v.ImageSize); err != nil {
		return c, err
	}
	if c.Vision.PatchSize, err = squareSize("vision_cfg.patch_size", v.PatchSize); err != nil {
		return c, err
	}

	// CLIPTextCfg defaults.
	t := openCLIPTower{ContextLength: 77, VocabSize: 49408, Width: 512, Heads: 8, Layers: json.RawMessage("12"), MLPRatio: 4, PoolType: "argmax"}
	if isObject(mc.TextCfg) {
		if err := json.Unmarshal(mc.TextCfg, &t); err != nil {
			return c, fmt.Errorf("text_cfg: %w", err)
		}
	}
	layers = 0
	if err := json.Unmarshal(t.Layers, &layers); err != nil {
		return c, fmt.Errorf("text_cfg.layers = %s, want a number", t.Layers)
	}
	if eps, err = normEps("text_cfg", t); err != nil {
		return c, err
	}
	c.Text = TextConfig{
		VocabSize:             t.VocabSize,
		HiddenSize:            t.Width,
		IntermediateSize:      int(float64(t.Width) * t.MLPRatio),
		NumHiddenLayers:       layers,
		NumAttentionHeads:     t.Heads,
		MaxPositionEmbeddings: t.ContextLength,
		HiddenAct:             act,
		LayerNormEps:          eps,
		EOSTokenID:            2, // pool at the first occurrence of the largest id: OpenCLIP's "argmax"
	}
	switch t.PoolType {
	case "argmax", "":
	case "eos":
		// Pool at the first eos_id, as Hugging Face does for any
		// eos_token_id but 2 (which means argmax there).
		if t.EOSID == nil || *t.EOSID == 2 {
			return c, errors.New("text_cfg.pool_type = eos needs an eos_id other than 2")
		}
		c.Text.EOSTokenID = *t.EOSID
	default:
		return c, fmt.Errorf("text_cfg.pool_type = %q is not supported (want argmax or eos)", t.PoolType)
	}
	return c, c.Validate()
}

// normEps returns the LayerNorm epsilon of a tower: torch's default 1e-5
// unless norm_kwargs sets eps. Other norm or activation arguments are
// refused.
func normEps(where string, t openCLIPTower) (float64, error) {
	for k := range t.ActKwargs {
		return 0, fmt.Errorf("%s.act_kwargs.%s is not supported", where, k)
	}
	eps := 1e-5
	for k, v := range t.NormKwargs {
		f, ok := v.(float64)
		if k != "eps" || !ok {
			return 0, fmt.Errorf("%s.norm_kwargs.%s is not supported (only eps is)", where, k)
		}
		eps = f
	}
	return eps, nil
}

// squareSize reads an OpenCLIP size: a number, or [height, width] with
// both equal.
func squareSize(what string, raw json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var hw []int
	if err := json.Unmarshal(raw, &hw); err != nil || len(hw) != 2 {
		return 0, fmt.Errorf("%s = %s, want a number or [height, width]", what, raw)
	}
	if hw[0] != hw[1] {
		return 0, fmt.Errorf("%s = %v: only square sizes are supported", what, hw)
	}
	return hw[0], nil
}

// parseOpenCLIPPreprocess turns preprocess_cfg into the equivalent
// CLIPImageProcessor recipe for images of side size. OpenCLIP's eval
// transform for resize_mode "shortest" (the default) is torchvision's
// Resize(size) of the short side with PIL, CenterCrop(size), ToTensor,
// Normalize: CLIPImageProcessor's pipeline. "squash" resizes to size×size
// without a crop. ("size" itself is ignored, as OpenCLIP replaces it with
// the vision tower's image size.)
func parseOpenCLIPPreprocess(raw json.RawMessage, size int) (imageproc.Config, error) {
	pre := imageproc.DefaultConfig()
	pre.Size = imageproc.Size{ShortestEdge: size}
	pre.CropSize = imageproc.Size{Height: size, Width: size}
	if !isObject(raw) {
		return pre, nil
	}
	var p struct {
		Mean          json.RawMessage `json:"mean"`
		Std           json.RawMessage `json:"std"`
		Interpolation *string         `json:"interpolation"`
		ResizeMode    *string         `json:"resize_mode"`
		Mode          *string         `json:"mode"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return pre, fmt.Errorf("preprocess_cfg: %w", err)
	}
	var err error
	if pre.Mean, err = triple("preprocess_cfg.mean", p.Mean, pre.Mean); err != nil {
		return pre, err
	}
	if pre.Std, err = triple("preprocess_cfg.std", p.Std, pre.Std); err != nil {
		return pre, err
	}
	if p.Mode != nil && *p.Mode != "RGB" {
		return pre, fmt.Errorf("preprocess_cfg.mode = %q is not supported (want RGB)", *p.Mode)
	}
	// image_transform_v2 at eval time: bilinear if asked, bicubic otherwise.
	if p.Interpolation != nil && *p.Interpolation == "bilinear" {
		pre.Resample = imageproc.Bilinear
	}
	if p.ResizeMode != nil {
		switch *p.ResizeMode {
		case "shortest":
		case "squash":
			pre.Size = imageproc.Size{Height: size, Width: size}
			pre.DoCenterCrop = false
		default:
			return pre, fmt.Errorf("preprocess_cfg.resize_mode = %q is not supported (want shortest or squash)", *p.ResizeMode)
		}
	}
	return pre, pre.Validate()
}

// triple reads a per-channel constant: a list of three numbers (or null).
func triple(what string, raw json.RawMessage, def [3]float64) ([3]float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var list []float64
	if err := json.Unmarshal(raw, &list); err != nil || len(list) != 3 {
		return def, fmt.Errorf("%s = %s, want three numbers", what, raw)
	}
	return [3]float64{list[0], list[1], list[2]}, nil
}

// folderConfig reads the model description of a folder: config.json when
// there is one, otherwise open_clip_config.json. occ is the body of the
// open_clip_config.json that was read (nil if none was); ocPre is the
// preprocessing it prescribes, for a folder without
// preprocessor_config.json.
func folderConfig(dir string) (cfg Config, ocPre *imageproc.Config, occ []byte, err error) {
	hfPath, ocPath := filepath.Join(dir, "config.json"), filepath.Join(dir, OpenCLIPConfigFile)
	hasPre := exists(filepath.Join(dir, "preprocessor_config.json"))
	if exists(hfPath) || !exists(ocPath) {
		if cfg, err = LoadConfig(hfPath); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("no config.json or %s: %w", OpenCLIPConfigFile, err)
			}
			return cfg, nil, nil, err
		}
		if hasPre || !exists(ocPath) {
			return cfg, nil, nil, nil
		}
		// A Hugging Face config next to OpenCLIP's, no preprocessor file:
		// take the image recipe from open_clip_config.json.
		if occ, err = os.ReadFile(ocPath); err != nil {
			return cfg, nil, nil, err
		}
		var file struct {
			PreprocessCfg json.RawMessage `json:"preprocess_cfg"`
		}
		if err := json.Unmarshal(occ, &file); err != nil {
			return cfg, nil, nil, fmt.Errorf("%s: %w", ocPath, err)
		}
		pre, err := parseOpenCLIPPreprocess(file.PreprocessCfg, cfg.Vision.ImageSize)
		if err != nil {
			return cfg, nil, nil, fmt.Errorf("%s: %w", ocPath, err)
		}
		return cfg, &pre, occ, nil
	}
	if occ, err = os.ReadFile(ocPath); err != nil {
		return cfg, nil, nil, err
	}
	cfg, pre, err := ParseOpenCLIPConfig(occ)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("%s: %w", ocPath, err)
	}
	if hasPre {
		return cfg, nil, occ, nil
	}
	return cfg, &pre, occ, nil
}

// withOpenCLIPConfig folds the open_clip_config.json a folder's model was
// described by (nil: none) into its fingerprint, since the folder
// fingerprint hashes only the Hugging Face files.
func withOpenCLIPConfig(fingerprint string, occ []byte) string {
	if occ == nil {
		return fingerprint
	}
	h := sha256.New()
	lengthPrefixed(h, []byte("goclip open_clip_config v1"))
	lengthPrefixed(h, []byte(fingerprint))
	lengthPrefixed(h, occ)
	return hex.EncodeToString(h.Sum(nil))
}
