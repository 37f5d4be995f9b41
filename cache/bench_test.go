package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"path/filepath"
	"strconv"
	"testing"
)

// hexKey returns a content-key-like key (random-looking hex SHA-256) for i.
func hexKey(i int) string {
	s := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

// benchBatch returns batch b of 16 vectors of 512 floats, the eval
// pipeline's default batch.
func benchBatch(b int) (map[string][]float32, []string) {
	m := make(map[string][]float32, 16)
	keys := make([]string, 16)
	for i := range keys {
		k := hexKey(b*16 + i)
		keys[i] = k
		m[k] = testVector(k, 512)
	}
	return m, keys
}

// benchCache returns a cache holding the first n batches of benchBatch,
// written 100 batches per transaction to keep the setup fast.
func benchCache(b *testing.B, n int) *Cache {
	b.Helper()
	c, err := Open(filepath.Join(b.TempDir(), DefaultFile), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	all := map[string][]float32{}
	for i := range n {
		m, _ := benchBatch(i)
		maps.Copy(all, m)
		if len(all) == 1600 || i == n-1 {
			if err := c.PutImages("model", all); err != nil {
				b.Fatal(err)
			}
			clear(all)
		}
	}
	return c
}

// BenchmarkPutImages16x512 commits (with fsync) one batch of 16 new
// 512-float vectors per iteration into a cache that already holds 1600.
func BenchmarkPutImages16x512(b *testing.B) { benchPut(b, false) }

// BenchmarkPutImages16x512NoSync is the same without fsync, to show what
// durability costs. The package always syncs.
func BenchmarkPutImages16x512NoSync(b *testing.B) { benchPut(b, true) }

func benchPut(b *testing.B, noSync bool) {
	c := benchCache(b, 100)
	c.db.NoSync = noSync
	batches := make([]map[string][]float32, b.N)
	for i := range batches {
		batches[i], _ = benchBatch(100 + i)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := c.PutImages("model", batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "vectors/s")
}

// BenchmarkGetImages16x512 reads one batch of 16 vectors per iteration, in
// one transaction, from a cache of 16000 entries.
func BenchmarkGetImages16x512(b *testing.B) {
	const n = 1000
	c := benchCache(b, n)
	keys := make([][]string, n)
	for i := range keys {
		_, keys[i] = benchBatch(i)
	}
	b.ResetTimer()
	for i := range b.N {
		vs, err := c.GetImages("model", keys[i%n])
		if err != nil || vs[15] == nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "vectors/s")
}
