package jpeg

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var dumpDir = flag.String("dump", "", "write decoded RGB of every reference file to this directory")

// reference is testdata/expected.json, written by testdata/gen_reference.py
// from PIL's Image.open(f).convert("RGB") (Pillow with libjpeg-turbo).
type reference struct {
	Pillow       string `json:"pillow"`
	LibjpegTurbo string `json:"libjpeg_turbo"`
	Files        map[string]struct {
		Width  int    `json:"width"`
		Height int    `json:"height"`
		SHA256 string `json:"sha256"`
		Error  string `json:"error"`
	} `json:"files"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return &ref
}

// TestMatchesPIL decodes every kit JPEG and generated JPEG and requires
// bit-identical RGB to PIL's, or an error where PIL raises one.
func TestMatchesPIL(t *testing.T) {
	ref := loadReference(t)
	t.Logf("reference: Pillow %s, libjpeg-turbo %s", ref.Pillow, ref.LibjpegTurbo)
	names := make([]string, 0, len(ref.Files))
	for k := range ref.Files {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		want := ref.Files[name]
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			w, h, pix, err := DecodeRGBBytes(data)
			if want.Error != "" {
				if err == nil {
					t.Fatalf("decoded %dx%d, PIL fails with %q", w, h, want.Error)
				}
				if strings.Contains(want.Error, "truncated") && !errors.Is(err, ErrTruncated) {
					t.Errorf("error %v, want ErrTruncated (PIL: %s)", err, want.Error)
				}
				return
			}
			if err != nil {
				if strings.Contains(name, "arith") {
					t.Skipf("arithmetic coding is not supported: %v", err)
				}
				t.Fatal(err)
			}
			if *dumpDir != "" {
				out := filepath.Join(*dumpDir, strings.ReplaceAll(name, "/", "_")+".rgb")
				if err := os.WriteFile(out, pix, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if w != want.Width || h != want.Height {
				t.Fatalf("size %dx%d, want %dx%d", w, h, want.Width, want.Height)
			}
			sum := sha256.Sum256(pix)
			if got := hex.EncodeToString(sum[:]); got != want.SHA256 {
				t.Errorf("RGB differs from PIL (sha256 %s)", got)
				raw := filepath.Join("testdata", strings.TrimSuffix(name, ".jpg")+".rgb")
				if exp, err := os.ReadFile(raw); err == nil {
					reportDiff(t, w, pix, exp)
				}
			}
		})
	}
}

func reportDiff(t *testing.T, w int, got, want []uint8) {
	t.Helper()
	n := 0
	for i := range got {
		if got[i] != want[i] {
			if n < 10 {
				p := i / 3
				t.Logf("pixel (%d,%d) channel %d: got %d want %d", p%w, p/w, i%3, got[i], want[i])
			}
			n++
		}
	}
	t.Logf("%d of %d values differ", n, len(got))
}

// TestRawRGB checks the two stored raw RGB references byte for byte.
func TestRawRGB(t *testing.T) {
	for _, name := range []string{"odd_17x9", "cmyk"} {
		data, err := os.ReadFile("testdata/gen/" + name + ".jpg")
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/gen/" + name + ".rgb")
		if err != nil {
			t.Fatal(err)
		}
		w, _, pix, err := DecodeRGBBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pix, want) {
			t.Errorf("%s: RGB differs from PIL", name)
			reportDiff(t, w, pix, want)
		}
	}
}
