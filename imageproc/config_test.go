package imageproc

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfigKit(t *testing.T) {
	for _, model := range []string{"tiny-synth", "vit-b-32-synth"} {
		cfg, err := LoadConfig(filepath.Join(kitDir, "models", model, "preprocessor_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cfg, DefaultConfig()) {
			t.Errorf("%s: %+v, want the CLIP defaults", model, cfg)
		}
		if h, w := cfg.OutputSize(); h != 224 || w != 224 {
			t.Errorf("%s: output %dx%d", model, h, w)
		}
	}
}

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	with := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	cases := []struct {
		json string
		want Config
	}{
		{`{}`, def},
		{`{"size": 224, "crop_size": 224}`, def},
		{`{"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}}`,
			with(func(c *Config) { c.Size = Size{ShortestEdge: 336}; c.CropSize = Size{Height: 336, Width: 336} })},
		{`{"size": {"height": 256, "width": 384}, "do_center_crop": false}`,
			with(func(c *Config) { c.Size = Size{Height: 256, Width: 384}; c.DoCenterCrop = false })},
		{`{"image_mean": [0.5, 0.5, 0.5], "image_std": 0.5, "resample": 2}`,
			with(func(c *Config) {
				c.Mean = [3]float64{0.5, 0.5, 0.5}
				c.Std = [3]float64{0.5, 0.5, 0.5}
				c.Resample = Bilinear
			})},
		{`{"do_rescale": false, "rescale_factor": 0.5, "do_normalize": false, "do_convert_rgb": false, "do_resize": false}`,
			with(func(c *Config) {
				c.DoRescale, c.RescaleFactor, c.DoNormalize, c.DoConvertRGB, c.DoResize = false, 0.5, false, false, false
			})},
		{`{"size": null, "crop_size": null, "image_processor_type": "CLIPImageProcessor", "crop_pct": 0.9}`, def},
		{`{"resample": 1}`, with(func(c *Config) { c.Resample = Lanczos })},
		// CLIPImageProcessor.resize reads only shortest_edge.
		{`{"size": {"shortest_edge": 224, "longest_edge": 1000}}`, def},
	}
	for _, c := range cases {
		got, err := ParseConfig([]byte(c.json))
		if err != nil {
			t.Errorf("%s: %v", c.json, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.json, got, c.want)
		}
	}

	bad := []struct{ json, reason string }{
		{`{"resample": 0}`, "nearest"},
		{`{"resample": 7}`, "Filter(7)"},
		{`{"size": {"longest_edge": 3}}`, "size"},
		{`{"size": "big"}`, "size"},
		{`{"size": -3}`, "size"},
		{`{"crop_size": {"shortest_edge": 224}}`, "crop"},
		{`{"image_mean": [0.5, 0.5]}`, "image_mean"},
		{`{"image_std": [0, 1, 1]}`, "image_std"},
		{`[1, 2]`, "the JSON is an array, want an object"},
		{`{`, "not valid JSON"},
	}
	for _, c := range bad {
		_, err := ParseConfig([]byte(c.json))
		if err == nil {
			t.Errorf("%s: accepted", c.json)
		} else if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: error %q does not mention %q", c.json, err, c.reason)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
	path := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(path, []byte(`{"resample": 9}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file: %v", err)
	}
}

func TestFormat(t *testing.T) {
	for head, want := range map[string]string{
		"\xff\xd8\xff\xe0": "JPEG", "\x89PNG\r\n\x1a\n": "PNG", "GIF89a": "GIF", "BM": "BMP",
		"II*\x00": "TIFF", "RIFF\x00\x00\x00\x00WEBP": "WebP", "RIFF\x00\x00\x00\x00WAVE": "", "hello": "", "": "",
	} {
		if got := Format([]byte(head)); got != want {
			t.Errorf("Format(%q) = %q, want %q", head, got, want)
		}
	}
}
