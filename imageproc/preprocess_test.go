package imageproc

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPreprocessMatchesReference(t *testing.T) {
	// clipref.preprocess with small sizes, odd crops and crops larger than
	// the resized image (zero padding), from testdata/gen_pil.py.
	var e struct {
		Preprocess []struct {
			Src        string
			Size, Crop int
			F32        []byte
		}
	}
	loadGzipJSON(t, filepath.Join("testdata", "pil", "expect.json.gz"), &e)
	if len(e.Preprocess) == 0 {
		t.Fatal("no preprocess cases")
	}
	for _, c := range e.Preprocess {
		img, err := DecodeFile(filepath.Join("testdata", "pil", c.Src), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Size = Size{ShortestEdge: c.Size}
		cfg.CropSize = Size{Height: c.Crop, Width: c.Crop}
		got, err := cfg.Preprocess(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(got)*4 != len(c.F32) {
			t.Errorf("size %d crop %d: %d values, want %d", c.Size, c.Crop, len(got), len(c.F32)/4)
			continue
		}
		for i, v := range got {
			want := math.Float32frombits(binary.LittleEndian.Uint32(c.F32[4*i:]))
			if v != want {
				p := i % (c.Crop * c.Crop)
				t.Errorf("size %d crop %d: channel %d (%d,%d) = %v, want %v", c.Size, c.Crop, i/(c.Crop*c.Crop), p%c.Crop, p/c.Crop, v, want)
				break
			}
		}
	}
}

func TestResizedSize(t *testing.T) {
	cfg := DefaultConfig()
	for _, c := range []struct{ w, h, rw, rh int }{
		{451, 300, 336, 224}, // int(224*451/300) = int(336.746...)
		{300, 451, 224, 336},
		{224, 224, 224, 224},
		{1000, 60, 3733, 224},
		{40, 512, 224, 2867},
		{1, 1, 224, 224},
		{225, 301, 224, 299}, // 224*301/225 = 299.66
		{3, 7, 224, 522},     // 224*7/3 = 522.666...
	} {
		if w, h := cfg.ResizedSize(c.w, c.h); w != c.rw || h != c.rh {
			t.Errorf("%dx%d -> %dx%d, want %dx%d", c.w, c.h, w, h, c.rw, c.rh)
		}
	}
	cfg.Size = Size{Height: 10, Width: 20}
	if w, h := cfg.ResizedSize(451, 300); w != 20 || h != 10 {
		t.Errorf("height/width size: %dx%d", w, h)
	}
}

func TestPreprocessVariants(t *testing.T) {
	// A 4x2 image with distinct values, through pipelines simple enough to
	// compute by hand.
	img := &RGB{W: 4, H: 2, Pix: make([]uint8, 24)}
	for i := range img.Pix {
		img.Pix[i] = uint8(10 * i)
	}
	at := func(x, y, c int) uint8 { return img.Pix[3*(y*4+x)+c] }

	// No resize, no crop, no rescale, no normalisation: the pixels as CHW.
	cfg := Config{}
	got, err := cfg.Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	if h, w := cfg.OutputSize(); h != 0 || w != 0 {
		t.Errorf("OutputSize without crop = %d,%d, want 0,0", h, w)
	}
	for c := range 3 {
		for y := range 2 {
			for x := range 4 {
				if v := got[c*8+y*4+x]; v != float32(at(x, y, c)) {
					t.Fatalf("identity: (%d,%d,%d) = %v, want %v", c, y, x, v, at(x, y, c))
				}
			}
		}
	}

	// Crop 3 high, 2 wide, no resize: top = (2-3)//2 = -1 (one padded row
	// above), left = (4-2)//2 = 1; then rescale and normalise.
	cfg = DefaultConfig()
	cfg.DoResize = false
	cfg.CropSize = Size{Height: 3, Width: 2}
	got, err = cfg.Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 18 {
		t.Fatalf("got %d values, want 18", len(got))
	}
	norm := func(v uint8, c int) float32 {
		x := float32(float64(v) * (1.0 / 255))
		return (x - float32(clipMean[c])) / float32(clipStd[c])
	}
	for c := range 3 {
		for y := range 3 {
			for x := range 2 {
				want := norm(0, c)
				if y >= 1 {
					want = norm(at(x+1, y-1, c), c)
				}
				if v := got[c*6+y*2+x]; v != want {
					t.Errorf("crop: (%d,%d,%d) = %v, want %v", c, y, x, v, want)
				}
			}
		}
	}

	// Exact height/width resize without crop: the output is the resized image.
	cfg = DefaultConfig()
	cfg.DoCenterCrop = false
	cfg.DoNormalize = false
	cfg.DoRescale = false
	cfg.Size = Size{Height: 3, Width: 5}
	got, err = cfg.Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	resized, err := Resize(img, 5, 3, Bicubic)
	if err != nil {
		t.Fatal(err)
	}
	if h, w := cfg.OutputSize(); h != 3 || w != 5 {
		t.Errorf("OutputSize = %d,%d, want 3,5", h, w)
	}
	for c := range 3 {
		for i := range 15 {
			if got[c*15+i] != float32(resized.Pix[3*i+c]) {
				t.Fatalf("resize: channel %d pixel %d = %v, want %v", c, i, got[c*15+i], resized.Pix[3*i+c])
			}
		}
	}

	// PreprocessInto refuses a short buffer and fills a long one's prefix.
	if err := DefaultConfig().PreprocessInto(make([]float32, 10), img); err == nil {
		t.Error("short buffer accepted")
	}
	if _, err := DefaultConfig().Preprocess(&RGB{W: 2, H: 2, Pix: make([]uint8, 5)}); err == nil {
		t.Error("inconsistent image accepted")
	}
	if _, err := DefaultConfig().Preprocess(nil); err == nil {
		t.Error("nil image accepted")
	}
}

func TestWindowedResizeMatchesFull(t *testing.T) {
	// Preprocess resamples only the crop window; that must equal resizing
	// the whole image and cropping.
	img, err := DecodeFile(filepath.Join("testdata", "pil", "resize_noise.png"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Filter{Bicubic, Bilinear, Lanczos, Box, Hamming} {
		for _, sz := range [][2]int{{30, 20}, {61, 20}, {20, 47}, {90, 70}} {
			full, err := Resize(img, sz[0], sz[1], f)
			if err != nil {
				t.Fatal(err)
			}
			spec, _ := f.spec()
			var s scratch // reused by every window, as a Pipeline reuses it
			for _, win := range [][4]int{{0, 0, sz[0], sz[1]}, {3, 2, 7, 5}, {sz[0] - 4, sz[1] - 3, 4, 3}, {1, 0, 1, sz[1]}} {
				x0, y0, cw, ch := win[0], win[1], win[2], win[3]
				got := make([]uint8, 3*cw*ch)
				resampleWindow(got, img, sz[0], sz[1], spec, x0, y0, cw, ch, &s)
				for y := range ch {
					row := full.Pix[3*((y0+y)*full.W+x0):][:3*cw]
					if !reflect.DeepEqual(got[3*y*cw:3*(y+1)*cw], row) {
						t.Fatalf("%v %v window %v row %d differs", f, sz, win, y)
					}
				}
			}
		}
	}
}

func TestResizeErrors(t *testing.T) {
	img := NewRGB(4, 4)
	if _, err := Resize(img, 0, 3, Bicubic); err == nil {
		t.Error("zero width accepted")
	}
	if _, err := Resize(img, 2, 2, Nearest); err == nil || !strings.Contains(err.Error(), "nearest") {
		t.Errorf("nearest: %v", err)
	}
	if _, err := Resize(img, 2, 2, Filter(9)); err == nil {
		t.Error("unknown filter accepted")
	}
	if _, err := Resize(&RGB{}, 2, 2, Bicubic); err == nil {
		t.Error("empty image accepted")
	}
}
