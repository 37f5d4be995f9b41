package eval

import (
	"os"
	"path/filepath"
	"reflect"
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
	// A link loop and a link to another folder.
	os.Symlink("..", filepath.Join(root, "dog", "sub", "loop"))
	write("elsewhere/z.png", png)
	os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(root, "cat", "linked"))

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
	want := []string{"cat:cat/linked/z.png", "cat:cat/x.png", "dog:dog/a.PNG", "dog:dog/b.jpg", "dog:dog/noext", "dog:dog/sub/deep/c.png", "elsewhere:elsewhere/z.png"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items\n%v\nwant\n%v", got, want)
	}
	if n := d.CountPerClass(); !reflect.DeepEqual(n, []int{2, 4, 1, 0}) {
		t.Errorf("counts %v", n)
	}
	if _, err := Scan(filepath.Join(root, "dog", "sub", "deep")); err == nil {
		t.Error("a folder without sub-folders was accepted")
	}
	if _, err := Scan(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing folder was accepted")
	}
}
