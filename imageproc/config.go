package imageproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/goclip/goclip/internal/jsonerr"
)

// OpenAI CLIP's normalisation constants, the CLIPImageProcessor defaults.
var (
	clipMean = [3]float64{0.48145466, 0.4578275, 0.40821073}
	clipStd  = [3]float64{0.26862954, 0.26130258, 0.27577711}
)

// Size is a target size as preprocessor_config.json spells it: either a
// shortest edge (the long edge follows the aspect ratio) or an exact
// height and width. Exactly one of the two forms is set.
type Size struct {
	ShortestEdge  int
	Height, Width int
}

// Config is the preprocessing recipe of a Hugging Face CLIPImageProcessor,
// read from preprocessor_config.json. The zero value is not useful; start
// from DefaultConfig or LoadConfig.
type Config struct {
	DoResize      bool
	Size          Size   // resize target
	Resample      Filter // PIL filter number; Bicubic for CLIP
	DoCenterCrop  bool
	CropSize      Size // Height and Width only
	DoRescale     bool
	RescaleFactor float64 // applied in float64, then rounded to float32
	DoNormalize   bool
	Mean, Std     [3]float64 // per channel, converted to float32 as NumPy does
	// DoConvertRGB is recorded for completeness: Decode always produces RGB,
	// which is what the CLIP vision tower needs.
	DoConvertRGB bool
}

// DefaultConfig returns CLIPImageProcessor's defaults: shortest edge 224,
// bicubic, 224×224 centre crop, rescale by 1/255, OpenAI CLIP mean and std.
func DefaultConfig() Config {
	return Config{
		DoResize:      true,
		Size:          Size{ShortestEdge: 224},
		Resample:      Bicubic,
		DoCenterCrop:  true,
		CropSize:      Size{Height: 224, Width: 224},
		DoRescale:     true,
		RescaleFactor: 1.0 / 255,
		DoNormalize:   true,
		Mean:          clipMean,
		Std:           clipStd,
		DoConvertRGB:  true,
	}
}

// LoadConfig reads a Hugging Face preprocessor_config.json. Missing fields take
// the CLIPImageProcessor defaults; unknown fields are ignored.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: load config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: load config %s: %w", path, err)
	}
	return c, nil
}

// FormatConfig returns c as a CLIPImageProcessor preprocessor_config.json;
// ParseConfig reads it back as c.
func FormatConfig(c Config) []byte {
	size := func(s Size) map[string]int {
		if s.ShortestEdge > 0 {
			return map[string]int{"shortest_edge": s.ShortestEdge}
		}
		return map[string]int{"height": s.Height, "width": s.Width}
	}
	v := map[string]any{
		"image_processor_type": "CLIPImageProcessor",
		"do_resize":            c.DoResize,
		"size":                 size(c.Size),
		"resample":             int(c.Resample),
		"do_center_crop":       c.DoCenterCrop,
		"crop_size":            size(c.CropSize),
		"do_rescale":           c.DoRescale,
		"rescale_factor":       c.RescaleFactor,
		"do_normalize":         c.DoNormalize,
		"image_mean":           c.Mean[:],
		"image_std":            c.Std[:],
		"do_convert_rgb":       c.DoConvertRGB,
	}
	b, _ := json.MarshalIndent(v, "", "  ") // only numbers, bools and strings: cannot fail
	return append(b, '\n')
}

// rawConfig mirrors the JSON fields; pointers and raw messages tell a missing
// field from a zero one.
type rawConfig struct {
	DoResize      *bool           `json:"do_resize"`
	Size          json.RawMessage `json:"size"`
	Resample      *int            `json:"resample"`
	DoCenterCrop  *bool           `json:"do_center_crop"`
	CropSize      json.RawMessage `json:"crop_size"`
	DoRescale     *bool           `json:"do_rescale"`
	RescaleFactor *float64        `json:"rescale_factor"`
	DoNormalize   *bool           `json:"do_normalize"`
	ImageMean     json.RawMessage `json:"image_mean"`
	ImageStd      json.RawMessage `json:"image_std"`
	DoConvertRGB  *bool           `json:"do_convert_rgb"`
}

