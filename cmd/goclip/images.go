package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// imageFlags are the image-reading flags shared by commands.
type imageFlags struct {
	maxPixels int
	batch     int
	workers   int
}

func (f *imageFlags) register(fs interface {
	IntVar(p *int, name string, value int, usage string)
}) {
	fs.IntVar(&f.maxPixels, "max-pixels", imageproc.DefaultMaxPixels, "refuse images with more pixels than this (checked from the header, before decoding)")
	fs.IntVar(&f.batch, "batch", 16, "images per encoder batch")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "goroutines decoding and preprocessing images")
}

// encoded is the outcome for one input image.
type encoded struct {
	path      string
	embedding []float32 // projected, unnormalised
	err       error
}

// encodeFiles decodes, preprocesses and encodes images in batches, calling
// emit for each in input order as soon as its batch is done, so output
// streams and memory stays bounded. A file that cannot be read is reported
// through emit with err set; the others go on.
func encodeFiles(ctx context.Context, m *clip.Model, paths []string, f imageFlags, emit func(encoded) error) error {
	batch := max(f.batch, 1)
	pre := m.ImageConfig()
	opt := imageproc.Options{MaxPixels: int64(f.maxPixels)}
	for lo := 0; lo < len(paths); lo += batch {
		chunk := paths[lo:min(lo+batch, len(paths))]
		pixels := make([][]float32, len(chunk))
		errs := make([]error, len(chunk))
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < max(f.workers, 1); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					img, err := imageproc.DecodeFile(chunk[i], opt)
					if err == nil {
						pixels[i], err = pre.Preprocess(img)
					}
					errs[i] = err
				}
			}()
		}
		for i := range chunk {
			next <- i
		}
		close(next)
		wg.Wait()
		var ok [][]float32
		for i := range chunk {
			if errs[i] == nil {
				ok = append(ok, pixels[i])
			}
		}
		emb, err := m.EncodeImages(ctx, ok)
		if err != nil {
			return err
		}
		k := 0
		for i, p := range chunk {
			r := encoded{path: p, err: errs[i]}
			if r.err == nil {
				r.embedding = emb[k]
				k++
			}
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// reportError prints a per-file error line that names the file once.
func reportError(e *env, path string, err error) {
	msg := err.Error()
	if !strings.Contains(msg, path) {
		msg = path + ": " + msg
	}
	fmt.Fprintf(e.stderr, "goclip: %s\n", msg)
}
