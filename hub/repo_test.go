package hub

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseModelRef(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "org", "name")
	must(t, os.MkdirAll(local, 0o777))
	t.Chdir(dir)
	cases := []struct {
		in, repo, rev string
		ok            bool
	}{
		{"openai/clip-vit-base-patch32", "openai/clip-vit-base-patch32", "", true},
		{"openai/clip-vit-large-patch14-336@main", "openai/clip-vit-large-patch14-336", "main", true},
		{"laion/CLIP-ViT-B-32-laion2B-s34B-b79K@0123456789abcdef0123456789abcdef01234567",
			"laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "0123456789abcdef0123456789abcdef01234567", true},
		{"org/name@refs/pr/1", "org/name", "refs/pr/1", true},
		{"org/name", "", "", false}, // exists on disk (relative to the working folder)
		{local, "", "", false},
		{"./models/x", "", "", false},
		{"../x/y", "", "", false},
		{"~/models/clip", "", "", false},
		{`C:\models\clip`, "", "", false},
		{"clip-vit-base-patch32", "", "", false}, // no namespace: a path
		{"a/b/c", "", "", false},
		{"org/na--me", "", "", false},
		{"org/name@", "", "", false},
		{"org/name@../x", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		repo, rev, ok := ParseModelRef(tc.in)
		if repo != tc.repo || rev != tc.rev || ok != tc.ok {
			t.Errorf("ParseModelRef(%q) = %q, %q, %v; want %q, %q, %v", tc.in, repo, rev, ok, tc.repo, tc.rev, tc.ok)
		}
	}
}

func TestRepoFolderName(t *testing.T) {
	if got := RepoFolderName("openai/clip-vit-base-patch32"); got != "models--openai--clip-vit-base-patch32" {
		t.Errorf("RepoFolderName = %s", got)
	}
	if id, ok := repoIDFromFolder("models--openai--clip-vit-base-patch32"); !ok || id != "openai/clip-vit-base-patch32" {
		t.Errorf("repoIDFromFolder = %s, %v", id, ok)
	}
	for _, f := range []string{"datasets--a--b", ".locks", "models--"} {
		if _, ok := repoIDFromFolder(f); ok {
			t.Errorf("repoIDFromFolder(%q) accepted", f)
		}
	}
}
