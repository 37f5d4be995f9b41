package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/goclip/goclip/internal/atomicfile"
)

// isRemote reports whether p names an object in a store Beam's
// filesystems reach (gs://bucket/x, s3://bucket/x) rather than a local file.
func isRemote(p string) bool { return strings.Contains(p, "://") }

// joinPath joins an output folder and a slash-separated relative name.
func joinPath(dir, rel string) string {
	if isRemote(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + rel
	}
	return filepath.Join(dir, filepath.FromSlash(rel))
}

// writeFile writes rel below the output folder out, whole or not at all:
// a local file through atomicfile (a temporary file, synced, renamed over
// the name); an object through Beam's filesystem, which makes it visible
// only when the upload completes (gs://, s3://: an object is never
// half-written). A shard written again, by a retried bundle or a repeated
// run, is replaced.
func writeFile(ctx context.Context, out, rel string, write func(io.Writer) error) error {
	name := joinPath(out, rel)
	if !isRemote(out) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return atomicfile.Write(name, 0o644, write)
	}
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer fsys.Close()
	w, err := fsys.OpenWrite(ctx, name)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := write(w); err != nil {
		// Not closed: the upload is abandoned and no object appears.
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// openRead opens a local file or an object.
func openRead(ctx context.Context, name string) (io.ReadCloser, error) {
	if !isRemote(name) {
		return os.Open(name)
	}
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, err
	}
	r, err := fsys.OpenRead(ctx, name)
	if err != nil {
		fsys.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, closeBoth{r, fsys}}, nil
}

type closeBoth struct{ a, b io.Closer }

func (c closeBoth) Close() error {
	err := c.a.Close()
	if err2 := c.b.Close(); err == nil {
		err = err2
	}
	return err
}
