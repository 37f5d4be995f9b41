package imageproc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFindImages(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.jpg", "a.PNG", "notes.txt", "sub/c.webp", "sub/deeper/d.jpeg", ".hidden/e.jpg", "sub/.f.jpg"} {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "g.jpg"), nil, 0o644)
	for link, target := range map[string]string{
		"sub/up":      dir,                               // a loop: walked once
		"linked":      outside,                           // a folder elsewhere: followed
		"broken.jpg":  filepath.Join(dir, "nothing.jpg"), // reported
		"alias.jpg":   filepath.Join(dir, "b.jpg"),       // a link to a file: taken under its name
		"sub/gone-to": filepath.Join(outside, "missing"), // a broken folder link: reported
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	got, unlisted, err := FindImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, p := range got {
		r, _ := filepath.Rel(dir, p)
		rel = append(rel, filepath.ToSlash(r))
	}
	want := []string{"a.PNG", "alias.jpg", "b.jpg", "linked/g.jpg", "sub/c.webp", "sub/deeper/d.jpeg"}
	if !slices.Equal(rel, want) {
		t.Errorf("images %q, want %q", rel, want)
	}
	var un []string
	for _, u := range unlisted {
		r, _ := filepath.Rel(dir, u.Path)
		un = append(un, r+": "+u.Reason)
	}
	if len(un) != 2 || !strings.HasPrefix(un[0], "broken.jpg: broken link") || !strings.HasPrefix(un[1], "sub/gone-to: broken link") {
		t.Errorf("unlisted %q", un)
	}
	if _, _, err := FindImages(filepath.Join(dir, "absent")); err == nil {
		t.Error("an absent root: no error")
	}
}
