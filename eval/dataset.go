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
}

// Item is one image of a dataset.
type Item struct {
	Path  string // as found: Root joined with the relative path
	Class int    // index into Dataset.Classes
}

// imageExts are the file name extensions taken as images without looking
// inside; other files are sniffed for an image signature.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true, ".gif": true,
	".bmp": true, ".dib": true, ".tif": true, ".tiff": true, ".webp": true,
}

// Scan reads the dataset layout below root: classes are its sub-folders
// (sorted by name), images are found recursively below each. Hidden files
// and folders (name starting with '.') are skipped. Files with an image
// extension are taken as they are (a corrupt one is reported later, when
// it is decoded); other files are taken if their first bytes are an image
// signature. Symbolic links are followed, each real folder visited once,
// so a link loop ends.
func Scan(root string) (*Dataset, error) {
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
		if err != nil || !fi.IsDir() {
			continue
		}
		d.Classes = append(d.Classes, e.Name())
	}
	sort.Strings(d.Classes)
	if len(d.Classes) == 0 {
		return nil, fmt.Errorf("dataset %s: no class folders (want one sub-folder per class, e.g. %s)", root, filepath.Join(root, "cat", "0001.jpg"))
	}
	for k, c := range d.Classes {
		var seen []os.FileInfo
		var paths []string
		if err := walk(filepath.Join(root, c), &seen, &paths); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", root, err)
		}
		sort.Strings(paths)
		for _, p := range paths {
			d.Items = append(d.Items, Item{Path: p, Class: k})
		}
	}
	return d, nil
}

// walk collects the image files below dir, following links to folders
// once per real folder.
func walk(dir string, seen *[]os.FileInfo, out *[]string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	for _, s := range *seen {
		if os.SameFile(s, fi) {
			return nil // already visited: a link loop or a second link to it
		}
	}
	*seen = append(*seen, fi)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			target, err := os.Stat(p)
			if err != nil {
				continue // dangling link
			}
			mode = target.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if err := walk(p, seen, out); err != nil {
				return err
			}
		case mode.IsRegular():
			if imageExts[strings.ToLower(filepath.Ext(name))] || sniff(p) {
				*out = append(*out, p)
			}
		}
	}
	return nil
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

// CountPerClass returns how many images each class has.
func (d *Dataset) CountPerClass() []int {
	n := make([]int, len(d.Classes))
	for _, it := range d.Items {
		n[it.Class]++
	}
	return n
}
