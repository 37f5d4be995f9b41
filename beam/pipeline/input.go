package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/imageproc"
)

// Shard is one unit of work, an element of the pipeline: a run of image
// files, or one webdataset tar file. Shard N of a run always holds the
// same inputs, so it always writes the same output files: a bundle that
// is retried, or a run that is repeated, replaces them whole.
type Shard struct {
	N, Count int      // shard number, and the run's number of shards
	Files    []string // image files, in order
	Labels   []string // eval over a class-folder dataset: each file's class
	Tar      string   // a webdataset shard (Files is empty)
}

// Name is how errors name the shard.
func (s Shard) Name() string {
	if s.Tar != "" {
		return s.Tar
	}
	return fmt.Sprintf("shard %d", s.N)
}

// DefaultShardSize is the number of image files per shard, as
// clip-retrieval's write_batch_size: big enough that a shard keeps a
// worker's cores busy, small enough that a retried shard costs little.
const DefaultShardSize = 10000

// ListInput expands an --input value into shards:
//
//   - @FILE: a text file with one path per line (blank lines and lines
//     starting with # are skipped), in its order;
//   - a pattern with {a..b} or {x,y} ranges, as braceexpand and
//     img2dataset's shard names use (shards/{00000..00999}.tar), each
//     expansion a path or a glob;
//   - a glob (sorted), a local folder (its images, recursively, sorted by
//     path), or one file.
//
// Paths may be local or anything Beam's filesystems read (gs://, s3://).
// If every path ends in .tar the input is a webdataset, one shard per tar
// file; otherwise the files are images, shardSize per shard. What a local
// folder's walk could not look into (imageproc.FindImages) is returned in
// unlisted, as shard -1, for errors.jsonl.
func ListInput(ctx context.Context, spec string, shardSize int) (shards []Shard, unlisted []Failure, err error) {
	if shardSize <= 0 {
		shardSize = DefaultShardSize
	}
	var paths []string
	if list, ok := strings.CutPrefix(spec, "@"); ok {
		var err error
		if paths, err = readList(ctx, list); err != nil {
			return nil, nil, err
		}
	} else {
		pats, err := expandBraces(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("input %s: %w", spec, err)
		}
		for _, p := range pats {
			got, un, err := listPattern(ctx, p)
			unlisted = append(unlisted, un...)
			if err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", p, err)
			}
			paths = append(paths, got...)
		}
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("input %s: no files", spec)
	}
	tars := 0
	for _, p := range paths {
		if strings.EqualFold(path.Ext(p), ".tar") {
			tars++
		}
	}
	switch {
	case tars == len(paths):
		shards := make([]Shard, len(paths))
		for i, p := range paths {
			shards[i] = Shard{N: i, Count: len(paths), Tar: p}
		}
		return shards, unlisted, nil
	case tars > 0:
		return nil, nil, fmt.Errorf("input %s: %d tar files among %d images: give webdataset shards or images, not both", spec, tars, len(paths)-tars)
	}
	return chunk(paths, nil, shardSize), unlisted, nil
}

// ListDataset expands an eval --dataset value: a folder with one
// sub-folder per class (eval.Scan, as goclip eval reads it), or webdataset
// shards as ListInput takes them. classes are the dataset's classes (the
// folder names) for a folder, nil for shards; unreadable lists what the
// scan could not read.
func ListDataset(ctx context.Context, spec string, shardSize int) (shards []Shard, classes []string, unreadable []eval.Failure, err error) {
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		ds, err := eval.Scan(spec)
		if err != nil {
			return nil, nil, nil, err
		}
		if len(ds.Items) == 0 {
			return nil, nil, nil, fmt.Errorf("dataset %s: no images in %v", spec, ds.Classes)
		}
		paths := make([]string, len(ds.Items))
		labels := make([]string, len(ds.Items))
		for i, it := range ds.Items {
			paths[i], labels[i] = it.Path, ds.Classes[it.Class]
		}
		return chunk(paths, labels, shardSize), ds.Classes, ds.Unreadable, nil
	}
	shards, _, err = ListInput(ctx, spec, shardSize) // tar shards: there is no walk
	if err != nil {
		return nil, nil, nil, err
	}
	if shards[0].Tar == "" {
		return nil, nil, nil, fmt.Errorf("dataset %s: want a folder of class folders or webdataset shards (.tar)", spec)
	}
	return shards, nil, nil, nil
}

func chunk(paths, labels []string, size int) []Shard {
	count := (len(paths) + size - 1) / size
	shards := make([]Shard, count)
	for i := range shards {
		lo, hi := i*size, min((i+1)*size, len(paths))
		shards[i] = Shard{N: i, Count: count, Files: paths[lo:hi]}
		if labels != nil {
			shards[i].Labels = labels[lo:hi]
		}
	}
	return shards
}

func readList(ctx context.Context, name string) ([]string, error) {
	r, err := openRead(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("input list %s: %w", name, err)
	}
	defer r.Close()
	var paths []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		paths = append(paths, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("input list %s: %w", name, err)
	}
	return paths, nil
}

// listPattern lists one path, glob or local folder; a folder's walk
// reports what it could not look into.
func listPattern(ctx context.Context, p string) ([]string, []Failure, error) {
	if isRemote(p) {
		if !strings.ContainsAny(p, "*?[") {
			return []string{p}, nil, nil
		}
		fsys, err := filesystem.New(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		defer fsys.Close()
		got, err := fsys.List(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		slices.Sort(got)
		return got, nil, nil
	}
	if strings.ContainsAny(p, "*?[") {
		got, err := filepath.Glob(p)
		if err != nil {
			return nil, nil, err
		}
		out := got[:0]
		for _, g := range got {
			if fi, err := os.Stat(g); err == nil && !fi.IsDir() {
				out = append(out, g)
			}
		}
		return out, nil, nil // Glob sorts
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return []string{p}, nil, nil
	}
	images, un, err := imageproc.FindImages(p)
	var failed []Failure
	for _, u := range un {
		failed = append(failed, Failure{Shard: -1, Path: u.Path, Reason: u.Reason})
	}
	return images, failed, err
}

var braceRange = regexp.MustCompile(`\{(-?\d+)\.\.(-?\d+)\}`)

// expandBraces expands the {a..b} ranges (zero padding kept, as in
// {00000..00999}) and {x,y,z} lists of a pattern, left to right, as
// Python's braceexpand does for these forms.
func expandBraces(p string) ([]string, error) {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}, nil
	}
	end := strings.IndexByte(p[open:], '}')
	if end < 0 {
		return nil, fmt.Errorf("unclosed { in %q", p)
	}
	end += open
	body := p[open : end+1]
	var alts []string
	if m := braceRange.FindStringSubmatch(body); m != nil && m[0] == body {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		width := 0
		if len(m[1]) > 1 && strings.HasPrefix(m[1], "0") || len(m[2]) > 1 && strings.HasPrefix(m[2], "0") {
			width = max(len(m[1]), len(m[2]))
		}
		step := 1
		if b < a {
			step = -1
		}
		if n := (b-a)*step + 1; n > 10_000_000 {
			return nil, fmt.Errorf("range %s has %d values", body, n)
		}
		for v := a; ; v += step {
			alts = append(alts, fmt.Sprintf("%0*d", width, v))
			if v == b {
				break
			}
		}
	} else {
		alts = strings.Split(body[1:len(body)-1], ",")
	}
	rest, err := expandBraces(p[end+1:])
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(alts)*len(rest))
	for _, a := range alts {
		for _, r := range rest {
			out = append(out, p[:open]+a+r)
		}
	}
	return out, nil
}
