package clip

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Fingerprint identifies what the model computes: two models with the same
// fingerprint give the same embeddings, so caches key embeddings by it.
// For a folder it hashes config.json, preprocessor_config.json, the
// tokenizer files and, for each weight file, its name, size and the
// SHA-256 of its first and last MiB (a full hash of a 600 MB file would cost
// more than the cache saves on small runs; any real change of weights
// changes those bytes or the size). For a model made with New it hashes the
// config and a sample of every tensor.
//
// An Int8 model's fingerprint differs from its FP32 one (its embeddings
// differ), so the two never share cache entries.
func (m *Model) Fingerprint() string {
	if m.precision == Int8 {
		return m.fingerprint + "-int8"
	}
	return m.fingerprint
}

func lengthPrefixed(h hash.Hash, b []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// folderFingerprint computes the fingerprint of a model folder whose
// weights were read from weightFile.
func folderFingerprint(dir, weightFile string) (string, error) {
	h := sha256.New()
	lengthPrefixed(h, []byte("goclip model v1"))
	for _, name := range []string{"config.json", "preprocessor_config.json", "vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			return "", err
		}
		lengthPrefixed(h, []byte(name))
		lengthPrefixed(h, b)
	}
	files := []string{weightFile}
	// A sharded index lists its shards next to it.
	if shards, err := filepath.Glob(filepath.Join(filepath.Dir(weightFile), "*-of-*.safetensors")); err == nil && filepath.Ext(weightFile) == ".json" {
		sort.Strings(shards)
		files = append(files, shards...)
	}
	for _, f := range files {
		if err := fileSample(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileSample hashes a file's base name, size, first MiB and last MiB.
func fileSample(h hash.Hash, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	const mib = 1 << 20
	lengthPrefixed(h, []byte(filepath.Base(path)))
	lengthPrefixed(h, []byte(fmt.Sprint(fi.Size())))
	buf := make([]byte, min(fi.Size(), mib))
	if _, err := io.ReadFull(f, buf); err != nil {
		return fmt.Errorf("fingerprint %s: %w", path, err)
	}
	h.Write(buf)
	if fi.Size() > mib {
		if _, err := f.ReadAt(buf, fi.Size()-int64(len(buf))); err != nil {
			return fmt.Errorf("fingerprint %s: %w", path, err)
		}
		h.Write(buf)
	}
	return nil
}

// weightsFingerprint hashes the config and, for each tensor in name order,
// its shape and up to its first 4096 and last 4096 values.
func weightsFingerprint(c Config, w Weights) (string, error) {
	h := sha256.New()
	lengthPrefixed(h, []byte("goclip weights v1"))
	lengthPrefixed(h, []byte(fmt.Sprintf("%+v", c)))
	var buf [4]byte
	for _, name := range TensorNames(c) {
		shape, data, err := w.Tensor(name)
		if err != nil {
			return "", err
		}
		lengthPrefixed(h, []byte(fmt.Sprint(name, shape)))
		head, tail := data[:min(len(data), 4096)], data[max(0, len(data)-4096):]
		for _, part := range [][]float32{head, tail} {
			for _, v := range part {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				h.Write(buf[:])
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
