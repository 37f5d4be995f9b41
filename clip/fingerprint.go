package clip

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"path/filepath"
	"unsafe"

	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/internal/filehash"
)

// Fingerprint identifies what the model computes: two models with the same
// fingerprint give the same embeddings, so caches key embeddings by it.
//
// For a folder it is the SHA-256 of every file Load read, by name and
// whole content: the config (config.json or open_clip_config.json), the
// preprocessing, the tokenizer files, and the weights (the checkpoint
// file, or a sharded index and each shard it names). A file Load did not
// read (another weight format, a stray shard, a README) changes nothing;
// any byte of one it read changes the fingerprint. Weight files are hashed
// while the towers are built; with Options.HashMemo an unchanged file's
// hash is remembered, so later loads read nothing extra. For a model made
// with New it hashes the config and every value of every tensor.
//
// An Int8 model's fingerprint differs from its FP32 one (its embeddings
// differ), so the two never share cache entries. Its suffix names the
// quantization (int8 Linear with 7-bit weights, tensor.PackInt8): a change
// to it must change the suffix, or caches would serve the old embeddings.
func (m *Model) Fingerprint() string {
	if m.precision == Int8 {
		return m.fingerprint + "-int8w7"
	}
	return m.fingerprint
}

func lengthPrefixed(h hash.Hash, b []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// folderFingerprint hashes the small files f read and the weight files of
// its checkpoint; memo (a folder, or "") remembers the weight files' hashes.
func folderFingerprint(f *folder, weights []checkpoint.File, memo string) (string, error) {
	h := sha256.New()
	lengthPrefixed(h, []byte("goclip model v2"))
	for _, r := range f.read {
		sum := sha256.Sum256(r.data)
		lengthPrefixed(h, []byte(r.name))
		lengthPrefixed(h, sum[:])
	}
	var m *filehash.Memo
	if memo != "" {
		m = filehash.NewMemo(memo)
	}
	for _, w := range weights {
		sum, err := m.SumFile(w.Path, w.Info)
		if err != nil {
			return "", fmt.Errorf("fingerprint: %w", err)
		}
		name, err := filepath.Rel(f.dir, w.Path)
		if err != nil {
			name = filepath.Base(w.Path)
		}
		lengthPrefixed(h, []byte(filepath.ToSlash(name)))
		lengthPrefixed(h, []byte(sum))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// weightsFingerprint hashes the config and, for each tensor in name order,
// its name, shape and every value.
func weightsFingerprint(c Config, w Weights) (string, error) {
	h := sha256.New()
	lengthPrefixed(h, []byte("goclip weights v2"))
	lengthPrefixed(h, []byte(fmt.Sprintf("%+v", c)))
	for _, name := range TensorNames(c) {
		shape, data, err := w.Tensor(name)
		if err != nil {
			return "", err
		}
		lengthPrefixed(h, []byte(fmt.Sprint(name, shape)))
		if len(data) > 0 {
			h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))) // the float32s as they lie in memory
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