// ParseConfig parses the contents of a preprocessor_config.json (see LoadConfig).
func ParseConfig(data []byte) (Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, jsonerr.Explain(err, "")
	}
	c := DefaultConfig()
	setBool(&c.DoResize, raw.DoResize)
	setBool(&c.DoCenterCrop, raw.DoCenterCrop)
	setBool(&c.DoRescale, raw.DoRescale)
	setBool(&c.DoNormalize, raw.DoNormalize)
	setBool(&c.DoConvertRGB, raw.DoConvertRGB)
	if raw.RescaleFactor != nil {
		c.RescaleFactor = *raw.RescaleFactor
	}
	if raw.Resample != nil {
		c.Resample = Filter(*raw.Resample)
	}
	var err error
	// A bare number means the shortest edge for "size" and a square for
	// "crop_size" (get_size_dict's default_to_square=False / True).
	if c.Size, err = parseSize(raw.Size, c.Size, false); err != nil {
		return Config{}, fmt.Errorf("size: %w", err)
	}
	if c.CropSize, err = parseSize(raw.CropSize, c.CropSize, true); err != nil {
		return Config{}, fmt.Errorf("crop_size: %w", err)
	}
	if c.Mean, err = parseTriple(raw.ImageMean, c.Mean); err != nil {
		return Config{}, fmt.Errorf("image_mean: %w", err)
	}
	if c.Std, err = parseTriple(raw.ImageStd, c.Std); err != nil {
		return Config{}, fmt.Errorf("image_std: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func isNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

// parseSize reads a size given as a number or as an object with
// "shortest_edge" or "height" and "width". Like CLIPImageProcessor, it
// ignores a "longest_edge" next to "shortest_edge".
func parseSize(m json.RawMessage, def Size, square bool) (Size, error) {
	if isNull(m) {
		return def, nil
	}
	var n int
	if err := json.Unmarshal(m, &n); err == nil {
		if square {
			return Size{Height: n, Width: n}, nil
		}
		return Size{ShortestEdge: n}, nil
	}
	var obj struct {
		ShortestEdge *int `json:"shortest_edge"`
		Height       *int `json:"height"`
		Width        *int `json:"width"`
	}
	if err := json.Unmarshal(m, &obj); err != nil {
		return Size{}, fmt.Errorf("want a number or an object, got %s", m)
	}
	switch {
	case obj.ShortestEdge != nil:
		return Size{ShortestEdge: *obj.ShortestEdge}, nil
	case obj.Height != nil && obj.Width != nil:
		return Size{Height: *obj.Height, Width: *obj.Width}, nil
	}
	return Size{}, fmt.Errorf("want shortest_edge or height and width, got %s", m)
}

// parseTriple reads a per-channel constant given as a list of three numbers or
// as one number for all channels.
func parseTriple(m json.RawMessage, def [3]float64) ([3]float64, error) {
	if isNull(m) {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(m, &v); err == nil {
		return [3]float64{v, v, v}, nil
	}
	var list []float64
	if err := json.Unmarshal(m, &list); err != nil {
		return def, fmt.Errorf("want a number or a list of numbers, got %s", m)
	}
	if len(list) != 3 {
		return def, fmt.Errorf("want 3 values (one per RGB channel), got %d", len(list))
	}
	return [3]float64{list[0], list[1], list[2]}, nil
}

// Validate reports whether c describes a pipeline Preprocess can run.
func (c Config) Validate() error {
	if c.DoResize {
		s := c.Size
		switch {
		case s.ShortestEdge > 0 && s.Height == 0 && s.Width == 0:
		case s.ShortestEdge == 0 && s.Height > 0 && s.Width > 0:
		default:
			return fmt.Errorf("imageproc: invalid resize size %+v", s)
		}
		if _, err := c.Resample.spec(); err != nil {
			return err
		}
	}
	if c.DoCenterCrop && (c.CropSize.Height <= 0 || c.CropSize.Width <= 0 || c.CropSize.ShortestEdge != 0) {
		return fmt.Errorf("imageproc: invalid crop size %+v (want height and width)", c.CropSize)
	}
	if c.DoNormalize {
		for i, s := range c.Std {
			if float32(s) == 0 {
				return fmt.Errorf("imageproc: image_std[%d] is zero", i)
			}
		}
	}
	return nil
}
