package imageproc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"
)

func testPipeline(t *testing.T, lim Limits) *Pipeline {
	t.Helper()
	p, err := NewPipeline(DefaultConfig(), lim)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The pipeline gives what the separate steps give: the bytes' SHA-256 as
// the key, and Preprocess(Decode) as the pixels.
func TestPipelineMatchesSteps(t *testing.T) {
	p := testPipeline(t, Limits{})
	for _, name := range []string{"chelsea_512.jpg", "coffee.png", "chelsea_lossy.webp"} {
		path := filepath.Join(kitDir, "images", name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		in, err := p.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if in.Key() != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: key %s, want the SHA-256 of the file", name, in.Key())
		}
		got, err := p.Pixels(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		img, err := DecodeBytes(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := DefaultConfig().Preprocess(img)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: pipeline pixels differ from Preprocess(DecodeBytes)", name)
		}
		// The three sources give the same input.
		r, err := p.Read("r", bytes.NewReader(data))
		if err != nil || r.Key() != in.Key() {
			t.Errorf("%s: Read: key %v, err %v", name, r, err)
		}
		b, err := p.FromBytes("b", data)
		if err != nil || b.Key() != in.Key() {
			t.Errorf("%s: FromBytes: key %v, err %v", name, b, err)
		}
	}
}

// countingReader counts the bytes read from an endless source.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// One file, one verdict: a valid PNG followed by junk beyond MaxBytes is
// refused by every source, and reading stops one byte past the limit.
func TestPipelineByteLimit(t *testing.T) {
	png, err := os.ReadFile(filepath.Join(kitDir, "images", "coffee.png"))
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 20
	p := testPipeline(t, Limits{MaxBytes: limit})

	cr := &countingReader{r: io.MultiReader(bytes.NewReader(png), zeros{})}
	if _, err := p.Read("upload", cr); !errors.Is(err, ErrFileTooLarge) || !strings.Contains(err.Error(), "upload") {
		t.Errorf("Read of a PNG with endless junk: err = %v, want ErrFileTooLarge naming the input", err)
	}
	if cr.n > limit+64<<10 {
		t.Errorf("read %d bytes for a limit of %d", cr.n, limit)
	}

	junk := append(slices.Clone(png), make([]byte, limit)...)
	path := filepath.Join(t.TempDir(), "junk.png")
	if err := os.WriteFile(path, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFile(path); !errors.Is(err, ErrFileTooLarge) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile: err = %v, want ErrFileTooLarge naming the file", err)
	}
	if _, err := p.FromBytes("field", junk); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("FromBytes: err = %v, want ErrFileTooLarge", err)
	}
	if _, err := DecodeFile(path, Limits{MaxBytes: limit}); !errors.Is(err, ErrFileTooLarge) {
		t.Errorf("DecodeFile: err = %v, want ErrFileTooLarge", err)
	}
	// Without a byte limit the junk after the PNG's IEND is ignored, as
	// PIL ignores it.
	if _, err := DecodeFile(path, Limits{MaxBytes: -1}); err != nil {
		t.Errorf("DecodeFile without a byte limit: %v", err)
	}
	if _, err := testPipeline(t, Limits{}).ReadFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("ReadFile of a folder: err = %v", err)
	}
}

// A JPEG whose header claims more than the JPEG decoder's own default cap
// is refused for its size with the default limits and passed on to the
// decoder (which then finds it truncated) with no limit.
func TestPipelineNoPixelLimit(t *testing.T) {
	// SOI, a frame header of 14000×14000 (196 Mpx) and nothing else.
	sof := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0x36, 0xb0, 0x36, 0xb0, 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	in := &Input{Name: "huge.jpg", Data: sof}
	use := func(*RGB) error { t.Error("decoded a truncated file"); return nil }
	err := testPipeline(t, Limits{}).Image(context.Background(), in, use)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("default limits: err = %v, want ErrTooLarge", err)
	}
	err = testPipeline(t, Limits{MaxPixels: -1}).Image(context.Background(), in, use)
	if err == nil || errors.Is(err, ErrTooLarge) || strings.Contains(err.Error(), "bomb") {
		t.Errorf("no pixel limit: err = %v, want the decoder's own verdict on the data", err)
	}
}

