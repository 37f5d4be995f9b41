package cache_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/cache"
)

// The evaluation pipeline's use: look a batch up, encode only the misses,
// and commit them in one transaction so a crash loses at most that batch.
func Example() {
	dir, _ := os.MkdirTemp("", "cache-example")
	defer os.RemoveAll(dir)
	// Real runs use cache.DefaultDir().
	c, err := cache.Open(filepath.Join(dir, cache.DefaultFile), cache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	model := "9f86d081884c7d65"                                                 // a model's fingerprint (clip.Model.Fingerprint)
	images := []string{"cat.jpg bytes", "dog.jpg bytes"}                        // a batch of file contents
	encode := func(s string) []float32 { return []float32{float32(len(s)), 1} } // stands for the image encoder

	for run := 1; run <= 2; run++ {
		keys := make([]string, len(images))
		for i, img := range images {
			sum := sha256.Sum256([]byte(img)) // what imageproc.Input.Key gives
			keys[i] = hex.EncodeToString(sum[:])
		}
		vecs, err := c.GetImages(model, keys)
		if err != nil {
			log.Fatal(err)
		}
		misses := map[string][]float32{}
		for i, v := range vecs {
			if v == nil {
				vecs[i] = encode(images[i])
				misses[keys[i]] = vecs[i]
			}
		}
		if err := c.PutImages(model, misses); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: encoded %d of %d images\n", run, len(misses), len(images))
	}
	// Output:
	// run 1: encoded 2 of 2 images
	// run 2: encoded 0 of 2 images
}
