package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
)

// Errors a caller may want to tell apart with errors.Is.
var (
	ErrEmpty         = errors.New("empty input")
	ErrUnknownFormat = errors.New("unknown image format")
	// ErrTooLarge reports an image of more pixels than Limits.MaxPixels.
	ErrTooLarge = errors.New("image too large")
	// ErrFileTooLarge reports an input of more bytes than Limits.MaxBytes.
	ErrFileTooLarge = errors.New("file too large")
)

// An Error is an image input that could not be read, decoded or
// preprocessed: what was being done, to which input (a path, a request
// field), and why. Its message names the input; Err alone is the reason
// (what a report listing inputs by name shows).
type Error struct {
	Op   string // "read", "decode" or "preprocess"
	Name string
	Err  error
}

func (e *Error) Error() string { return e.Op + " " + e.Name + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Reason returns why err happened without the input's name: for an *Error
// its operation and cause ("decode: JPEG data: ..."), otherwise err's
// message.
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Op + ": " + e.Err.Error()
	}
	return err.Error()
}

// DecodeFile decodes the image file at path within lim (see Decode).
// Errors name the file.
func DecodeFile(path string, lim Limits) (*RGB, error) {
	data, err := readFile(path, lim)
	if err != nil {
		return nil, err
	}
	img, err := decode(data, lim)
	if err != nil {
		return nil, &Error{"decode", path, err}
	}
	return img, nil
}

// Decode reads a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP image,
// recognised by its content rather than by a name, and converts it to RGB as
// PIL's Image.open(...).convert("RGB") does: alpha is dropped (not
// composited) and EXIF orientation is ignored. It reads at most
// lim.MaxBytes+1 bytes of r and refuses images above lim.MaxPixels from
// their header.
func Decode(r io.Reader, lim Limits) (*RGB, error) {
	data, err := readAll(r, lim)
	if err != nil {
		return nil, fmt.Errorf("imageproc: decode: %w", err)
	}
	img, err := decode(data, lim)
	if err != nil {
		return nil, fmt.Errorf("imageproc: decode: %w", err)
	}
	return img, nil
}

// DecodeBytes is Decode for an image already in memory.
func DecodeBytes(data []byte, lim Limits) (*RGB, error) {
	img, err := decodeBytes(data, lim)
	if err != nil {
		return nil, fmt.Errorf("imageproc: decode: %w", err)
	}
	return img, nil
}

// decodeBytes checks data's size against lim, then decodes it.
func decodeBytes(data []byte, lim Limits) (*RGB, error) {
	if n := lim.maxBytes(); n >= 0 && int64(len(data)) > n {
		return nil, fmt.Errorf("%w: %d bytes, above the limit of %d", ErrFileTooLarge, len(data), n)
	}
	return decode(data, lim)
}

// readFile reads a whole file, refusing one larger than lim allows
// without reading past the limit. Errors name the file.
func readFile(path string, lim Limits) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{"read", path, unwrapPath(err)}
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		if fi.IsDir() {
			return nil, &Error{"read", path, errors.New("is a folder, not an image")}
		}
		size = fi.Size()
	}
	data, err := readAllSize(f, lim, size)
	if err != nil {
		return nil, &Error{"read", path, unwrapPath(err)}
	}
	return data, nil
}

// unwrapPath drops the *fs.PathError around an error, whose message would
// repeat the path the caller names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readAll reads r to the end, or fails with ErrFileTooLarge after
// lim.MaxBytes+1 bytes.
func readAll(r io.Reader, lim Limits) ([]byte, error) { return readAllSize(r, lim, 0) }

// readAllSize is readAll expecting about size bytes (a file's size), so
// that the data is read into one buffer of the right size rather than a
// doubling series of them.
func readAllSize(r io.Reader, lim Limits, size int64) ([]byte, error) {
	n := lim.maxBytes()
	if n >= 0 {
		r = io.LimitReader(r, n+1)
		size = min(size, n+1)
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(size, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	if err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if n < 0 {
		return data, nil
	}
	if int64(len(data)) > n {
		return nil, fmt.Errorf("%w: more than the limit of %d bytes", ErrFileTooLarge, n)
	}
	return data, nil
}

// header recognises data's format and reads its header, refusing an image
// of more pixels than lim allows.
func header(data []byte, lim Limits) (format, image.Config, error) {
	if len(data) == 0 {
		return format{}, image.Config{}, ErrEmpty
	}
	f, ok := sniff(data)
	if !ok {
		return f, image.Config{}, fmt.Errorf("%w (the data starts with %q)", ErrUnknownFormat, data[:min(len(data), 8)])
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return f, cfg, fmt.Errorf("%s header: %w", f.name, eofIsUnexpected(err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return f, cfg, fmt.Errorf("%s header: image is %dx%d", f.name, cfg.Width, cfg.Height)
	}
	if limit := lim.maxPixels(); limit >= 0 && int64(cfg.Width)*int64(cfg.Height) > limit {
		return f, cfg, fmt.Errorf("%w: %s is %dx%d = %d pixels, above the limit of %d",
			ErrTooLarge, f.name, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), limit)
	}
	return f, cfg, nil
}

// decodeAs decodes data, whose header says it is a cfg-sized image of
// format f, checking the result against the header. The image may live in
// s's memory (nil: its own).
func decodeAs(f format, data []byte, cfg image.Config, s *scratch) (*RGB, error) {
	img, err := f.decode(data, cfg, s)
	if err != nil {
		return nil, fmt.Errorf("%s data: %w", f.name, eofIsUnexpected(err))
	}
	if err := img.valid(); err != nil || img.W != cfg.Width || img.H != cfg.Height {
		return nil, fmt.Errorf("%s data: decoded a %dx%d image, header says %dx%d", f.name, img.W, img.H, cfg.Width, cfg.Height)
	}
	return img, nil
}

// decode is header then decodeAs.
func decode(data []byte, lim Limits) (*RGB, error) {
	f, cfg, err := header(data, lim)
	if err != nil {
		return nil, err
	}
	return decodeAs(f, data, cfg, nil)
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
