package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
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
