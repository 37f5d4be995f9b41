// Package eval runs a zero-shot evaluation the way the user's reference
// write-up does, end to end: a dataset with one folder per class, prompts
// mapped to classes, predictions for every image, scikit-learn's
// classification report, a confusion matrix and a page of the mistakes.
package eval

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goclip/goclip/imageproc"
)

// Dataset is a folder of images with one sub-folder per class
// (afhq/val/cat/*.jpg, afhq/val/dog/..., ...).
type Dataset struct {
	Root    string
	Classes []string // sub-folder names, sorted
	Items   []Item   // in class order, then path order
	// Unreadable lists what below the class folders could not be read: a
	// folder that cannot be listed, a link that leads nowhere or in a
	// loop. An evaluation reports them with the unreadable images.
	Unreadable []Failure
	// Skipped lists entries left out on purpose, and why: links that lead
	// from a class folder into another class (or elsewhere in the
	// dataset), and links to a folder or file already taken.
	Skipped []Failure
}

// Item is one image of a dataset.
type Item struct {
	Path  string // as found: Root joined with the relative path
	Class int    // index into Dataset.Classes
}

// Scan reads the dataset layout below root: classes are its sub-folders
// (sorted by name), images are found recursively below each. Hidden files
// and folders (name starting with '.') are skipped. Files with an image
// extension are taken as they are (a corrupt one is reported later, when
// it is decoded); other files are taken if their first bytes are an image
// signature.
//
// Symbolic links are followed where they stay in their class: to a folder
// or file inside the class folder (each real folder and file is taken
// once, so a link loop ends), or outside the dataset altogether (a class
// assembled from links to a photo library). A link from one class into
// another, or elsewhere into the dataset, would count an image under the
// wrong class: it is skipped and listed in Skipped. What cannot be read (a
// folder without permission, a broken link) is listed in Unreadable and
// the scan goes on. Only a root that cannot be listed, or that has no class
// folder, is an error.
func Scan(root string) (*Dataset, error) { return scan(root, os.ReadDir) }

// scan is Scan listing class folders with readDir.
func scan(root string, readDir func(string) ([]fs.DirEntry, error)) (*Dataset, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	d := &Dataset{Root: root}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(root, e.Name())
		fi, err := os.Stat(p) // follows a link to a folder
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 {
				d.Skipped = append(d.Skipped, Failure{Path: p, Reason: "not a class folder: " + imageproc.LinkProblem(err)})
			}
			continue
		}
		if fi.IsDir() {
			d.Classes = append(d.Classes, e.Name())
		}
	}
	sort.Strings(d.Classes)
	if len(d.Classes) == 0 {
		return nil, fmt.Errorf("dataset %s: no class folders (want one sub-folder per class, e.g. %s)", root, filepath.Join(root, "cat", "0001.jpg"))
	}
	w := &walker{d: d, classReal: make([]string, len(d.Classes)), readDir: readDir}
	if w.rootReal, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	w.rootReal, _ = filepath.Abs(w.rootReal)
	for k, c := range d.Classes {
		if real, err := filepath.EvalSymlinks(filepath.Join(root, c)); err == nil {
			w.classReal[k], _ = filepath.Abs(real)
		}
	}
	for k, c := range d.Classes {
		w.class, w.seen, w.files = k, map[string]bool{}, map[string]taken{}
		var paths []string
		w.walk(filepath.Join(root, c), w.classReal[k], &paths)
		sort.Strings(paths)
		for _, p := range paths {
			d.Items = append(d.Items, Item{Path: p, Class: k})
		}
	}
	return d, nil
}

// walker walks the class folders of one dataset.
type walker struct {
	d         *Dataset
	rootReal  string   // the dataset folder, links resolved
	classReal []string // each class folder, links resolved
	readDir   func(string) ([]fs.DirEntry, error)
	class     int              // the class being walked
	seen      map[string]bool  // real folders walked in this class
	files     map[string]taken // real files taken in this class
}

// taken is a file a class has: where in its list, and whether through a link.
type taken struct {
	index int
	link  bool
}

// walk collects the image files below dir, whose path with links resolved
// is real.
func (w *walker) walk(dir, real string, out *[]string) {
	if w.seen[real] {
		return
	}
	w.seen[real] = true
	entries, err := w.readDir(dir)
	if err != nil {
		w.d.Unreadable = append(w.d.Unreadable, Failure{Path: dir, Reason: imageproc.FolderProblem(err)})
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		pReal := filepath.Join(real, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err == nil {
				target, err = filepath.Abs(target)
			}
			var fi fs.FileInfo
			if err == nil {
				fi, err = os.Stat(target)
			}
			if err != nil {
				w.d.Unreadable = append(w.d.Unreadable, Failure{Path: p, Reason: imageproc.LinkProblem(err)})
				continue
			}
			if where, ok := w.outside(target); !ok {
				w.d.Skipped = append(w.d.Skipped, Failure{Path: p, Reason: "link leads out of its class folder, " + where})
				continue
			}
			if _, dup := w.files[target]; w.seen[target] || dup {
				w.d.Skipped = append(w.d.Skipped, Failure{Path: p, Reason: "link leads to " + w.already(target, fi)})
				continue
			}
			pReal, mode = target, fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			w.walk(p, pReal, out)
		case mode.IsRegular():
			if !imageproc.HasImageExt(name) && !sniff(p) {
				continue
			}
			link := e.Type()&fs.ModeSymlink != 0
			if t, dup := w.files[pReal]; dup {
				// A link came first to a file found now under its own
				// name: the file takes its place.
				w.d.Skipped = append(w.d.Skipped, Failure{Path: (*out)[t.index], Reason: "link leads to a file already taken: " + p})
				(*out)[t.index] = p
				w.files[pReal] = taken{t.index, link}
				continue
			}
			w.files[pReal] = taken{len(*out), link}
			*out = append(*out, p)
		}
	}
}

// outside reports whether a link target (links resolved) may be followed
// from the class being walked: inside that class folder, or outside the
// dataset and every class folder. If not, where says where it leads.
func (w *walker) outside(target string) (where string, ok bool) {
	if within(target, w.classReal[w.class]) {
		return "", true
	}
	for k, c := range w.classReal {
		if c != "" && within(target, c) {
			return fmt.Sprintf("into class %q", w.d.Classes[k]), false
		}
	}
	if within(target, w.rootReal) {
		return "into the dataset folder", false
	}
	return "", true
}

// already describes a target that was taken before.
func (w *walker) already(target string, fi fs.FileInfo) string {
	if fi.IsDir() {
		return "a folder already scanned (a loop or a second link to it): " + target
	}
	return "a file already taken: " + target
}

// within reports whether path is dir or below it (both cleaned, absolute).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func sniff(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	return imageproc.Format(head[:n]) != ""
}
