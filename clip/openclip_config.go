package clip

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/jsonerr"
)

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
		return Config{}, imageproc.Config{}, jsonerr.Explain(err, "")
	}
	model := file.ModelCfg
	if !isObject(model) {
		model = data // open_clip's get_model_config: config.get('model_cfg', config)
	}
	c, err := parseOpenCLIPModel(model)
	if err != nil {
		return c, imageproc.Config{}, err
	}
	pre, err := parseOpenCLIPPreprocess(file.PreprocessCfg, c.Vision.ImageSize)
	if err != nil {
		return c, pre, err
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
		return c, jsonerr.Explain(err, "model_cfg")
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
			return c, jsonerr.Explain(err, "model_cfg.vision_cfg")
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
			return c, jsonerr.Explain(err, "model_cfg.text_cfg")
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
		return pre, jsonerr.Explain(err, "preprocess_cfg")
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
