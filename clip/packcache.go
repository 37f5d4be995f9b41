package clip

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/internal/mmap"
	"github.com/goclip/goclip/tensor"
)

// The pack cache (Options.PackCache). Packing a tower writes every weight
// once into new memory (tensor.Pack, PackInt8), which is most of a load's
// time: on the 2-core guests goclip is measured on, the first touch of a
// fresh page costs several times what a page of a file in the page cache
// costs. So a tower, once packed, is saved to a file of its packed
// matrices (tensor.Matrix.Encode), and later loads map that file and view
// the matrices in place (tensor.View) instead of packing again.
//
// A file is named after the model's source (its folder, or for New its
// fingerprint), the tower, the precision and the packed layouts (so the
// kernel sets GOCLIP_KERNELS picks keep files side by side), so a model
// that changes in place replaces its file rather than adding one. Inside, a JSON header
// holds the key the file was written for: the model's fingerprint, the
// tower, the precision, the packed layouts of this process's kernels, and
// packVersion. A file is used only when that key matches exactly and the
// CRC-32C of every matrix holds (checked on all cores as the file is
// mapped, which also brings its pages in, so the first forward pass does
// not pay for them). Anything else (a missing, foreign, truncated,
// damaged or stale file) is logged, the tower is packed as usual and the
// file replaced; the pack cache never fails a load.
//
// File layout: packMagic, the header's length (uint32, little-endian) and
// CRC-32C, the JSON header, zeros up to the next 4 KiB boundary, then the
// encoded matrices, each at the offset the header gives (a multiple of
// 64).

// packVersion names how goclip derives packed matrices from a checkpoint
// (which tensors, the q scaling folded into the fused qkv matrix, the int8
// rounding). A change to any of it must change this string, or old files
// would serve the old packing; TestPackCacheGolden fails when the packed
// bytes of the tiny test model change, as a reminder.
const packVersion = "goclip packed v1"

var packMagic = [8]byte{'G', 'C', 'P', 'A', 'C', 'K', '0', '1'}

// packAlign is where the matrices of a pack file start: a page boundary,
// so a mapped file's matrices are as aligned as the kernels like.
const packAlign = 4096

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// packKey is what a pack file must have been written for.
type packKey struct {
	Fingerprint string   `json:"fingerprint"`
	Tower       string   `json:"tower"`
	Precision   string   `json:"precision"`
	Layouts     []string `json:"layouts"`
	Version     string   `json:"version"`
}

// differ says how a file's key k differs from the wanted key o, or "" when
// they are equal.
func (k packKey) differ(o packKey) string {
	switch {
	case k.Version != o.Version:
		return fmt.Sprintf("written as %q, this build reads %q", k.Version, o.Version)
	case k.Fingerprint != o.Fingerprint:
		return fmt.Sprintf("written for model %.12s…, this one is %.12s… (it changed)", k.Fingerprint, o.Fingerprint)
	case k.Tower != o.Tower || k.Precision != o.Precision:
		return fmt.Sprintf("written for the %s tower in %s, not the %s tower in %s", k.Tower, k.Precision, o.Tower, o.Precision)
	case !slices.Equal(k.Layouts, o.Layouts):
		return fmt.Sprintf("packed for layouts %q, this process's kernels read %q", k.Layouts, o.Layouts)
	}
	return ""
}

// packHeader is a pack file's JSON header.
type packHeader struct {
	Key      packKey       `json:"key"`
	Matrices []packedEntry `json:"matrices"`
}

