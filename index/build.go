package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/atomicfile"
)

// BuildConfig says how Build embeds images.
type BuildConfig struct {
	Encoder  clip.Encoder
	Pipeline *imageproc.Pipeline // nil: the encoder's, default limits
	Cache    batch.Cache         // optional: embeddings survive an interrupted build
	Workers  int                 // 0: GOMAXPROCS
	Batch    int                 // 0: 16
	// Progress, when set, is called after each image embedded or failed.
	Progress func(done, total int)
	// Lists, when positive, gives the index an IVF of that many lists for
	// approximate search; -1 gives it AutoLists of its rows; 0: none.
	Lists int
	// ModelRef names Encoder as the user did (a folder, a Hub id); the
	// index keeps it for searches to load by default (Index.ModelRef).
	ModelRef string
}

// Failure is an image that could not be indexed.
type Failure struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// BuildStats says what Build did.
type BuildStats struct {
	Images   int // in the index after the build
	Kept     int // unchanged since the last build: not embedded again
	Added    int
	Updated  int // changed (size or modification time): embedded again
	Removed  int // gone from the folders
	Failures []Failure
	Written  bool // false when nothing changed and the file was left as it was
}

// Build brings the index file at path up to date with the images below
// dirs (recursively; hidden files and folders skipped; images by file name
// extension, imageproc.HasImageExt): an image already in the index with
// the same size and modification time keeps its vector, a new or changed
// one is embedded, and entries below dirs whose file is gone are removed.
// Entries outside dirs are kept, so one index can gather folders indexed
// at different times. An existing index made by another model is refused
// (ErrModel). Images that cannot be read are listed in the stats, not
// indexed; so are folders and links that cannot be looked into, whose
// entries stay in the index (an unmounted drive deletes nothing). The new
// index replaces the file atomically; if nothing changed the file is not
// rewritten.
func Build(ctx context.Context, path string, dirs []string, cfg BuildConfig) (BuildStats, error) {
	var st BuildStats
	model := cfg.Encoder.Fingerprint()
	dim := cfg.Encoder.EmbedDim()
	old, err := openExisting(path, model, dim)
	if err != nil {
		return st, err
	}
	if old != nil {
		defer old.Close()
	}
	roots := make([]string, len(dirs))
	for i, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return st, err
		}
		roots[i] = abs
	}
	found, failed, unlisted, err := walk(roots)
	if err != nil {
		return st, err
	}
	st.Failures = append(st.Failures, failed...)

	// What the old index has, by path.
	type oldRow struct {
		row int
		e   Entry
	}
	have := map[string]oldRow{}
	if old != nil {
		for i := range old.Len() {
			e, err := old.Entry(i)
			if err != nil {
				return st, err
			}
			have[e.Path] = oldRow{i, e}
		}
	}
	var rows []row
	var todo []Entry
	seen := map[string]bool{}
	for _, e := range found {
		seen[e.Path] = true
		if o, ok := have[e.Path]; ok && o.e.Size == e.Size && o.e.ModTime == e.ModTime {
			rows = append(rows, row{e: e, old: old.Vector(o.row)})
			st.Kept++
			continue
		}
		todo = append(todo, e)
	}
	for p, o := range have {
		switch {
		case seen[p]:
		case under(p, roots) && !under(p, unlisted):
			st.Removed++
		default:
			rows = append(rows, row{e: o.e, old: old.Vector(o.row)})
		}
	}

	// Embed what is new or changed. An image that was in the index and no
	// longer reads leaves it.
	if len(todo) > 0 {
		src := make([]batch.Source, len(todo))
		for i, e := range todo {
			src[i] = batch.Source{Name: e.Path}
		}
		done := 0
		_, err := batch.Embed(ctx, batch.Config{Encoder: cfg.Encoder, Pipeline: cfg.Pipeline, Cache: cfg.Cache, Workers: cfg.Workers, Batch: cfg.Batch}, src,
			func(r batch.Result) error {
				done++
				if cfg.Progress != nil {
					defer cfg.Progress(done, len(todo))
				}
				e := todo[r.Index]
				_, was := have[e.Path]
				if r.Err != nil {
					st.Failures = append(st.Failures, Failure{Path: e.Path, Reason: imageproc.Reason(r.Err)})
					if was {
						st.Removed++
					}
					return nil
				}
				if was {
					st.Updated++
				} else {
					st.Added++
				}
				rows = append(rows, row{e: e, vec: ToF16(clip.Normalize(r.Embedding))})
				return nil
			})
		if err != nil {
			return st, err
		}
	}
	st.Images = len(rows)
	if old != nil && st.Added+st.Updated+st.Removed == 0 && (old.Lists() == cfg.Lists || cfg.Lists < 0 && old.Lists() > 0) && old.ModelRef() == cfg.ModelRef {
		return st, nil
	}
	if err := writeRows(ctx, path, model, cfg.ModelRef, dim, rows, cfg.Lists); err != nil {
		return st, err
	}
	st.Written = true
	return st, nil
}

