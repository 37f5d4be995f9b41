package imageproc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/goclip/goclip/internal/idle"
	"golang.org/x/sync/semaphore"
)

// Pipeline is the one way from an image source to the pixel tensor of a
// model: every goclip front end (embed, classify, eval and its report's
// thumbnails, the server, the Beam pipeline) goes through it, so a rule
// about reading, hashing, limits or decoding holds everywhere at once.
//
// The steps are:
//
//  1. ReadFile, Read or FromBytes: the encoded image into memory, refused
//     past Limits.MaxBytes without reading further.
//  2. Input.Key: the SHA-256 of those bytes, which caches key embeddings by.
//  3. Image: the header checked against Limits.MaxPixels, then the decode
//     (Decode's rules), within the pipeline's pixel budget.
//  4. Pixels: Image followed by the model's CLIPImageProcessor recipe
//     (Config.Preprocess).
//
// The pixel budget bounds the memory of decodes in flight: an image waits
// until the pixels of the images being decoded, plus its own, fit the
// budget (the larger of MaxPixels and 16 million). So a thousand small
// photos decode on every core while a few huge ones take turns, however
// many goroutines call in. Share one Pipeline per process (or per model)
// for the budget to mean that. A Pipeline is safe for concurrent use.
type Pipeline struct {
	config  Config
	limits  Limits
	budget  *semaphore.Weighted
	size    int64              // of budget
	scratch idle.List[scratch] // decode and resize memory, kept between images (not a sync.Pool: see internal/idle)
}

// NewPipeline returns the pipeline that preprocesses images with c (a
// model's preprocessor_config.json) within lim.
func NewPipeline(c Config, lim Limits) (*Pipeline, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	size := lim.maxPixels()
	if size < 0 {
		size = DefaultMaxPixels
	}
	size = max(size, minDecodeBudget)
	return &Pipeline{config: c, limits: lim, budget: semaphore.NewWeighted(size), size: size}, nil
}

// Input is an encoded image in memory, read within a pipeline's limits,
// with the name errors about it give (a path, a request field).
type Input struct {
	Name string
	Data []byte

	keyOnce sync.Once
	key     string
}

// Key returns the hex SHA-256 of the input's bytes: its identity for
// caches, the same for the same content whatever its name.
func (in *Input) Key() string {
	in.keyOnce.Do(func() {
		sum := sha256.Sum256(in.Data)
		in.key = hex.EncodeToString(sum[:])
	})
	return in.key
}

// ReadFile reads the file at path. A file larger than Limits.MaxBytes is
// refused with ErrFileTooLarge after reading one byte past the limit.
// Errors name the file.
func (p *Pipeline) ReadFile(path string) (*Input, error) {
	data, err := readFile(path, p.limits)
	if err != nil {
		return nil, err
	}
	return &Input{Name: path, Data: data}, nil
}

// Read reads an image from r, named name in errors, within Limits.MaxBytes.
func (p *Pipeline) Read(name string, r io.Reader) (*Input, error) {
	data, err := readAll(r, p.limits)
	if err != nil {
		return nil, &Error{"read", name, err}
	}
	return &Input{Name: name, Data: data}, nil
}

// FromBytes takes an image already in memory (a request field), named
// name in errors; it is refused if larger than Limits.MaxBytes.
func (p *Pipeline) FromBytes(name string, data []byte) (*Input, error) {
	if n := p.limits.maxBytes(); n >= 0 && int64(len(data)) > n {
		return nil, &Error{"read", name, fmt.Errorf("%w: %d bytes, above the limit of %d", ErrFileTooLarge, len(data), n)}
	}
	return &Input{Name: name, Data: data}, nil
}

// Image decodes in and calls use with the image, holding the image's
// share of the pixel budget until use returns. The image is valid only
// until then: its memory is reused for the next one. Image waits for
// budget until ctx is done. An image above Limits.MaxPixels is refused
// from its header with ErrTooLarge. Errors name the input.
func (p *Pipeline) Image(ctx context.Context, in *Input, use func(*RGB) error) error {
	return p.image(ctx, in, func(img *RGB, _ *scratch) error { return use(img) })
}

// image is Image handing use the scratch the image lives in, for the rest
// of use's work.
func (p *Pipeline) image(ctx context.Context, in *Input, use func(*RGB, *scratch) error) error {
	f, cfg, err := header(in.Data, p.limits)
	if err != nil {
		return &Error{"decode", in.Name, err}
	}
	n := min(int64(cfg.Width)*int64(cfg.Height), p.size)
	if err := p.budget.Acquire(ctx, n); err != nil {
		return &Error{"decode", in.Name, err}
	}
	defer p.budget.Release(n)
	s := p.scratch.Get()
	defer p.scratch.Put(s)
	img, err := decodeAs(f, in.Data, cfg, s)
	if err != nil {
		return &Error{"decode", in.Name, err}
	}
	return use(img, s)
}

// Pixels decodes and preprocesses in: the [3, h, w] float32 tensor the
// vision tower takes (see Config.Preprocess).
func (p *Pipeline) Pixels(ctx context.Context, in *Input) ([]float32, error) {
	return p.PixelsInto(ctx, in, nil)
}

// PixelsInto is Pixels writing into dst when it has the capacity (else
// into new memory), so that a caller can recycle the tensors of images it
// has encoded. It returns the tensor, dst[:3*h*w] or the new one.
func (p *Pipeline) PixelsInto(ctx context.Context, in *Input, dst []float32) ([]float32, error) {
	var px []float32
	err := p.image(ctx, in, func(img *RGB, s *scratch) error {
		if err := img.valid(); err != nil {
			return &Error{"preprocess", in.Name, err}
		}
		h, w := p.config.OutputSizeOf(img)
		if n := 3 * h * w; cap(dst) >= n {
			px = dst[:n]
		} else {
			px = make([]float32, n)
		}
		if err := p.config.preprocessInto(px, img, s); err != nil {
			return &Error{"preprocess", in.Name, err}
		}
		return nil
	})
	return px, err
}
