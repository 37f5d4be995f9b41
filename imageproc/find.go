package imageproc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Unlisted is a path below a folder that FindImages could not look into:
// a folder it cannot list, a link it cannot follow.
type Unlisted struct {
	Path   string
	Reason string
}

// FindImages lists the image files below the folder root (by file name
// extension, HasImageExt), recursively, in lexical order of their paths.
// Hidden files and folders (name starting with '.') are skipped. Links to
// files and folders are followed, each real folder walked once, so a link
// loop ends. What cannot be looked into (a folder without permission, a
// broken link) is returned in unlisted and the walk goes on: a caller
// reports it, and must not take the images missing there for deleted.
// Only a root that cannot be listed is an error.
func FindImages(root string) (images []string, unlisted []Unlisted, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, nil, err
	}
	f := &finder{seen: map[string]bool{real: true}}
	f.walk(root, entries)
	return f.images, f.unlisted, nil
}

type finder struct {
	seen     map[string]bool // real folders walked
	images   []string
	unlisted []Unlisted
}

func (f *finder) walk(dir string, entries []fs.DirEntry) {
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			if err != nil {
				f.unlisted = append(f.unlisted, Unlisted{p, LinkProblem(err)})
				continue
			}
			mode = fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				f.unlisted = append(f.unlisted, Unlisted{p, LinkProblem(err)})
				continue
			}
			if f.seen[real] {
				continue // a loop, or a second way to a folder walked already
			}
			f.seen[real] = true
			sub, err := os.ReadDir(p)
			if err != nil {
				f.unlisted = append(f.unlisted, Unlisted{p, FolderProblem(err)})
				if len(sub) == 0 {
					continue
				}
			}
			f.walk(p, sub)
		case mode.IsRegular() && HasImageExt(name):
			f.images = append(f.images, p)
		}
	}
}

// FolderProblem explains why a folder cannot be listed (err from
// os.ReadDir), for a report that names the folder.
func FolderProblem(err error) string {
	return "cannot list the folder: " + pathErrorCause(err).Error()
}

// LinkProblem explains why a link cannot be followed (err from os.Stat or
// filepath.EvalSymlinks), for a report that names the link.
func LinkProblem(err error) string {
	err = pathErrorCause(err)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "broken link (its target does not exist)"
	case errors.Is(err, syscall.ELOOP):
		return "link loop (too many levels of links)"
	}
	return fmt.Sprintf("cannot follow the link: %v", err)
}

// pathErrorCause drops the *fs.PathError around err, whose path the caller
// reports already.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
