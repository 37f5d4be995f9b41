package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/schollz/progressbar/v3"

	"github.com/goclip/goclip/cache"
	"github.com/goclip/goclip/clip"
)

// cacheFlags registers --cache and --no-cache, the embedding cache flags of
// the commands that embed many images (eval, index).
func cacheFlags(fs *flag.FlagSet) (dir *string, none *bool) {
	dir = fs.String("cache", "", "embedding cache folder (default: the user cache folder, goclip/)")
	none = fs.Bool("no-cache", false, "do not read or write the embedding cache")
	return dir, none
}

// openEmbeddingCache opens the embedding cache file in dir, or in the
// default cache folder when dir is empty; with none it returns nil.
func openEmbeddingCache(dir string, none bool) (*cache.Cache, error) {
	if none {
		return nil, nil
	}
	if dir == "" {
		var err error
		if dir, err = cache.DefaultDir(); err != nil {
			return nil, fmt.Errorf("%w (use --cache DIR or --no-cache)", err)
		}
	}
	return cache.Open(filepath.Join(dir, cache.DefaultFile), cache.Options{})
}

// withModelCaches has a model load keep what it can between runs in the
// cache folder dir (the default one when empty): the weight files' hashes
// and the packed towers (clip.Options.HashMemo, PackCache).
func withModelCaches(dir string, opt clip.Options) clip.Options {
	opt.HashMemo, opt.PackCache = cache.HashMemo(dir), cache.PackCache(dir)
	return opt
}

// runEnded finishes the progress bar of a run that used the embedding
// cache (nil: none) and returns its error, a cancelled run's as the hint
// that running again resumes it.
func runEnded(e *env, bar *progressbar.ProgressBar, err error) error {
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; embeddings computed so far are cached, run again to resume")
	}
	return err
}
