package imageproc

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBadFilesRefused(t *testing.T) {
	cases := []struct {
		name   string
		is     error  // errors.Is target, if any
		reason string // substring of the message
	}{
		{"bad-empty.jpg", ErrEmpty, "empty input"},
		{"bad-text.png", ErrUnknownFormat, "unknown image format"},
		{"bad-truncated.jpg", nil, "truncated"},
		{"bad-cut.jpg", nil, "truncated"},
		{"bad-bomb.png", ErrTooLarge, "30000x30000"},
	}
	for _, c := range cases {
		path := filepath.Join(kitDir, "images", c.name)
		start := time.Now()
		img, err := DecodeFile(path, Limits{})
		elapsed := time.Since(start)
		if err == nil {
			t.Errorf("%s: decoded a %dx%d image, want an error", c.name, img.W, img.H)
			continue
		}
		t.Logf("%s: %v (%v)", c.name, err, elapsed)
		msg := err.Error()
		if !strings.HasPrefix(msg, "decode "+path+": ") {
			t.Errorf("%s: error %q does not name the file", c.name, msg)
		}
		if !strings.Contains(msg, c.reason) {
			t.Errorf("%s: error %q does not say %q", c.name, msg, c.reason)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %q is not %v", c.name, msg, c.is)
		}
		if c.name == "bad-bomb.png" && elapsed > 100*time.Millisecond {
			t.Errorf("bomb refused after %v, want it refused from the header", elapsed)
		}
	}
}

func TestTruncatedInputs(t *testing.T) {
	// Every proper prefix of a valid file must be refused, never decoded
	// into a partial image, and must not panic. (Not GIF: like PIL, we
	// read only the first frame, so a GIF cut after it is complete.)
	for _, name := range []string{"foo3x5x4indexed.png", "palette_color.png", "coffee_lossless.webp", "chelsea_lossy.webp", "camera.tif", "coffee.bmp", "rocket.jpg"} {
		data, err := os.ReadFile(filepath.Join(kitDir, "images", name))
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(data)/40)
		for n := 0; n < len(data)-16; n += step {
			if img, err := DecodeBytes(data[:n], Limits{}); err == nil {
				t.Errorf("%s cut to %d of %d bytes: decoded %dx%d", name, n, len(data), img.W, img.H)
				break
			}
		}
	}
}

func TestMaxPixels(t *testing.T) {
	path := filepath.Join(kitDir, "images", "coffee.png") // 600x400
	if _, err := DecodeFile(path, Limits{MaxPixels: 600*400 - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit one below the size: err = %v, want ErrTooLarge", err)
	}
	if _, err := DecodeFile(path, Limits{MaxPixels: 600 * 400}); err != nil {
		t.Errorf("limit equal to the size: %v", err)
	}
	if _, err := DecodeFile(path, Limits{MaxPixels: -1}); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func TestDecodeReader(t *testing.T) {
	f, err := os.Open(filepath.Join(kitDir, "images", "one_pixel.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := Decode(f, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if img.W != 1 || img.H != 1 || len(img.Pix) != 3 {
		t.Errorf("got %dx%d with %d bytes", img.W, img.H, len(img.Pix))
	}
	_, err = Decode(errReader{}, Limits{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error not reported: %v", err)
	}
	if _, err := DecodeFile(filepath.Join(kitDir, "images", "no-such-file.png"), Limits{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

var _ io.Reader = errReader{}
