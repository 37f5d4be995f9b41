package clip_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
)

func fingerprintOf(t *testing.T, dir, memo string) string {
	t.Helper()
	m, err := clip.Load(dir, clip.Options{Lazy: true, HashMemo: memo})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	return m.Fingerprint()
}

// tensorOffset returns where a tensor's data starts in a safetensors file,
// and its length in bytes.
func tensorOffset(t *testing.T, path, name string) (int64, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var info struct {
		Offsets [2]int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(header[name], &info); err != nil {
		t.Fatal(err)
	}
	return 8 + int64(n) + info.Offsets[0], info.Offsets[1] - info.Offsets[0]
}

// flipByte changes one byte of a file in place, keeping its size.
func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10 // a mantissa bit of a float32: a finite weight stays finite
	if _, err := f.WriteAt(b[:], at); err != nil {
		t.Fatal(err)
	}
}

// The fingerprint covers every byte of the files Load reads, and no other
// file: one byte in the middle of a vision MLP changes it; stray weight
// files, shards of another model and an unread OpenCLIP config do not.
func TestFingerprintEveryByte(t *testing.T) {
	dir := modelFolder(t, "tiny-synth")
	weights := filepath.Join(dir, "model.safetensors")
	copyFile(t, kit+"models/tiny-synth/model.safetensors", weights)
	memo := t.TempDir()
	base := fingerprintOf(t, dir, memo)
	if again := fingerprintOf(t, dir, memo); again != base {
		t.Fatalf("same folder, fingerprints %s and %s", base, again)
	}

	for name, data := range map[string]string{
		"model-00001-of-00002.safetensors": "a shard of some other model",
		"pytorch_model.bin":                "an older copy of the weights",
		"open_clip_config.json":            `{"model_cfg": {"embed_dim": 7}}`, // not read: config.json and preprocessor_config.json win
		"README.md":                        "# notes",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := fingerprintOf(t, dir, memo); got != base {
		t.Errorf("stray files changed the fingerprint: %s, was %s", got, base)
	}

	// A byte in the middle of the file (the tiny model's middle is its
	// token embedding), away from the first and last MiB.
	off, size := tensorOffset(t, weights, "text_model.embeddings.token_embedding.weight")
	at := off + size/2
	if fi, _ := os.Stat(weights); at < 1<<20 || at > fi.Size()-1<<20 {
		t.Fatalf("byte %d of %d is not in the middle", at, fi.Size())
	}
	flipByte(t, weights, at)
	edited := fingerprintOf(t, dir, memo)
	if edited == base {
		t.Fatal("one byte in the middle of the weights changed, the fingerprint did not")
	}
	if fingerprintOf(t, dir, "") != edited {
		t.Error("fingerprints with and without a hash memo differ")
	}
}

// Sharded checkpoints: every shard the index names is hashed, .bin shards
// as much as safetensors ones; a shard file the index does not name is not.
func TestFingerprintShards(t *testing.T) {
	all := tinyTensors(t)
	for _, format := range []string{"safetensors", "bin"} {
		t.Run(format, func(t *testing.T) {
			dir := modelFolder(t, "tiny-synth")
			shardName := func(i int) string { return fmt.Sprintf("model-%05d-of-00002.%s", i, format) }
			if format == "bin" {
				shardName = func(i int) string { return fmt.Sprintf("pytorch_model-%05d-of-00002.bin", i) }
			}
			weightMap := map[string]string{}
			half := len(all) / 2
			for i, part := range [][]checkpoint.NamedTensor{all[:half], all[half:]} {
				path := filepath.Join(dir, shardName(i+1))
				var err error
				if format == "bin" {
					err = checkpoint.WritePyTorch(path, part, checkpoint.F32)
				} else {
					err = checkpoint.WriteSafetensors(path, part, checkpoint.F32, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, tn := range part {
					weightMap[tn.Name] = shardName(i + 1)
				}
			}
			index, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
			indexName := "model.safetensors.index.json"
			if format == "bin" {
				indexName = "pytorch_model.bin.index.json"
			}
			if err := os.WriteFile(filepath.Join(dir, indexName), index, 0o644); err != nil {
				t.Fatal(err)
			}
			base := fingerprintOf(t, dir, "")

			stray := strings.Replace(shardName(2), "00002-of", "00003-of", 1)
			os.WriteFile(filepath.Join(dir, stray), []byte("not in the index"), 0o644)
			if got := fingerprintOf(t, dir, ""); got != base {
				t.Errorf("a shard the index does not name changed the fingerprint")
			}

			// The shard with the token embedding is the larger: a byte in
			// its middle, away from its first and last MiB.
			shard := filepath.Join(dir, weightMap["text_model.embeddings.token_embedding.weight"])
			fi, err := os.Stat(shard)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() < 3<<20 {
				t.Fatalf("%s has only %d bytes", shard, fi.Size())
			}
			flipByte(t, shard, fi.Size()/2)
			if got := fingerprintOf(t, dir, ""); got == base {
				t.Errorf("a byte in the middle of %s changed, the fingerprint did not", filepath.Base(shard))
			}
		})
	}
}

// tinyTensors reads the tiny model's tensors into memory.
func tinyTensors(t *testing.T) []checkpoint.NamedTensor {
	t.Helper()
	src, err := checkpoint.Open(kit + "models/tiny-synth/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var all []checkpoint.NamedTensor
	for _, n := range src.Names() {
		tn, _ := src.Tensor(n)
		data, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, checkpoint.NamedTensor{Name: n, Shape: tn.Shape, Data: slices.Clone(data)})
	}
	return all
}

// Weights that cannot give finite scores are refused when the model is
// loaded, naming the tensor.
func TestNonFiniteWeightsRefused(t *testing.T) {
	for _, c := range []struct {
		tensor string
		index  int
		value  float32
		says   string
	}{
		{"logit_scale", 0, float32(math.NaN()), "logit_scale"},
		{"logit_scale", 0, 1e30, "logit_scale"},
		{"logit_scale", 0, -1e30, "logit_scale"},
		{"vision_model.encoder.layers.1.mlp.fc2.weight", 7, float32(math.Inf(1)), "vision_model.encoder.layers.1.mlp.fc2.weight"},
		{"text_model.final_layer_norm.bias", 3, float32(math.NaN()), "text_model.final_layer_norm.bias"},
		{"vision_model.embeddings.patch_embedding.weight", 11, float32(math.Inf(-1)), "vision_model.embeddings.patch_embedding.weight"},
		{"text_projection.weight", 0, float32(math.NaN()), "text_projection.weight"},
		{"text_model.encoder.layers.0.self_attn.k_proj.weight", 5, float32(math.NaN()), "text_model.encoder.layers.0.self_attn.{q,k,v}_proj.weight"},
	} {
		all := tinyTensors(t)
		for i := range all {
			if all[i].Name == c.tensor {
				all[i].Data[c.index] = c.value
			}
		}
		dir := modelFolder(t, "tiny-synth")
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), all, checkpoint.F32, nil); err != nil {
			t.Fatal(err)
		}
		m, err := clip.Load(dir, clip.Options{})
		if err == nil {
			m.Close()
			t.Errorf("%s[%d] = %v: loaded", c.tensor, c.index, c.value)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s[%d] = %v: error %q does not name the tensor", c.tensor, c.index, c.value, err)
		}
	}
}

// The token embedding is read row by row, as texts need it: a damaged row
// is refused when a text uses it, naming the tensor and the token.
func TestNonFiniteTokenRow(t *testing.T) {
	all := tinyTensors(t)
	for i := range all {
		if all[i].Name == "text_model.embeddings.token_embedding.weight" {
			all[i].Data[1929*all[i].Shape[1]+2] = float32(math.NaN()) // "dog"
		}
	}
	dir := modelFolder(t, "tiny-synth")
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), all, checkpoint.F32, nil); err != nil {
		t.Fatal(err)
	}
	m, err := clip.Load(dir, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.EncodeTexts(context.Background(), []string{"a photo of a cat"}); err != nil {
		t.Errorf("a text without the damaged token: %v", err)
	}
	_, err = m.EncodeTexts(context.Background(), []string{"a photo of a dog"})
	if err == nil || !strings.Contains(err.Error(), "token_embedding") || !strings.Contains(err.Error(), "1929") {
		t.Errorf("a text with the damaged token: err = %v", err)
	}
}