// row is one row of a new index: a vector kept from the old file, or a new one.
type row struct {
	e   Entry
	old []uint16
	vec []uint16
}

func (r row) vector() []uint16 {
	if r.vec != nil {
		return r.vec
	}
	return r.old
}

// writeRows sorts rows by path and writes them over path atomically, with
// an IVF of lists lists when lists > 0 (fewer when there are fewer rows).
func writeRows(ctx context.Context, path, model, ref string, dim int, rows []row, lists int) error {
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.e.Path, b.e.Path) })
	entries := make([]Entry, len(rows))
	for i, r := range rows {
		entries[i] = r.e
	}
	var iv *ivfData
	if lists < 0 {
		lists = AutoLists(len(rows))
	}
	if lists = min(lists, len(rows)); lists > 0 {
		c, l, err := trainIVF(ctx, len(rows), dim, lists, func(i int) []uint16 { return rows[i].vector() })
		if err != nil {
			return err
		}
		iv = &ivfData{c, l}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil && filepath.Dir(path) != "." {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return write(w, model, ref, dim, entries, func(i int) []uint16 { return rows[i].vector() }, iv)
	})
}

// openExisting opens the index at path if there is one, checking it was
// made by model with vectors of dim values.
func openExisting(path, model string, dim int) (*Index, error) {
	x, err := Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := x.CheckModel(model); err != nil {
		x.Close()
		return nil, err
	}
	if x.Dim() != dim {
		x.Close()
		return nil, fmt.Errorf("index %s: vectors of %d values, the model makes %d", path, x.Dim(), dim)
	}
	return x, nil
}

// walk lists the images below roots (imageproc.FindImages), with their
// size and modification time; a root may also be one image file. What
// could not be looked into is returned as failures, and in unlisted, so
// that the entries below it are kept rather than taken for deleted.
func walk(roots []string) (found []Entry, failed []Failure, unlisted []string, err error) {
	seen := map[string]bool{}
	for _, root := range roots {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, nil, nil, err // names the root
		}
		paths := []string{root}
		if fi.IsDir() {
			var un []imageproc.Unlisted
			if paths, un, err = imageproc.FindImages(root); err != nil {
				return nil, nil, nil, err
			}
			for _, u := range un {
				failed = append(failed, Failure{Path: u.Path, Reason: u.Reason})
				unlisted = append(unlisted, u.Path)
			}
		} else if !imageproc.HasImageExt(root) {
			paths = nil
		}
		for _, p := range paths {
			if seen[p] {
				continue
			}
			fi, err := os.Stat(p) // follows a link to a file
			if err != nil {
				failed = append(failed, Failure{Path: p, Reason: err.Error()})
				unlisted = append(unlisted, p)
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			seen[p] = true
			found = append(found, Entry{Path: p, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()})
		}
	}
	return found, failed, unlisted, nil
}

// under reports whether p is one of roots or below one.
func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// ToF16 converts a vector to float16 bits (round to nearest even).
func ToF16(v []float32) []uint16 {
	out := make([]uint16, len(v))
	for i, x := range v {
		out[i] = checkpoint.F32ToF16(x)
	}
	return out
}
