package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// imageFlags are the image-reading flags of every command that reads
// images (classify, embed, eval).
type imageFlags struct {
	maxPixels int64
	maxBytes  int64
	batch     int
	workers   int
}

func (f *imageFlags) register(fs interface {
	IntVar(p *int, name string, value int, usage string)
	Int64Var(p *int64, name string, value int64, usage string)
}) {
	fs.Int64Var(&f.maxPixels, "max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels than this, checked from the header before decoding (0: no limit)")
	fs.Int64Var(&f.maxBytes, "max-bytes", imageproc.DefaultMaxBytes, "refuse image files larger than this many bytes (0: no limit)")
	fs.IntVar(&f.batch, "batch", 16, "images per encoder batch (at least 1)")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "goroutines reading and decoding images (at least 1)")
}

// check refuses values that make no sense, before any work is done.
func (f *imageFlags) check() error {
	switch {
	case f.batch < 1:
		return fmt.Errorf("--batch %d: want at least 1", f.batch)
	case f.workers < 1:
		return fmt.Errorf("--workers %d: want at least 1", f.workers)
	case f.maxPixels < 0:
		return fmt.Errorf("--max-pixels %d: want a number of pixels, or 0 for no limit", f.maxPixels)
	case f.maxBytes < 0:
		return fmt.Errorf("--max-bytes %d: want a number of bytes, or 0 for no limit", f.maxBytes)
	}
	return nil
}

// limits returns the flags as imageproc.Limits, where 0 means the default
// and a negative value no limit: on the command line 0 means no limit.
func (f *imageFlags) limits() imageproc.Limits {
	noneIfZero := func(v int64) int64 {
		if v == 0 {
			return -1
		}
		return v
	}
	return imageproc.Limits{MaxBytes: noneIfZero(f.maxBytes), MaxPixels: noneIfZero(f.maxPixels)}
}

// embedFiles embeds image files through batch.Embed, calling emit for each
// in input order as soon as it is done, so output streams and memory stays
// bounded. A file that cannot be read is reported through emit with Err
// set; the others go on.
func embedFiles(ctx context.Context, m clip.Encoder, paths []string, f imageFlags, emit func(batch.Result) error) error {
	p, err := imageproc.NewPipeline(m.ImageConfig(), f.limits())
	if err != nil {
		return err
	}
	_, err = batch.Embed(ctx, batch.Config{Encoder: m, Pipeline: p, Workers: f.workers, Batch: f.batch}, batch.Files(paths), emit)
	return err
}

// reportError prints a per-file error line that names the file once.
func reportError(e *env, path string, err error) {
	msg := err.Error()
	if !strings.Contains(msg, path) {
		msg = path + ": " + msg
	}
	fmt.Fprintf(e.stderr, "goclip: %s\n", msg)
}
