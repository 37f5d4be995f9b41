package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMaxPixels is the default limit on width×height: PIL's
// Image.MAX_IMAGE_PIXELS (1024·1024·1024 / 4 / 3), above which PIL warns
// of a decompression bomb. (PIL refuses only above twice this; a decoded
// image of this size already needs about 360 MB.)
const DefaultMaxPixels = 89_478_485

// Errors a caller may want to tell apart with errors.Is.
var (
	ErrEmpty         = errors.New("empty input")
	ErrUnknownFormat = errors.New("unknown image format")
	ErrTooLarge      = errors.New("image too large")
)

// Options controls decoding.
type Options struct {
	// MaxPixels caps width×height. It is checked against the file's header
	// before any pixel is decoded, so a small file that claims a huge image
	// is refused at once. 0 means DefaultMaxPixels; a negative value means
	// no limit.
	MaxPixels int64
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels == 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// DecodeFile decodes the image file at path (see Decode). Errors name the file.
func DecodeFile(path string, opt Options) (*RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	img, err := decode(data, opt)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// Decode reads a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP image,
// recognised by its content rather than by a name, and converts it to RGB as
// PIL's Image.open(...).convert("RGB") does: alpha is dropped (not
// composited) and EXIF orientation is ignored.
func Decode(r io.Reader, opt Options) (*RGB, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("imageproc: decode: %w", err)
	}
	img, err := decode(data, opt)
	if err != nil {
		return nil, fmt.Errorf("imageproc: decode: %w", err)
	}
	return img, nil
}

// DecodeBytes is Decode for an image already in memory.
func DecodeBytes(data []byte, opt Options) (*RGB, error) {
	img, err := decode(data, opt)
	if err != nil {
		return nil, fmt.Errorf("imageproc: decode: %w", err)
	}
	return img, nil
}

func decode(data []byte, opt Options) (*RGB, error) {
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	f, ok := sniff(data)
	if !ok {
		return nil, fmt.Errorf("%w (the data starts with %q)", ErrUnknownFormat, data[:min(len(data), 8)])
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s header: %w", f.name, eofIsUnexpected(err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s header: image is %dx%d", f.name, cfg.Width, cfg.Height)
	}
	if limit := opt.maxPixels(); limit > 0 && int64(cfg.Width)*int64(cfg.Height) > limit {
		return nil, fmt.Errorf("%w: %s is %dx%d = %d pixels, above the limit of %d",
			ErrTooLarge, f.name, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), limit)
	}
	img, err := f.decode(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s data: %w", f.name, eofIsUnexpected(err))
	}
	if err := img.valid(); err != nil || img.W != cfg.Width || img.H != cfg.Height {
		return nil, fmt.Errorf("%s data: decoded a %dx%d image, header says %dx%d", f.name, img.W, img.H, cfg.Width, cfg.Height)
	}
	return img, nil
}

// eofIsUnexpected reports running out of data inside an image as
// io.ErrUnexpectedEOF: the input is known to be complete, so io.EOF can only
// mean a truncated file.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
