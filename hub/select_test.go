package hub

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectFiles(t *testing.T) {
	hfTok := []string{"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
	cases := []struct {
		name   string
		repo   []string
		want   []string
		format Format
		err    string
	}{
		{
			name: "openai/clip-vit-base-patch32",
			repo: []string{".gitattributes", "README.md", "config.json", "flax_model.msgpack", "merges.txt",
				"model.safetensors", "preprocessor_config.json", "pytorch_model.bin", "special_tokens_map.json",
				"tf_model.h5", "tokenizer.json", "tokenizer_config.json", "vocab.json"},
			want:   append(append([]string{"config.json", "preprocessor_config.json"}, hfTok...), "model.safetensors"),
			format: FormatTransformers,
		},
		{
			name:   "bin only",
			repo:   []string{"config.json", "preprocessor_config.json", "pytorch_model.bin", "tf_model.h5", "vocab.json", "merges.txt"},
			want:   []string{"config.json", "preprocessor_config.json", "vocab.json", "merges.txt", "pytorch_model.bin"},
			format: FormatTransformers,
		},
		{
			name: "sharded safetensors beats bin",
			repo: []string{"config.json", "preprocessor_config.json", "model.safetensors.index.json",
				"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "pytorch_model.bin", "model.onnx"},
			want:   []string{"config.json", "preprocessor_config.json", "model.safetensors.index.json"},
			format: FormatTransformers,
		},
		{
			name:   "sharded bin",
			repo:   []string{"config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin"},
			want:   []string{"config.json", "pytorch_model.bin.index.json"},
			format: FormatTransformers,
		},
		{
			name: "LAION: both layouts, transformers wins",
			repo: []string{"config.json", "preprocessor_config.json", "model.safetensors", "open_clip_config.json",
				"open_clip_model.safetensors", "open_clip_pytorch_model.bin", "pytorch_model.bin", "tokenizer.json"},
			want:   []string{"config.json", "preprocessor_config.json", "tokenizer.json", "model.safetensors"},
			format: FormatTransformers,
		},
		{
			name: "timm: OpenCLIP files next to a timm config",
			repo: []string{"config.json", "model.safetensors", "open_clip_config.json", "open_clip_model.safetensors",
				"open_clip_pytorch_model.bin", "pytorch_model.bin"},
			want:   []string{"open_clip_config.json", "open_clip_model.safetensors"},
			format: FormatOpenCLIP,
		},
		{
			name:   "OpenCLIP bin only",
			repo:   []string{"open_clip_config.json", "open_clip_pytorch_model.bin", "vocab.json", "merges.txt"},
			want:   []string{"open_clip_config.json", "vocab.json", "merges.txt", "open_clip_pytorch_model.bin"},
			format: FormatOpenCLIP,
		},
		{name: "TensorFlow only", repo: []string{"config.json", "tf_model.h5", "flax_model.msgpack", "model.onnx"}, err: "no usable weights"},
		{name: "not a model", repo: []string{"README.md", "model.safetensors"}, err: "no config.json"},
		{name: "empty", repo: nil, err: "no config.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, format, err := SelectFiles(tc.repo)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) || format != tc.format {
				t.Errorf("SelectFiles = %v (%s)\nwant %v (%s)", got, format, tc.want, tc.format)
			}
			for _, f := range got {
				if strings.HasSuffix(f, ".h5") || strings.HasSuffix(f, ".msgpack") || strings.HasSuffix(f, ".onnx") {
					t.Errorf("selected %s", f)
				}
			}
		})
	}
}

func TestShardFiles(t *testing.T) {
	got, err := ShardFiles([]byte(`{"metadata":{"total_size":1},"weight_map":{"a":"s2.safetensors","b":"s1.safetensors","c":"s2.safetensors"}}`))
	if err != nil || !slices.Equal(got, []string{"s1.safetensors", "s2.safetensors"}) {
		t.Errorf("ShardFiles = %v, %v", got, err)
	}
	for _, bad := range []string{`{}`, `not json`, `{"weight_map":{"a":"../../x"}}`, `{"weight_map":{"a":"/etc/passwd"}}`} {
		if _, err := ShardFiles([]byte(bad)); err == nil {
			t.Errorf("ShardFiles(%s) accepted", bad)
		}
	}
}
