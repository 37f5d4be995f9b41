package jpeg

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

func TestDecodeConfig(t *testing.T) {
	for _, tc := range []struct {
		file string
		w, h int
		cm   color.Model
	}{
		{kit + "chelsea_512.jpg", 512, 512, color.RGBAModel},
		{kit + "chelsea_gray.jpg", 451, 300, color.GrayModel},
		{kit + "chelsea_cmyk.jpg", 451, 300, color.RGBAModel},
		{kit + "chelsea_progressive.jpg", 451, 300, color.RGBAModel},
		{kit + "retina.jpg", 1411, 1411, color.RGBAModel},
		{"testdata/gen/odd_225x301.jpg", 225, 301, color.RGBAModel},
		{"testdata/gen/header_only.jpg", 64, 48, color.RGBAModel},
	} {
		f, err := os.Open(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if cfg.Width != tc.w || cfg.Height != tc.h || cfg.ColorModel != tc.cm {
			t.Errorf("%s: got %dx%d %v", tc.file, cfg.Width, cfg.Height, cfg.ColorModel)
		}
	}
}

// TestBadInputs checks the kit's broken files and other garbage give
// errors, and that cut files report ErrTruncated.
func TestBadInputs(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := read(kit + "chelsea_512.jpg")
	cases := map[string][]byte{
		"bad-empty":     read(kit + "bad-empty.jpg"),
		"bad-truncated": read(kit + "bad-truncated.jpg"),
		"bad-cut":       read(kit + "bad-cut.jpg"),
		"bad-text":      read(kit + "bad-text.png"),
		"png":           read(kit + "one_pixel.png"),
		"soi-only":      {0xFF, 0xD8},
		"soi-eoi":       {0xFF, 0xD8, 0xFF, 0xD9},
		"one-byte":      {0xFF},
		"half":          good[:len(good)/2],
		"arith":         read("testdata/gen/arith.jpg"),
	}
	for name, data := range cases {
		if _, _, _, err := DecodeRGBBytes(data); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if _, err := Decode(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: Decode: no error", name)
		}
	}
	for _, name := range []string{"bad-cut", "bad-truncated", "half"} {
		if _, _, _, err := DecodeRGBBytes(cases[name]); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: %v, want ErrTruncated", name, err)
		}
	}
	if _, err := DecodeConfig(bytes.NewReader(nil)); err == nil {
		t.Error("DecodeConfig(empty): no error")
	}
	if _, err := DecodeConfig(bytes.NewReader(good[:100])); !errors.Is(err, ErrTruncated) {
		t.Errorf("DecodeConfig(cut header): %v", err)
	}
	// 12-bit images are refused clearly.
	b := append([]byte(nil), read("testdata/gen/p420_q75.jpg")...)
	p := bytes.Index(b, []byte{0xFF, 0xC0})
	b[p+4] = 12
	_, _, _, err := DecodeRGBBytes(b)
	var ue UnsupportedError
	if !errors.As(err, &ue) {
		t.Errorf("12-bit: %v, want UnsupportedError", err)
	}
}

// TestDecodeImage checks Decode's image types agree with DecodeRGB.
func TestDecodeImage(t *testing.T) {
	for _, name := range []string{"gray.jpg", "p420_q75.jpg", "cmyk.jpg", "odd_17x9.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata/gen", name))
		if err != nil {
			t.Fatal(err)
		}
		w, h, pix, err := DecodeRGBBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, w, h) {
			t.Fatalf("%s: bounds %v", name, img.Bounds())
		}
		_, isGray := img.(*image.Gray)
		if isGray != (name == "gray.jpg") {
			t.Errorf("%s: type %T", name, img)
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, b, a := img.At(x, y).RGBA()
				i := (y*w + x) * 3
				if uint8(r>>8) != pix[i] || uint8(g>>8) != pix[i+1] || uint8(b>>8) != pix[i+2] || a != 0xFFFF {
					t.Fatalf("%s: pixel (%d,%d) differs", name, x, y)
				}
			}
		}
	}
}

// FuzzDecode checks that no input makes the decoder panic and that
// DecodeConfig agrees with a successful decode.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"p420_q75.jpg", "odd_17x9_prog.jpg", "rst_1b.jpg", "cmyk.jpg", "smooth_ac5.jpg", "c411.jpg", "gray.jpg", "rst_prog.jpg", "cmixed.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata/gen", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(bytes.NewReader(data))
		if cerr == nil && cfg.Width*cfg.Height > 1<<22 {
			return // keep the fuzzer fast
		}
		w, h, pix, err := DecodeRGBBytes(data)
		if err != nil {
			return
		}
		if cerr != nil || cfg.Width != w || cfg.Height != h || len(pix) != w*h*3 {
			t.Fatalf("config %v (%v), decode %dx%d %d bytes", cfg, cerr, w, h, len(pix))
		}
	})
}

// One Buffers decoding a mix of images, large and small, sequential and
// progressive, colour, grey and CMYK, corrupt ones in between, gives every
// image the pixels a fresh decode gives: nothing of an earlier image leaks
// into a later one.
func TestBuffersReuse(t *testing.T) {
	gen, err := filepath.Glob("testdata/gen/*.jpg")
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{kit + "retina.jpg", kit + "chelsea_progressive.jpg", kit + "chelsea_cmyk.jpg",
		kit + "chelsea_512.jpg", kit + "chelsea_gray.jpg", kit + "bad-truncated.jpg"}, gen...)
	var b Buffers
	for round := 0; round < 2; round++ {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			w, h, want, errWant := DecodeRGBBytesLimit(data, 0)
			gw, gh, got, errGot := b.DecodeRGBBytesLimit(data, 0)
			if (errWant == nil) != (errGot == nil) {
				t.Fatalf("%s: fresh decode: %v; reused buffers: %v", f, errWant, errGot)
			}
			if errWant == nil && (w != gw || h != gh || !bytes.Equal(want, got)) {
				t.Errorf("%s: reused buffers decode %dx%d differently from a fresh decode (%dx%d)", f, gw, gh, w, h)
			}
		}
	}
}