type packedEntry struct {
	Name   string `json:"name"`
	Out    int    `json:"out"`
	In     int    `json:"in"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
}

// packCache says where a model's towers are saved: nowhere when dir is "".
type packCache struct {
	dir         string
	source      string // names the files: the model's folder, or its fingerprint
	fingerprint string
}

// packer packs one tower's matrices, or takes them from its pack file.
type packer struct {
	path string            // the tower's pack file; "" without a pack cache
	key  packKey           // what the file must hold
	file *mmap.File        // the mapped file, when its matrices are used
	have map[string][]byte // encoded matrices of the file, by name

	mu     sync.Mutex
	mats   []namedMatrix // every matrix of the tower, saved or packed
	packed bool          // some were packed by this load: save them all
}

type namedMatrix struct {
	name    string
	out, in int
	m       *tensor.Matrix
}

// newPacker returns the packer of tower under c, with the tower's pack file
// mapped when it holds what key describes.
func (c packCache) newPacker(tower string, prec Precision) *packer {
	if c.dir == "" || c.fingerprint == "" {
		return &packer{}
	}
	layouts := []string{tensor.PackedLayout(false)}
	if prec == Int8 {
		layouts = append(layouts, tensor.PackedLayout(true))
	}
	sum := sha256.Sum256([]byte(c.source))
	lay := sha256.Sum256([]byte(strings.Join(layouts, ";"))) // kernel sets' files side by side
	p := &packer{
		path: filepath.Join(c.dir, fmt.Sprintf("%s-%s-%s-%s.pack", hex.EncodeToString(sum[:10]), tower, prec, hex.EncodeToString(lay[:3]))),
		key:  packKey{Fingerprint: c.fingerprint, Tower: tower, Precision: string(prec), Layouts: layouts, Version: packVersion},
	}
	f, have, err := openPackFile(p.path, p.key)
	switch {
	case err == nil:
		p.file, p.have = f, have
	case errors.Is(err, fs.ErrNotExist):
		slog.Debug("pack cache: no saved matrices; packing", "file", p.path)
	default:
		slog.Warn("pack cache: not using saved matrices; packing again", "err", err)
	}
	return p
}

// matrix returns the packed matrix name (out×in weights): the saved one
// when the pack file has it, otherwise build's weights packed with Pack, or
// PackInt8 when int8 is set.
func (p *packer) matrix(name string, int8 bool, out, in int, build func() ([]float32, error)) (*tensor.Matrix, error) {
	if b, ok := p.have[name]; ok {
		m, _, err := tensor.View(b, out, in)
		if err == nil && m.IsInt8() == int8 {
			p.add(name, out, in, m, false)
			return m, nil
		}
		slog.Warn("pack cache: saved matrix does not fit; packing it", "file", p.path, "matrix", name, "err", err)
	}
	w, err := build()
	if err != nil {
		return nil, err
	}
	pack := tensor.Pack
	if int8 {
		pack = tensor.PackInt8
	}
	m, err := pack(w, out, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.add(name, out, in, m, true)
	return m, nil
}

func (p *packer) add(name string, out, in int, m *tensor.Matrix, packed bool) {
	if p.path == "" {
		return
	}
	p.mu.Lock()
	p.mats = append(p.mats, namedMatrix{name, out, in, m})
	p.packed = p.packed || packed
	p.mu.Unlock()
}

// tensorMatrix is matrix for a weight tensor of the checkpoint as it is.
func (p *packer) tensorMatrix(f *fetcher, name string, int8 bool, out, in int) (*tensor.Matrix, error) {
	return p.matrix(name, int8, out, in, func() ([]float32, error) {
		return f.unscanned(name) // Pack and PackInt8 refuse non-finite weights
	})
}

// save writes the tower's pack file, with its matrices in name order, when
// this load packed any of them. It runs after the tower is built, while
// the model is in use (both only read the matrices).
func (p *packer) save() error {
	if p.path == "" || !p.packed {
		return nil
	}
	mats := slices.SortedFunc(slices.Values(p.mats), func(a, b namedMatrix) int { return strings.Compare(a.name, b.name) })
	h := packHeader{Key: p.key}
	for _, nm := range mats {
		c := crc32.New(castagnoli)
		if err := nm.m.Encode(c); err != nil {
			return err
		}
		h.Matrices = append(h.Matrices, packedEntry{Name: nm.name, Out: nm.out, In: nm.in, Size: int64(nm.m.EncodedSize()), CRC32C: c.Sum32()})
	}
	// The header's length depends on the offsets' digits: place the
	// matrices after a generous bound, then fill the offsets in.
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	off := int64(16+len(js)+32*len(mats)+packAlign-1) &^ (packAlign - 1)
	for i := range h.Matrices {
		h.Matrices[i].Offset = off
		off += h.Matrices[i].Size
	}
	if js, err = json.Marshal(h); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o755); err != nil {
		return fmt.Errorf("pack cache: %w", err)
	}
	err = atomicfile.Write(p.path, 0o644, func(w io.Writer) error {
		var pre [16]byte
		copy(pre[:], packMagic[:])
		binary.LittleEndian.PutUint32(pre[8:], uint32(len(js)))
		binary.LittleEndian.PutUint32(pre[12:], crc32.Checksum(js, castagnoli))
		pad := int(h.Matrices[0].Offset) - 16 - len(js)
		for _, b := range [][]byte{pre[:], js, make([]byte, pad)} {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		for _, nm := range mats {
			if err := nm.m.Encode(w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Writing left the file in the page cache in small folios, which a
	// mapping streams slower than the heap (see mmap.File.HugePages).
	// Evicted and read back through a huge-page mapping, it comes back in
	// huge folios for every later load, and what was written is checked.
	mmap.Evict(p.path)
	f, _, err := openPackFile(p.path, p.key)
	if err != nil {
		return fmt.Errorf("pack cache: reading back what was written: %w", err)
	}
	return f.Close()
}

// openPackFile maps the pack file at path and returns its encoded matrices
// by name, after checking that it was written for key and that every
// matrix's CRC-32C holds. Errors name the file.
func openPackFile(path string, key packKey) (*mmap.File, map[string][]byte, error) {
	f, err := mmap.Open(path)
	if err != nil {
		return nil, nil, err
	}
	f.HugePages() // before the first touch; refused only where there are none
	have, err := packFileMatrices(f.Data, key)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, have, nil
}

func packFileMatrices(data []byte, key packKey) (map[string][]byte, error) {
	if len(data) < 16 || !bytes.Equal(data[:8], packMagic[:]) {
		return nil, errors.New("not a goclip pack file")
	}
	n := int64(binary.LittleEndian.Uint32(data[8:]))
	if 16+n > int64(len(data)) {
		return nil, fmt.Errorf("truncated: a header of %d bytes in a file of %d", n, len(data))
	}
	js := data[16 : 16+n]
	if crc32.Checksum(js, castagnoli) != binary.LittleEndian.Uint32(data[12:]) {
		return nil, errors.New("damaged header (checksum mismatch)")
	}
	var h packHeader
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if d := h.Key.differ(key); d != "" {
		return nil, errors.New(d)
	}
	have := make(map[string][]byte, len(h.Matrices))
	for _, e := range h.Matrices {
		if e.Offset < 16+n || e.Offset%64 != 0 || e.Size < 0 || e.Offset > int64(len(data))-e.Size {
			return nil, fmt.Errorf("matrix %s: bytes [%d, +%d) outside the file's %d or misplaced", e.Name, e.Offset, e.Size, len(data))
		}
		if _, dup := have[e.Name]; dup {
			return nil, fmt.Errorf("matrix %s listed twice", e.Name)
		}
		have[e.Name] = data[e.Offset : e.Offset+e.Size]
	}
	// The checksums, on all cores: this reads every page once.
	var next atomic.Int64
	bad := make([]error, len(h.Matrices))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(h.Matrices)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(h.Matrices); i = int(next.Add(1)) - 1 {
				e := h.Matrices[i]
				if crc32.Checksum(have[e.Name], castagnoli) != e.CRC32C {
					bad[i] = fmt.Errorf("matrix %s: checksum mismatch (the file is damaged)", e.Name)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(bad...); err != nil {
		return nil, err
	}
	return have, nil
}
