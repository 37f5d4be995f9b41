package hub

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/goclip/goclip/tokenizer"
)

// Files goclip may need, by role. Everything else in a repository (the
// TensorFlow, Flax and ONNX exports, READMEs, ...) is never downloaded.
const (
	fileConfig         = "config.json"
	filePreprocessor   = "preprocessor_config.json"
	fileSafetensors    = "model.safetensors"
	fileSafetensorsIdx = "model.safetensors.index.json"
	fileTorch          = "pytorch_model.bin"
	fileTorchIdx       = "pytorch_model.bin.index.json"
	fileOpenCLIPConfig = "open_clip_config.json"
	fileOpenCLIPSafe   = "open_clip_model.safetensors"
	fileOpenCLIPTorch  = "open_clip_pytorch_model.bin"
)

// Format names the checkpoint layout SelectFiles picked.
type Format string

const (
	// FormatTransformers is a Hugging Face transformers CLIPModel folder
	// (config.json, preprocessor_config.json, model.safetensors or
	// pytorch_model.bin, possibly sharded).
	FormatTransformers Format = "transformers"
	// FormatOpenCLIP is an OpenCLIP folder (open_clip_config.json with
	// open_clip_model.safetensors or open_clip_pytorch_model.bin).
	FormatOpenCLIP Format = "open_clip"
)

// SelectFiles chooses, from the names of a repository's files, the ones
// goclip downloads, in a stable order (configuration first, weights last).
//
// A transformers folder gives config.json, preprocessor_config.json and the
// tokenizer files present, plus one weight format: model.safetensors, else
// the sharded model.safetensors.index.json (its shards are added once the
// index is read, see [ShardFiles]), else pytorch_model.bin, else its sharded
// index. An OpenCLIP folder gives open_clip_config.json, the tokenizer files
// present and open_clip_model.safetensors, else open_clip_pytorch_model.bin.
//
// Repositories with both layouts (the LAION ones) are read as transformers
// folders, except when preprocessor_config.json is missing: then config.json
// is not a CLIPModel configuration (timm's repositories, for instance, ship a
// timm config.json and a vision-only model.safetensors next to the OpenCLIP
// files) and the OpenCLIP files are used.
func SelectFiles(repoFiles []string) ([]string, Format, error) {
	has := make(map[string]bool, len(repoFiles))
	for _, f := range repoFiles {
		has[f] = true
	}
	hfWeights := firstPresent(has, fileSafetensors, fileSafetensorsIdx, fileTorch, fileTorchIdx)
	ocWeights := firstPresent(has, fileOpenCLIPSafe, fileOpenCLIPTorch)
	openCLIP := has[fileOpenCLIPConfig] && ocWeights != ""
	transformers := has[fileConfig] && hfWeights != "" && (has[filePreprocessor] || !openCLIP)

	var out []string
	var format Format
	switch {
	case transformers:
		format = FormatTransformers
		out = append(out, fileConfig)
		if has[filePreprocessor] {
			out = append(out, filePreprocessor)
		}
	case openCLIP:
		format = FormatOpenCLIP
		out = append(out, fileOpenCLIPConfig)
	case !has[fileConfig] && !has[fileOpenCLIPConfig]:
		return nil, "", fmt.Errorf("hub: no config.json or open_clip_config.json: not a transformers or OpenCLIP model")
	default:
		return nil, "", fmt.Errorf("hub: no usable weights (want %s, %s or %s)", fileSafetensors, fileTorch, fileOpenCLIPSafe)
	}
	for _, f := range tokenizer.Files() { // whenever the repository has them
		if has[f] {
			out = append(out, f)
		}
	}
	if format == FormatTransformers {
		out = append(out, hfWeights)
	} else {
		out = append(out, ocWeights)
	}
	return out, format, nil
}

func firstPresent(has map[string]bool, names ...string) string {
	for _, n := range names {
		if has[n] {
			return n
		}
	}
	return ""
}

// isShardIndex reports whether a selected file is a sharded-weights index
// whose shards must be fetched too.
func isShardIndex(name string) bool {
	return name == fileSafetensorsIdx || name == fileTorchIdx
}

// ShardFiles returns the distinct shard file names listed in the
// "weight_map" of a model.safetensors.index.json (or
// pytorch_model.bin.index.json), sorted.
func ShardFiles(index []byte) ([]string, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("hub: reading shard index: %w", inner(err))
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("hub: shard index has an empty weight_map")
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range idx.WeightMap {
		if err := validateRepoFile(f); err != nil {
			return nil, err
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}
