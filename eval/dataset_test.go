package eval

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	root := t.TempDir()
	png, err := os.ReadFile("../testdata/kit/images/one_pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	write := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dog/b.jpg", []byte("not really a jpeg")) // by extension: kept, fails later
	write("dog/a.PNG", png)
	write("dog/sub/deep/c.png", png)
	write("dog/noext", png) // sniffed
	write("dog/notes.txt", []byte("hello"))
	write("dog/.hidden.png", png)
	write("cat/x.png", png)
	write(".git/y.png", png)
	write("README.md", []byte("# data"))
	os.MkdirAll(filepath.Join(root, "wild"), 0o755)
	// Links: a loop back into the class, links into other classes (the
	// bug these rules fix: a dog counted as a cat), a link to a folder
	// outside the dataset (followed), a second name for a file, and a
	// broken link.
	os.Symlink("..", filepath.Join(root, "dog", "sub", "loop"))
	write("elsewhere/z.png", png)
	os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(root, "cat", "linked"))
	os.Symlink(filepath.Join("..", "dog"), filepath.Join(root, "cat", "intodog"))
	os.Symlink(filepath.Join("..", "dog", "a.PNG"), filepath.Join(root, "cat", "dogfile.png"))
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "o.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(outside, filepath.Join(root, "cat", "library"))
	os.Symlink("x.png", filepath.Join(root, "cat", "again.png")) // sorts before x.png
	os.Symlink("nowhere.png", filepath.Join(root, "cat", "broken.png"))
	os.Symlink("nowhere", filepath.Join(root, "broken-class"))

	d, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cat", "dog", "elsewhere", "wild"}; !reflect.DeepEqual(d.Classes, want) {
		t.Errorf("classes %v, want %v", d.Classes, want)
	}
	var got []string
	for _, it := range d.Items {
		rel, _ := filepath.Rel(root, it.Path)
		got = append(got, d.Classes[it.Class]+":"+rel)
	}
	want := []string{"cat:cat/library/o.png", "cat:cat/x.png", "dog:dog/a.PNG", "dog:dog/b.jpg", "dog:dog/noext", "dog:dog/sub/deep/c.png", "elsewhere:elsewhere/z.png"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items\n%v\nwant\n%v", got, want)
	}
	reasons := func(list []Failure) map[string]string {
		m := map[string]string{}
		for _, f := range list {
			rel, _ := filepath.Rel(root, f.Path)
			m[rel] = f.Reason
		}
		return m
	}
	skipped := reasons(d.Skipped)
	for rel, says := range map[string]string{
		"cat/linked":      `into class "elsewhere"`,
		"cat/intodog":     `into class "dog"`,
		"cat/dogfile.png": `into class "dog"`,
		"cat/again.png":   "file already taken",
		"dog/sub/loop":    "folder already scanned",
		"broken-class":    "broken link",
	} {
		if !strings.Contains(skipped[rel], says) {
			t.Errorf("skipped %s: %q, want it to say %q", rel, skipped[rel], says)
		}
	}
	if len(skipped) != 6 {
		t.Errorf("skipped %v, want 6 entries", skipped)
	}
	if r := reasons(d.Unreadable); len(r) != 1 || !strings.Contains(r["cat/broken.png"], "broken link") {
		t.Errorf("unreadable %v, want cat/broken.png as a broken link", r)
	}
	if _, err := Scan(filepath.Join(root, "dog", "sub", "deep")); err == nil {
		t.Error("a folder without sub-folders was accepted")
	}
	if _, err := Scan(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing folder was accepted")
	}
}

// A folder that cannot be listed is reported, and the rest is scanned.
// (Root lists any folder, so the refusal is simulated.)
func TestScanUnreadableFolder(t *testing.T) {
	root := t.TempDir()
	png, err := os.ReadFile("../testdata/kit/images/one_pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"cat/a.png", "cat/locked/b.png", "dog/c.png"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), png, 0o644)
	}
	locked := filepath.Join(root, "cat", "locked")
	d, err := scan(root, func(dir string) ([]fs.DirEntry, error) {
		if dir == locked {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrPermission}
		}
		return os.ReadDir(dir)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Items) != 2 || len(d.Unreadable) != 1 || d.Unreadable[0].Path != locked || !strings.Contains(d.Unreadable[0].Reason, "permission denied") {
		t.Errorf("items %v, unreadable %v: want a.png, c.png and the locked folder", d.Items, d.Unreadable)
	}
}
