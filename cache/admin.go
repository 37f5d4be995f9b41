package cache

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Stats describes the contents of a cache.
type Stats struct {
	Path     string
	FileSize int64        // bytes on disk; bbolt reuses freed pages but never shrinks the file
	Models   []ModelStats // in fingerprint order
}

// ModelStats counts the entries of one model.
type ModelStats struct {
	Model  string
	Images int
	Texts  int
}

// Stats counts the entries of every model.
func (c *Cache) Stats() (Stats, error) {
	s := Stats{Path: c.path}
	err := c.view("read statistics of", func(tx *bolt.Tx) error {
		s.FileSize = tx.Size()
		ms := tx.Bucket(modelsBucket)
		if ms == nil {
			return nil
		}
		return ms.ForEachBucket(func(name []byte) error {
			m := ms.Bucket(name)
			st := ModelStats{Model: string(name)}
			if b := m.Bucket([]byte(Image)); b != nil {
				st.Images = b.Stats().KeyN
			}
			if b := m.Bucket([]byte(Text)); b != nil {
				st.Texts = b.Stats().KeyN
			}
			s.Models = append(s.Models, st)
			return nil
		})
	})
	if err != nil {
		return Stats{}, err
	}
	if fi, err := os.Stat(c.path); err == nil {
		s.FileSize = fi.Size()
	}
	return s, nil
}

// DeleteModel removes every entry of model and reports whether it had any.
func (c *Cache) DeleteModel(model string) (bool, error) {
	if err := checkModel(model); err != nil {
		return false, err
	}
	found := false
	err := c.update("delete model from", func(tx *bolt.Tx) error {
		ms := tx.Bucket(modelsBucket)
		if ms == nil || ms.Bucket([]byte(model)) == nil {
			return nil
		}
		found = true
		return ms.DeleteBucket([]byte(model))
	})
	return found, err
}

// Prune removes every model not in keep, in one transaction, and returns
// the fingerprints it removed.
func (c *Cache) Prune(keep []string) ([]string, error) {
	keepSet := make(map[string]bool, len(keep))
	for _, k := range keep {
		keepSet[k] = true
	}
	var removed []string
	err := c.update("prune", func(tx *bolt.Tx) error {
		removed = removed[:0]
		ms := tx.Bucket(modelsBucket)
		if ms == nil {
			return nil
		}
		// Collect first: a bucket must not change while it is iterated.
		if err := ms.ForEachBucket(func(name []byte) error {
			if !keepSet[string(name)] {
				removed = append(removed, string(name))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, name := range removed {
			if err := ms.DeleteBucket([]byte(name)); err != nil {
				return fmt.Errorf("delete model %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}
