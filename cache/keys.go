package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Kind separates the embeddings of a model: images and texts live in
// different buckets, so a text that looks like a content key can never
// return an image's vector.
type Kind string

// The kinds of entry.
const (
	Image Kind = "image"
	Text  Kind = "text"
)

const (
	// maxModelLen bounds a model fingerprint (a bucket name).
	maxModelLen = 1024
	// maxImageKeyLen bounds an image content key.
	maxImageKeyLen = 1024
	// maxInlineText is the longest text stored as its own key; longer
	// texts are keyed by their SHA-256.
	maxInlineText = 512
)

// Fingerprint hashes parts into a model fingerprint: the hex SHA-256 of
// each part's length (8 bytes, little-endian) followed by its bytes. The
// length prefixes make the split unambiguous: ("ab", "c") and ("a", "bc")
// differ. Callers pass whatever determines the embeddings, such as the
// model config, the identity of its weight files and the preprocessing
// config.
func Fingerprint(parts ...[]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ContentKey returns the key of an image by its content: the hex SHA-256
// of everything r yields. Renaming or moving a file keeps its key; editing
// it changes the key.
func ContentKey(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("cache: content key: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FileKey returns ContentKey of the file at path.
func FileKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cache: content key of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkModel validates a model fingerprint.
func checkModel(model string) error {
	if model == "" {
		return errors.New("cache: empty model fingerprint")
	}
	if len(model) > maxModelLen {
		return fmt.Errorf("cache: model fingerprint of %d bytes is longer than %d", len(model), maxModelLen)
	}
	return nil
}

// entryKey returns the stored key of an entry. Image keys are stored as
// given. A text is stored as 't' followed by the text, or, when longer
// than maxInlineText, as 'h' followed by its SHA-256, so the two forms
// never collide.
func entryKey(kind Kind, key string) ([]byte, error) {
	switch kind {
	case Image:
		if key == "" {
			return nil, errors.New("cache: empty image key")
		}
		if len(key) > maxImageKeyLen {
			return nil, fmt.Errorf("cache: image key of %d bytes is longer than %d", len(key), maxImageKeyLen)
		}
		return []byte(key), nil
	case Text:
		if len(key) > maxInlineText {
			sum := sha256.Sum256([]byte(key))
			return append([]byte{'h'}, sum[:]...), nil
		}
		return append([]byte{'t'}, key...), nil
	}
	return nil, fmt.Errorf("cache: unknown kind %q", kind)
}
