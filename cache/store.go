package cache

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// GetImage returns the embedding of the image with content key key (the
// SHA-256 of its bytes, imageproc.Input.Key) under model, and whether it was found. A stored entry that
// fails validation is reported (see [Options.OnCorrupt]) and returned as a
// miss.
func (c *Cache) GetImage(model, key string) ([]float32, bool, error) {
	vs, err := c.getMany(Image, model, []string{key})
	if err != nil {
		return nil, false, err
	}
	return vs[0], vs[0] != nil, nil
}

// GetImages looks up a batch of image keys in one transaction. The result
// is aligned with keys; a miss is nil.
func (c *Cache) GetImages(model string, keys []string) ([][]float32, error) {
	return c.getMany(Image, model, keys)
}

// PutImages stores a batch of image embeddings, keyed by content key, in
// one transaction: when it returns nil, all of them are on disk; after a
// crash during the call, none or all of them are.
func (c *Cache) PutImages(model string, entries map[string][]float32) error {
	return c.put(Image, model, entries)
}

// GetText returns the embedding of a text under model, and whether it was
// found.
func (c *Cache) GetText(model, text string) ([]float32, bool, error) {
	vs, err := c.getMany(Text, model, []string{text})
	if err != nil {
		return nil, false, err
	}
	return vs[0], vs[0] != nil, nil
}

// GetTexts looks up a batch of texts in one transaction. The result is
// aligned with texts; a miss is nil.
func (c *Cache) GetTexts(model string, texts []string) ([][]float32, error) {
	return c.getMany(Text, model, texts)
}

// PutTexts stores a batch of text embeddings, keyed by the text, in one
// transaction.
func (c *Cache) PutTexts(model string, entries map[string][]float32) error {
	return c.put(Text, model, entries)
}

// kindBucket returns the bucket of model and kind, or nil if it does not
// exist yet.
func kindBucket(tx *bolt.Tx, model string, kind Kind) *bolt.Bucket {
	ms := tx.Bucket(modelsBucket)
	if ms == nil {
		return nil
	}
	m := ms.Bucket([]byte(model))
	if m == nil {
		return nil
	}
	return m.Bucket([]byte(kind))
}

func (c *Cache) getMany(kind Kind, model string, keys []string) ([][]float32, error) {
	if err := checkModel(model); err != nil {
		return nil, err
	}
	stored := make([][]byte, len(keys))
	for i, k := range keys {
		sk, err := entryKey(kind, k)
		if err != nil {
			return nil, err
		}
		stored[i] = sk
	}
	out := make([][]float32, len(keys))
	var bad []CorruptEntry
	err := c.view("get "+string(kind)+" embeddings from", func(tx *bolt.Tx) error {
		b := kindBucket(tx, model, kind)
		if b == nil {
			return nil
		}
		for i, sk := range stored {
			raw := b.Get(sk)
			if raw == nil {
				continue
			}
			v, err := decodeVector(raw)
			if err != nil {
				bad = append(bad, CorruptEntry{Model: model, Kind: kind, Key: keys[i], Err: err})
				continue
			}
			out[i] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var hits int64
	for _, v := range out {
		if v != nil {
			hits++
		}
	}
	c.hits.Add(hits)
	c.misses.Add(int64(len(out)) - hits)
	c.corrupt.Add(int64(len(bad)))
	if c.onCorrupt != nil {
		for _, e := range bad {
			c.onCorrupt(e)
		}
	}
	return out, nil
}

func (c *Cache) put(kind Kind, model string, entries map[string][]float32) error {
	if err := checkModel(model); err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	type kv struct{ k, v []byte }
	batch := make([]kv, 0, len(entries))
	for key, vec := range entries {
		sk, err := entryKey(kind, key)
		if err != nil {
			return err
		}
		v, err := encodeVector(vec)
		if err != nil {
			return fmt.Errorf("cache: %s embedding for %q: %w", kind, key, err)
		}
		batch = append(batch, kv{sk, v})
	}
	// Sorted inserts touch each B+tree page once.
	slices.SortFunc(batch, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	return c.update("put "+string(kind)+" embeddings in", func(tx *bolt.Tx) error {
		ms, err := tx.CreateBucketIfNotExists(modelsBucket)
		if err != nil {
			return err
		}
		m, err := ms.CreateBucketIfNotExists([]byte(model))
		if err != nil {
			return err
		}
		b, err := m.CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
}