// Decodes wait for pixel budget: with room for one image, a second decode
// starts only when the first one's use returns, and a cancelled wait gives
// the context's error.
func TestPipelineBudget(t *testing.T) {
	p := testPipeline(t, Limits{})
	path := filepath.Join(kitDir, "images", "coffee.png") // 600×400
	in, err := p.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p.budget, p.size = semaphore.NewWeighted(600*400), 600*400

	inFirst := make(chan struct{})
	release := make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- p.Image(context.Background(), in, func(*RGB) error {
			close(inFirst)
			<-release
			return nil
		})
	}()
	<-inFirst

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Pixels(ctx, in); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second decode while the budget is taken: err = %v, want to wait until the deadline", err)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pixels(context.Background(), in); err != nil {
		t.Errorf("decode after the budget is back: %v", err)
	}
	// An image larger than the whole budget still decodes, alone.
	p.budget, p.size = semaphore.NewWeighted(1000), 1000
	if _, err := p.Pixels(context.Background(), in); err != nil {
		t.Errorf("image larger than the budget: %v", err)
	}
}

// Errors name the input once; Reason gives the cause alone, for reports
// that list inputs by name.
func TestErrorNamesInput(t *testing.T) {
	p := testPipeline(t, Limits{})
	in, err := p.FromBytes("images[2]", []byte("not an image"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Pixels(context.Background(), in)
	var ie *Error
	if !errors.As(err, &ie) || ie.Name != "images[2]" || ie.Op != "decode" || !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("err = %#v", err)
	}
	if got := err.Error(); strings.Count(got, "images[2]") != 1 || !strings.HasPrefix(got, "decode images[2]: unknown image format") {
		t.Errorf("message %q", got)
	}
	if got := Reason(err); !strings.HasPrefix(got, "decode: unknown image format") || strings.Contains(got, "images[2]") {
		t.Errorf("Reason = %q", got)
	}
	if got := Reason(errors.New("other")); got != "other" {
		t.Errorf("Reason of another error = %q", got)
	}
}

// A pipeline reusing its decode memory, and the caller's tensors through
// PixelsInto, gives each image the pixels of a fresh decode and
// preprocess, whatever came before it (sizes, formats, failures).
func TestPipelineReuse(t *testing.T) {
	p := testPipeline(t, Limits{})
	names := []string{"retina.jpg", "chelsea_progressive.jpg", "tall_40x512.png", "chelsea_cmyk.jpg",
		"bad-truncated.jpg", "chelsea_512.jpg", "one_pixel.png", "chelsea_gray.jpg", "odd_225x301.png", "coffee_444.jpg"}
	var px []float32
	for round := 0; round < 2; round++ {
		for _, name := range names {
			path := filepath.Join(kitDir, "images", name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			in, err := p.FromBytes(path, data)
			if err != nil {
				t.Fatal(err)
			}
			var want []float32
			img, errWant := DecodeBytes(data, Limits{})
			if errWant == nil {
				want, errWant = DefaultConfig().Preprocess(img)
			}
			got, errGot := p.PixelsInto(context.Background(), in, px)
			if (errWant == nil) != (errGot == nil) {
				t.Fatalf("%s: fresh: %v; pipeline: %v", name, errWant, errGot)
			}
			if errGot != nil {
				continue
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: PixelsInto after other images differs from Preprocess(DecodeBytes)", name)
			}
			if px != nil && &got[0] != &px[0] {
				t.Errorf("%s: PixelsInto did not write into the tensor it was given", name)
			}
			px = got
		}
	}
}
