package clip

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/goclip/goclip/internal/jsonerr"
)

// TextConfig describes the text tower (Hugging Face CLIPTextConfig).
type TextConfig struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	// EOSTokenID selects the pooling rule, as CLIPTextTransformer does: 2 (what
	// the original OpenAI checkpoints say) means "pool at the first occurrence
	// of the largest id"; anything else means "pool at the first EOSTokenID".
	EOSTokenID int `json:"eos_token_id"`
}

// VisionConfig describes the vision tower (Hugging Face CLIPVisionConfig).
type VisionConfig struct {
	HiddenSize        int     `json:"hidden_size"`
	IntermediateSize  int     `json:"intermediate_size"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	NumChannels       int     `json:"num_channels"`
	ImageSize         int     `json:"image_size"`
	PatchSize         int     `json:"patch_size"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
}

// Config is a CLIP model's config.json. Every field a file omits takes the
// CLIPConfig default, exactly as transformers does: openai/clip-vit-base-patch32
// itself omits every size.
type Config struct {
	ProjectionDim       int          `json:"projection_dim"`
	LogitScaleInitValue float64      `json:"logit_scale_init_value"`
	Text                TextConfig   `json:"text_config"`
	Vision              VisionConfig `json:"vision_config"`
}

// DefaultConfig is the configuration of ViT-B/32 (the CLIPConfig defaults).
func DefaultConfig() Config {
	return Config{
		ProjectionDim:       512,
		LogitScaleInitValue: 2.6592,
		Text: TextConfig{
			VocabSize: 49408, HiddenSize: 512, IntermediateSize: 2048,
			NumHiddenLayers: 12, NumAttentionHeads: 8, MaxPositionEmbeddings: 77,
			HiddenAct: "quick_gelu", LayerNormEps: 1e-5, EOSTokenID: 2,
		},
		Vision: VisionConfig{
			HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12,
			NumAttentionHeads: 12, NumChannels: 3, ImageSize: 224, PatchSize: 32,
			HiddenAct: "quick_gelu", LayerNormEps: 1e-5,
		},
	}
}

