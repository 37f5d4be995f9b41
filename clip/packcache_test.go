package clip_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/tensor"
)

// packFile is a pack file taken apart (see clip/packcache.go for the
// layout), for tests that read and edit one.
type packFile struct {
	data   []byte
	header map[string]any
	first  int // offset of the first matrix
}

type packEntry struct {
	Name         string
	Offset, Size int
}

func readPackFile(t *testing.T, path string) *packFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parsePackFile(t, data)
}

func parsePackFile(t *testing.T, data []byte) *packFile {
	t.Helper()
	if string(data[:8]) != "GCPACK01" {
		t.Fatalf("magic %q", data[:8])
	}
	n := binary.LittleEndian.Uint32(data[8:])
	js := data[16 : 16+n]
	if crc32.Checksum(js, crc32.MakeTable(crc32.Castagnoli)) != binary.LittleEndian.Uint32(data[12:]) {
		t.Fatal("header checksum")
	}
	p := &packFile{data: data}
	if err := json.Unmarshal(js, &p.header); err != nil {
		t.Fatal(err)
	}
	p.first = p.entries()[0].Offset
	return p
}

func (p *packFile) entries() []packEntry {
	var out []packEntry
	for _, e := range p.header["matrices"].([]any) {
		m := e.(map[string]any)
		out = append(out, packEntry{m["name"].(string), int(m["offset"].(float64)), int(m["size"].(float64))})
	}
	return out
}

