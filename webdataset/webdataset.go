// Package webdataset reads WebDataset shards: tar files in which the
// members of one sample are consecutive and share a key, as img2dataset
// writes them (00000.tar holding 000000000.jpg, 000000000.json,
// 000000000.txt, 000000001.jpg, ...).
//
// A member's key is its path up to the first dot of its base name and its
// extension is the rest ("a/b.seg.png": key "a/b", extension "seg.png"),
// the rule of webdataset's base_plus_ext. Members without a dot in the base
// name, and members that are not regular files, are skipped, as webdataset
// skips them.
package webdataset

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// ImageExtensions are the extensions Sample.Image looks for, in order:
// img2dataset's output formats first.
var imageExtensions = []string{"jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"}

// Sample is one sample of a shard: its members by extension.
type Sample struct {
	Key   string
	Files map[string][]byte
	// TooBig lists the extensions of members left out because they were
	// larger than the reader's limit, with their sizes.
	TooBig map[string]int64
}

// Image returns the sample's image member: the first of jpg, jpeg, png,
// webp, bmp, gif, tif and tiff (in any letter case) it has. ok is false if
// it has none; size > 0 with ok false means the image was too big.
func (s *Sample) Image() (ext string, data []byte, size int64, ok bool) {
	for _, want := range imageExtensions {
		for e, d := range s.Files {
			if strings.EqualFold(e, want) {
				return e, d, int64(len(d)), true
			}
		}
		for e, n := range s.TooBig {
			if strings.EqualFold(e, want) {
				return e, nil, n, false
			}
		}
	}
	return "", nil, 0, false
}

// Text returns the member with extension ext as a string, and whether
// there is one.
func (s *Sample) Text(ext string) (string, bool) {
	d, ok := s.Files[ext]
	return string(d), ok
}

// Reader reads the samples of one shard.
type Reader struct {
	tr       *tar.Reader
	maxBytes int64
	next     *Sample // the sample being gathered
	err      error
}

// NewReader reads the tar stream r. Members larger than maxBytes bytes
// (≤ 0: no limit) are not read into memory: their samples list them in
// TooBig.
func NewReader(r io.Reader, maxBytes int64) *Reader {
	return &Reader{tr: tar.NewReader(r), maxBytes: maxBytes}
}

// ErrFormat is wrapped by the errors of a stream that is not a readable
// tar file (corrupt or truncated).
var ErrFormat = errors.New("not a readable tar file")

// Next returns the next sample, or io.EOF after the last. A sample whose
// members are not all consecutive comes back as several samples with the
// same key, as webdataset gives them. After an error (a corrupt or
// truncated stream, wrapping ErrFormat), the samples already returned
// stay valid and Next returns the error again.
func (r *Reader) Next() (*Sample, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		h, err := r.tr.Next()
		if err != nil {
			if err == io.EOF {
				r.err = io.EOF
			} else {
				r.err = fmt.Errorf("%w: %v", ErrFormat, err)
			}
			if s := r.next; s != nil && err == io.EOF {
				r.next = nil
				return s, nil
			}
			return nil, r.err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		key, ext, ok := split(h.Name)
		if !ok {
			continue
		}
		var done *Sample
		if r.next != nil && r.next.Key != key {
			done, r.next = r.next, nil
		}
		if r.next == nil {
			r.next = &Sample{Key: key, Files: map[string][]byte{}}
		}
		if r.maxBytes > 0 && h.Size > r.maxBytes {
			if r.next.TooBig == nil {
				r.next.TooBig = map[string]int64{}
			}
			r.next.TooBig[ext] = h.Size
		} else {
			data := make([]byte, h.Size)
			if _, err := io.ReadFull(r.tr, data); err != nil {
				r.err = fmt.Errorf("%w: member %s: %v", ErrFormat, h.Name, err)
				r.next = nil
				if done != nil {
					return done, nil
				}
				return nil, r.err
			}
			r.next.Files[ext] = data
		}
		if done != nil {
			return done, nil
		}
	}
}

// split cuts a member name into key and extension.
func split(name string) (key, ext string, ok bool) {
	dir, base := path.Split(name)
	i := strings.IndexByte(base, '.')
	if i <= 0 || i == len(base)-1 {
		return "", "", false
	}
	return dir + base[:i], base[i+1:], true
}