// ParseConfig reads a config.json body. Missing fields keep their defaults;
// legacy files that use text_config_dict/vision_config_dict are understood.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	var raw struct {
		ProjectionDim       *int            `json:"projection_dim"`
		LogitScaleInitValue *float64        `json:"logit_scale_init_value"`
		Text                json.RawMessage `json:"text_config"`
		TextDict            json.RawMessage `json:"text_config_dict"`
		Vision              json.RawMessage `json:"vision_config"`
		VisionDict          json.RawMessage `json:"vision_config_dict"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return c, jsonerr.Explain(err, "")
	}
	if raw.ProjectionDim != nil {
		c.ProjectionDim = *raw.ProjectionDim
	}
	if raw.LogitScaleInitValue != nil {
		c.LogitScaleInitValue = *raw.LogitScaleInitValue
	}
	for name, m := range map[string]json.RawMessage{"text_config": raw.Text, "text_config_dict": raw.TextDict, "vision_config": raw.Vision, "vision_config_dict": raw.VisionDict} {
		if len(m) > 0 && string(m) != "null" && !isObject(m) {
			return c, fmt.Errorf("%s is %s, want an object", name, m)
		}
	}
	// Later keys override earlier ones, as transformers merges *_dict into *_config.
	for _, m := range []json.RawMessage{raw.TextDict, raw.Text} {
		if isObject(m) {
			if err := json.Unmarshal(m, &c.Text); err != nil {
				return c, jsonerr.Explain(err, "text_config")
			}
		}
	}
	for _, m := range []json.RawMessage{raw.VisionDict, raw.Vision} {
		if isObject(m) {
			if err := json.Unmarshal(m, &c.Vision); err != nil {
				return c, jsonerr.Explain(err, "vision_config")
			}
		}
	}
	return c, c.Validate()
}

func isObject(m json.RawMessage) bool {
	for _, b := range m {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

// FormatConfig returns cfg as a transformers CLIPConfig config.json,
// every field goclip reads spelled out so that no default is left to the
// reader's version; torchDtype ("float32", "float16", "bfloat16") is the
// torch_dtype recorded with it. ParseConfig reads it back as cfg.
func FormatConfig(cfg Config, torchDtype string) ([]byte, error) {
	// The towers repeat projection_dim, as transformers saves them, for
	// CLIPTextModelWithProjection and CLIPVisionModelWithProjection.
	type text struct {
		TextConfig
		ProjectionDim int    `json:"projection_dim"`
		ModelType     string `json:"model_type"`
	}
	type vision struct {
		VisionConfig
		ProjectionDim int    `json:"projection_dim"`
		ModelType     string `json:"model_type"`
	}
	v := struct {
		Architectures       []string `json:"architectures"`
		ModelType           string   `json:"model_type"`
		ProjectionDim       int      `json:"projection_dim"`
		LogitScaleInitValue float64  `json:"logit_scale_init_value"`
		TorchDtype          string   `json:"torch_dtype"`
		Text                text     `json:"text_config"`
		Vision              vision   `json:"vision_config"`
	}{
		Architectures:       []string{"CLIPModel"},
		ModelType:           "clip",
		ProjectionDim:       cfg.ProjectionDim,
		LogitScaleInitValue: cfg.LogitScaleInitValue,
		TorchDtype:          torchDtype,
		Text:                text{cfg.Text, cfg.ProjectionDim, "clip_text_model"},
		Vision:              vision{cfg.Vision, cfg.ProjectionDim, "clip_vision_model"},
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// LoadConfig reads and validates a config.json file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// maxSize caps every size of a config: ViT-bigG's largest is 8192.
const maxSize = 1 << 20

// Validate checks that the sizes describe a model that can be built.
func (c Config) Validate() error {
	pos := func(name string, v int) error {
		switch {
		case v <= 0:
			return fmt.Errorf("config: %s = %d, want a positive size", name, v)
		case v > maxSize:
			return fmt.Errorf("config: %s = %d is above goclip's limit of %d for any size (no CLIP model comes near it; a damaged config would allocate without end)", name, v, maxSize)
		}
		return nil
	}
	t, v := c.Text, c.Vision
	for _, f := range []struct {
		name string
		v    int
	}{
		{"projection_dim", c.ProjectionDim},
		{"text_config.vocab_size", t.VocabSize},
		{"text_config.hidden_size", t.HiddenSize},
		{"text_config.intermediate_size", t.IntermediateSize},
		{"text_config.num_hidden_layers", t.NumHiddenLayers},
		{"text_config.num_attention_heads", t.NumAttentionHeads},
		{"text_config.max_position_embeddings", t.MaxPositionEmbeddings},
		{"vision_config.hidden_size", v.HiddenSize},
		{"vision_config.intermediate_size", v.IntermediateSize},
		{"vision_config.num_hidden_layers", v.NumHiddenLayers},
		{"vision_config.num_attention_heads", v.NumAttentionHeads},
		{"vision_config.num_channels", v.NumChannels},
		{"vision_config.image_size", v.ImageSize},
		{"vision_config.patch_size", v.PatchSize},
	} {
		if err := pos(f.name, f.v); err != nil {
			return err
		}
	}
	if t.HiddenSize%t.NumAttentionHeads != 0 {
		return fmt.Errorf("config: text hidden_size %d is not a multiple of num_attention_heads %d", t.HiddenSize, t.NumAttentionHeads)
	}
	if v.HiddenSize%v.NumAttentionHeads != 0 {
		return fmt.Errorf("config: vision hidden_size %d is not a multiple of num_attention_heads %d", v.HiddenSize, v.NumAttentionHeads)
	}
	if v.ImageSize%v.PatchSize != 0 {
		return fmt.Errorf("config: image_size %d is not a multiple of patch_size %d", v.ImageSize, v.PatchSize)
	}
	for _, a := range []string{t.HiddenAct, v.HiddenAct} {
		if _, err := activation(a); err != nil {
			return err
		}
	}
	if t.LayerNormEps <= 0 || v.LayerNormEps <= 0 {
		return fmt.Errorf("config: layer_norm_eps must be positive")
	}
	return nil
}

// NumPatches is the number of image patches (the vision sequence is one longer: the class token).
func (v VisionConfig) NumPatches() int {
	g := v.ImageSize / v.PatchSize
	return g * g
}