func (p *packFile) entry(t *testing.T, name string) packEntry {
	for _, e := range p.entries() {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("pack file has no matrix %s", name)
	return packEntry{}
}

// write writes the file back, with every matrix's checksum recomputed when
// fix is set.
func (p *packFile) write(t *testing.T, path string, fix bool) {
	t.Helper()
	if fix {
		for i, e := range p.entries() {
			m := p.header["matrices"].([]any)[i].(map[string]any)
			m["crc32c"] = crc32.Checksum(p.data[e.Offset:e.Offset+e.Size], crc32.MakeTable(crc32.Castagnoli))
		}
	}
	js, err := json.Marshal(p.header)
	if err != nil {
		t.Fatal(err)
	}
	if 16+len(js) > p.first {
		t.Fatal("header outgrew its room")
	}
	clear(p.data[16:p.first])
	copy(p.data[16:], js)
	binary.LittleEndian.PutUint32(p.data[8:], uint32(len(js)))
	binary.LittleEndian.PutUint32(p.data[12:], crc32.Checksum(js, crc32.MakeTable(crc32.Castagnoli)))
	if err := os.WriteFile(path, p.data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// packFiles lists the pack files in dir.
func packFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func towerFile(t *testing.T, dir, tower string, prec clip.Precision) string {
	t.Helper()
	for _, f := range packFiles(t, dir) {
		if strings.Contains(filepath.Base(f), "-"+tower+"-"+string(prec)+"-") {
			return f
		}
	}
	t.Fatalf("no %s %s pack file in %s (%v)", tower, prec, dir, packFiles(t, dir))
	return ""
}

// TestPackCache checks that a tower saved packed gives the same embeddings
// when mapped back, that the saved matrices are really the ones used (an
// edited one changes the embeddings), and that a damaged, foreign or stale
// file is packed again and replaced, never trusted or fatal.
func TestPackCache(t *testing.T) {
	for _, prec := range []clip.Precision{clip.FP32, clip.Int8} {
		t.Run(string(prec), func(t *testing.T) {
			model := kit + "models/tiny-synth"
			cacheDir, memo := t.TempDir(), t.TempDir()
			plain, err := clip.Load(model, clip.Options{Precision: prec})
			if err != nil {
				t.Fatal(err)
			}
			wantImg, wantTxt := encodeSome(t, plain, 3)
			plain.Close()
			opt := clip.Options{Precision: prec, PackCache: cacheDir, HashMemo: memo}
			load := func() ([][]float32, [][]float32) {
				t.Helper()
				m, err := clip.Load(model, opt)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := m.Close(); err != nil { // waits for the files
						t.Error(err)
					}
				}()
				return encodeSome(t, m, 3)
			}
			same := func(what string, img, txt [][]float32) {
				t.Helper()
				if d := max(maxDiff(img, wantImg), maxDiff(txt, wantTxt)); d != 0 {
					t.Errorf("%s: embeddings differ from a model without a pack cache by %g", what, d)
				}
			}

			img, txt := load() // packs, saves
			same("first load", img, txt)
			if n := len(packFiles(t, cacheDir)); n != 2 {
				t.Fatalf("%d pack files after a load, want 2 (vision, text)", n)
			}
			vision := towerFile(t, cacheDir, "vision", prec)
			saved, err := os.ReadFile(vision)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(vision)

			img, txt = load() // maps
			same("mapped", img, txt)
			if after, _ := os.Stat(vision); !os.SameFile(before, after) {
				t.Error("a load that could map the file wrote it again")
			}

			// The projection is float32 and has no bias: doubled in the file,
			// it doubles the image embeddings exactly.
			pf := readPackFile(t, vision)
			e := pf.entry(t, "visual_projection.weight")
			vals := pf.data[e.Offset+64 : e.Offset+e.Size]
			for i := 0; i+4 <= len(vals); i += 4 {
				v := math.Float32frombits(binary.NativeEndian.Uint32(vals[i:]))
				binary.NativeEndian.PutUint32(vals[i:], math.Float32bits(2*v))
			}
			pf.write(t, vision, true)
			img, _ = load()
			for i := range img {
				for j := range img[i] {
					if img[i][j] != 2*wantImg[i][j] {
						t.Fatalf("image %d [%d] = %v with the projection doubled in the pack file, want %v: the file's matrices are not the ones used", i, j, img[i][j], 2*wantImg[i][j])
					}
				}
			}

			// Damaged (a value changed, checksums not), foreign, truncated: packed
			// again, and the file replaced by a good one.
			for name, damage := range map[string]func(b []byte) []byte{
				"flipped": func(b []byte) []byte { b[len(b)-100] ^= 0x40; return b },
				"foreign": func([]byte) []byte { return []byte("not a pack file at all") },
				"cut":     func(b []byte) []byte { return b[:len(b)/2] },
				"empty":   func([]byte) []byte { return nil },
			} {
				if err := os.WriteFile(vision, damage(slices.Clone(saved)), 0o644); err != nil {
					t.Fatal(err)
				}
				img, txt = load()
				same(name, img, txt)
				if got, _ := os.ReadFile(vision); !bytes.Equal(got, saved) {
					t.Errorf("%s: the pack file was not replaced by the tower packed again", name)
				}
			}
		})
	}
}

// TestPackCacheStale changes a model folder in place: the file saved for it
// is then stale (another fingerprint) and is replaced, not added to.
func TestPackCacheStale(t *testing.T) {
	dir := modelFolder(t, "tiny-synth")
	copyFile(t, kit+"models/tiny-synth/model.safetensors", filepath.Join(dir, "model.safetensors"))
	cacheDir := t.TempDir()
	opt := clip.Options{PackCache: cacheDir, Lazy: true}
	encode := func() [][]float32 {
		m, err := clip.Load(dir, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		img, err := m.EncodeImages(t.Context(), goldenPixels(t, readInputs(t))[:2])
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	want := encode()
	if n := len(packFiles(t, cacheDir)); n != 1 {
		t.Fatalf("%d pack files after a lazy load that used the vision tower alone, want 1", n)
	}
	old, err := os.ReadFile(towerFile(t, cacheDir, "vision", clip.FP32))
	if err != nil {
		t.Fatal(err)
	}
	// The same config with a space more: another fingerprint, same embeddings.
	cfg := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(encode(), want); d != 0 {
		t.Errorf("embeddings moved by %g", d)
	}
	files := packFiles(t, cacheDir)
	if len(files) != 1 {
		t.Fatalf("pack files %v, want the one replaced", files)
	}
	cur, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(cur, old) {
		t.Error("the stale pack file was kept")
	}
	key := func(p *packFile) any { return p.header["key"].(map[string]any)["fingerprint"] }
	if fp := key(parsePackFile(t, cur)); fp == key(parsePackFile(t, old)) {
		t.Errorf("the replaced file kept the old fingerprint %v", fp)
	}
}

// TestPackCacheGolden pins the packed matrices of the tiny model, for the
// layouts whose digest it knows. When it fails, the way goclip derives or
// packs matrices changed: bump packVersion in clip/packcache.go (files
// saved by older builds would otherwise be mapped as if still right), then
// update the digests here.
func TestPackCacheGolden(t *testing.T) {
	golden := map[string]string{}
	for _, prec := range []clip.Precision{clip.FP32, clip.Int8} {
		cacheDir := t.TempDir()
		m, err := clip.Load(kit+"models/tiny-synth", clip.Options{Precision: prec, PackCache: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		for _, tower := range []string{"vision", "text"} {
			pf := readPackFile(t, towerFile(t, cacheDir, tower, prec))
			h := sha256.New()
			for _, e := range pf.entries() {
				h.Write([]byte(e.Name))
				h.Write(pf.data[e.Offset : e.Offset+e.Size])
			}
			key := tower + " " + string(prec) + " " + tensor.PackedLayout(false)
			if prec == clip.Int8 {
				key += ", " + tensor.PackedLayout(true)
			}
			golden[key] = hex.EncodeToString(h.Sum(nil))[:16]
		}
	}
	want := map[string]string{
		"vision fp32 f32 nr48 kc128":                "5ed90c758e9e7d4c",
		"text fp32 f32 nr48 kc128":                  "eb74093d4be97486",
		"vision int8 f32 nr48 kc128, i8 nr48 kc512": "837c93272aa472c1",
		"text int8 f32 nr48 kc128, i8 nr48 kc512":   "b9db891ae0d74a24",
		"vision fp32 f32 nr24 kc256":                "5d1960f9365c0461",
		"text fp32 f32 nr24 kc256":                  "0149ca45b24a61d9",
		"vision int8 f32 nr24 kc256, i8 nr48 kc512": "75a5bbd2dc466fe6",
		"text int8 f32 nr24 kc256, i8 nr48 kc512":   "3cfeda96e4b60b3a",
	}
	n := 0
	for k, got := range golden {
		w, ok := want[k]
		if !ok {
			t.Logf("no digest for %s (%s)", k, got)
			continue
		}
		n++
		if got != w {
			t.Errorf("%s: packed matrices digest %s, want %s: see the test's comment", k, got, w)
		}
	}
	if n == 0 {
		t.Skipf("no known digest for this process's layouts (%s)", tensor.PackedLayout(false))
	}
}
