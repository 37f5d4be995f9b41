package clip

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/tokenizer"
)

// folder is what a model folder says besides its weights: the config, the
// image preprocessing, the tokenizer, and the files they were read from,
// with the bytes that were read (the fingerprint hashes exactly those).
type folder struct {
	dir  string
	cfg  Config
	pre  imageproc.Config
	tok  *tokenizer.Tokenizer // nil: the built-in CLIP vocabulary
	read []readFile           // in the order they were read
}

// readFile is a small file of the folder and the bytes read from it.
type readFile struct {
	name string // relative to the folder
	data []byte
}

// readFolder reads the description of a model folder:
//
//   - the model: config.json when there is one, otherwise
//     open_clip_config.json;
//   - the preprocessing: preprocessor_config.json, else the preprocess_cfg
//     of open_clip_config.json (also next to a config.json, as LAION's
//     repositories have it), else CLIP's at the model's image size;
//   - the tokenizer: vocab.json + merges.txt, else the built-in vocabulary.
func readFolder(dir string) (*folder, error) {
	f := &folder{dir: dir}
	hasHF, hasOC := exists(filepath.Join(dir, "config.json")), exists(filepath.Join(dir, OpenCLIPConfigFile))
	hasPre := exists(filepath.Join(dir, "preprocessor_config.json"))

	var ocPre *imageproc.Config // the preprocessing open_clip_config.json prescribes
	switch {
	case hasHF || !hasOC:
		data, err := f.readSmall("config.json")
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no config.json or %s: %w", OpenCLIPConfigFile, err)
		} else if err != nil {
			return nil, err
		}
		if f.cfg, err = ParseConfig(data); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
		}
		if hasOC && !hasPre {
			// A Hugging Face config next to OpenCLIP's and no preprocessor
			// file: the image recipe comes from open_clip_config.json.
			occ, err := f.readSmall(OpenCLIPConfigFile)
			if err != nil {
				return nil, err
			}
			var file struct {
				PreprocessCfg json.RawMessage `json:"preprocess_cfg"`
			}
			if err := json.Unmarshal(occ, &file); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OpenCLIPConfigFile), err)
			}
			pre, err := parseOpenCLIPPreprocess(file.PreprocessCfg, f.cfg.Vision.ImageSize)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OpenCLIPConfigFile), err)
			}
			ocPre = &pre
		}
	default:
		occ, err := f.readSmall(OpenCLIPConfigFile)
		if err != nil {
			return nil, err
		}
		cfg, pre, err := ParseOpenCLIPConfig(occ)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OpenCLIPConfigFile), err)
		}
		f.cfg, ocPre = cfg, &pre
	}

	f.pre = imageproc.DefaultConfig()
	s := f.cfg.Vision.ImageSize
	f.pre.Size = imageproc.Size{ShortestEdge: s}
	f.pre.CropSize = imageproc.Size{Height: s, Width: s}
	switch {
	case hasPre:
		data, err := f.readSmall("preprocessor_config.json")
		if err != nil {
			return nil, err
		}
		if f.pre, err = imageproc.ParseConfig(data); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "preprocessor_config.json"), err)
		}
	case ocPre != nil:
		f.pre = *ocPre
	}
	if h, w := f.pre.OutputSize(); h != s || w != s {
		return nil, fmt.Errorf("preprocessor_config.json makes %dx%d images, the vision tower takes %dx%d", w, h, s, s)
	}

	if exists(filepath.Join(dir, "vocab.json")) || exists(filepath.Join(dir, "merges.txt")) {
		vocab, err := f.readSmall("vocab.json")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		merges, err := f.readSmall("merges.txt")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if f.tok, err = tokenizer.Parse(vocab, filepath.Join(dir, "vocab.json"), merges, filepath.Join(dir, "merges.txt")); err != nil {
			return nil, err
		}
	} else {
		slog.Debug("model folder has no vocab.json/merges.txt: using the built-in CLIP vocabulary", "dir", dir)
	}
	return f, nil
}

// maxSmallFile caps a config or tokenizer file: the largest, vocab.json,
// is about 1 MB for CLIP.
const maxSmallFile = 64 << 20

// readSmall reads a config or tokenizer file of the folder and records it.
func (f *folder) readSmall(name string) ([]byte, error) {
	path := filepath.Join(f.dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxSmallFile {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", path, maxSmallFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f.read = append(f.read, readFile{name, data})
	return data, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
