package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goclip/goclip/checkpoint"
)

// TestMain lets tests run the test binary as goclip itself (GOCLIP_AS_MAIN=1),
// so a real process can be killed mid-run.
func TestMain(m *testing.M) {
	if os.Getenv("GOCLIP_AS_MAIN") == "1" {
		main()
	}
	// The commands keep weight hashes, packed towers and embeddings in the
	// user cache folder: the tests' go to a folder of their own (on Linux,
	// where XDG_CACHE_HOME places it), not the user's.
	dir, err := os.MkdirTemp("", "goclip-test-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const variedPrompts = `car: a photo of the Chevrolet Silverado 1500 Extended Cab 2012.
knitting: a video of a person Knitting.
dunk: a video of a person Basketball Dunk.
car: a photo of a dog
knitting: a photo of a cat
dunk: a photo of a wild animal
`

// evalDataset copies the kit's decodable images into three class folders.
func evalDataset(t *testing.T) (root, prompts string) {
	t.Helper()
	root = t.TempDir()
	entries, _ := os.ReadDir(kit + "images")
	i := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "bad-") {
			continue
		}
		dir := filepath.Join(root, []string{"car", "dunk", "knitting"}[i%3])
		os.MkdirAll(dir, 0o755)
		b, _ := os.ReadFile(kit + "images/" + e.Name())
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		i++
	}
	prompts = filepath.Join(t.TempDir(), "prompts.txt")
	os.WriteFile(prompts, []byte(variedPrompts), 0o644)
	return root, prompts
}

var progressLine = regexp.MustCompile(`(?m)^eval: `)

var statsLine = regexp.MustCompile(`(\d+) images \((\d+) encoded, (\d+) from cache\)`)

func evalStats(t *testing.T, stderr string) (images, encoded, cached int) {
	t.Helper()
	m := statsLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no stats line in:\n%s", stderr)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return a, b, c
}

// TestEvalKillAndResume kills a real goclip eval process with SIGKILL
// after its first progress line, then runs again on the same cache: the
// cache opens, the images committed before the kill are not encoded
// again, and the report equals that of an uninterrupted run.
func TestEvalKillAndResume(t *testing.T) {
	root, prompts := evalDataset(t)
	model := kit + "models/tiny-synth"
	cacheDir := t.TempDir()

	clean, _, code := goclip(t, "eval", "--model", model, "--prompts", prompts, "--no-cache", root)
	if code != 0 {
		t.Fatalf("clean run exit %d", code)
	}

	cmd := exec.Command(os.Args[0], "eval", "--model", model, "--prompts", prompts, "--cache", cacheDir, "--batch", "2", "--workers", "1", root)
	cmd.Env = append(os.Environ(), "GOCLIP_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "eval: ") {
				cmd.Process.Signal(syscall.SIGKILL)
				killed <- sc.Text()
				return
			}
		}
		killed <- ""
	}()
	var line string
	select {
	case line = <-killed:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no progress line within 60 s")
	}
	cmd.Wait()
	if line == "" {
		t.Fatal("the child ended without a progress line")
	}
	t.Logf("killed after %q", line)

	out, errs, code := goclip(t, "eval", "--model", model, "--prompts", prompts, "--cache", cacheDir, root)
	if code != 0 {
		t.Fatalf("resumed run exit %d: %s", code, errs)
	}
	images, encoded, cached := evalStats(t, errs)
	if images != 29 || encoded+cached != 29 || cached < 2 {
		t.Errorf("resumed run: %d images, %d encoded, %d from cache; want ≥ 2 from the killed run", images, encoded, cached)
	}
	if out != clean {
		t.Errorf("resumed report differs from a clean run:\n%s\nvs\n%s", out, clean)
	}
	// A third run is served from the cache alone.
	_, errs, _ = goclip(t, "eval", "--model", model, "--prompts", prompts, "--cache", cacheDir, root)
	if _, encoded, cached := evalStats(t, errs); encoded != 0 || cached != 29 {
		t.Errorf("third run encoded %d, cached %d", encoded, cached)
	}
}

func TestEvalOutputsAndErrors(t *testing.T) {
	root, prompts := evalDataset(t)
	model := kit + "models/tiny-synth"
	b, _ := os.ReadFile(kit + "images/bad-cut.jpg")
	os.WriteFile(filepath.Join(root, "car", "bad-cut.jpg"), b, 0o644)
	out := t.TempDir()
	stdout, errs, code := goclip(t, "eval", "--model", model, "--prompts", prompts, "--no-cache", "--out", out, "--digits", "3", root)
	if code != 1 || !strings.Contains(errs, "bad-cut.jpg") || !strings.Contains(stdout, "    accuracy ") || !strings.Contains(stdout, "confusion matrix") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, errs)
	}
	if !regexp.MustCompile(`car +\d\.\d{3} `).MatchString(stdout) {
		t.Errorf("--digits 3 not applied:\n%s", stdout)
	}
	for _, f := range []string{"predictions.csv", "report.json", "report.html"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Prompt labels that are not folders, and folders without prompts, fail before any image is read.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("car: a car\nlion: a lion\n"), 0o644)
	_, errs, code = goclip(t, "eval", "--model", model, "--prompts", bad, "--no-cache", root)
	if code != 1 || !strings.Contains(errs, `"lion" is not a class folder`) || !strings.Contains(errs, `"dunk" has no prompt`) || progressLine.MatchString(errs) {
		t.Errorf("bad prompts: exit %d, %s", code, errs)
	}
	os.Remove(filepath.Join(root, "car", "bad-cut.jpg"))
	// Templates: folder names fill them.
	stdout, errs, code = goclip(t, "eval", "--model", model, "--template", "a photo of a {}.", "--template", "a {} video", "--no-cache", "--quiet", root)
	if code != 0 || !strings.Contains(stdout, "knitting") || progressLine.MatchString(errs) {
		t.Errorf("templates: exit %d, %s, %q", code, stdout, errs)
	}
	if _, errs, code = goclip(t, "eval", "--model", model, "--templates", "imagenet80", "--no-cache", "--quiet", root); code != 0 {
		t.Errorf("imagenet80: exit %d %s", code, errs)
	}
}

// editTensor rewrites a tensor of a safetensors file in place (same size,
// same modification time), as a fine-tune written back into the file
// would, and returns the byte range of the file it rewrote.
func editTensor(t *testing.T, path, name string, edit func(shape []int, data []float32)) (from, to int64) {
	t.Helper()
	st, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := st.Tensor(name)
	data, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	orig, shape := slices.Clone(data), tn.Shape
	st.Close()
	data = slices.Clone(orig)
	edit(shape, data)
	b, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(b)
	var header map[string]struct {
		Offsets [2]int64 `json:"data_offsets"`
	}
	json.Unmarshal(b[8:8+n], &header)
	base := 8 + int64(n) + header[name].Offsets[0]
	first, last := -1, -1
	for i := range data {
		if data[i] != orig[i] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatalf("%s: the edit changes nothing", name)
	}
	buf := make([]byte, 4*(last-first+1))
	for i, v := range data[first : last+1] {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	fi, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(buf, base+4*int64(first)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Chtimes(path, fi.ModTime(), fi.ModTime())
	return base + 4*int64(first), base + 4*int64(last+1)
}

// The first case: weights edited in the middle of
// model.safetensors, size and modification time kept, evaluated again with
// the cache: the new model's predictions, not the old ones'. (The tiny
// model's middle is its token embedding: the rows of "knitting" and
// "dunk", tokens 18863 and 17222, trade places: outside the first and last
// MiB that the fingerprint once sampled.)
func TestEvalCacheAfterWeightEdit(t *testing.T) {
	root, prompts := evalDataset(t)
	model := t.TempDir()
	for _, f := range []string{"config.json", "preprocessor_config.json", "vocab.json", "merges.txt", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(kit, "models", "tiny-synth", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(model, f), b, 0o644)
	}
	cacheDir := t.TempDir()
	out1, out2, fresh := t.TempDir(), t.TempDir(), t.TempDir()
	if _, errs, code := goclip(t, "eval", "--model", model, "--prompts", prompts, "--cache", cacheDir, "--quiet", "--out", out1, root); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errs)
	}

	weights := filepath.Join(model, "model.safetensors")
	from, to := editTensor(t, weights, "text_model.embeddings.token_embedding.weight", func(shape []int, w []float32) {
		d := shape[1]
		row := func(id int) []float32 { return w[id*d : (id+1)*d] }
		a, b := row(18863), row(17222)
		for j := range a {
			a[j], b[j] = b[j], a[j]
		}
	})
	fi, _ := os.Stat(weights)
	if from < 1<<20 || to > fi.Size()-1<<20 {
		t.Fatalf("the edit (bytes %d to %d of %d) is not in the middle of the file", from, to, fi.Size())
	}

	_, errs, code := goclip(t, "eval", "--model", model, "--prompts", prompts, "--cache", cacheDir, "--out", out2, root)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	if _, _, cached := evalStats(t, errs); cached != 0 {
		t.Errorf("after the edit, %d images came from the cache", cached)
	}
	if _, errs, code := goclip(t, "eval", "--model", model, "--prompts", prompts, "--no-cache", "--quiet", "--out", fresh, root); code != 0 {
		t.Fatalf("fresh run: exit %d: %s", code, errs)
	}
	read := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "predictions.csv"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read(out2) != read(fresh) {
		t.Errorf("predictions with the cache differ from a fresh run of the edited model")
	}
	if read(out2) == read(out1) {
		t.Errorf("the edited model predicts exactly what the original did: the test edits nothing")
	}
}

// The README's first command runs on the shipped example as written (here
// with the tiny model instead of the 605 MB download): the photos decode,
// both prompt sets parse and name exactly the example's class folders.
func TestExampleDataset(t *testing.T) {
	for _, prompts := range []string{"prompts3.txt", "prompts8.txt"} {
		out := t.TempDir()
		stdout, errs, code := goclip(t, "eval", "--model", kit+"models/tiny-synth", "--prompts", "../../examples/"+prompts,
			"--no-cache", "--quiet", "--out", out, "../../examples/afhq-mini")
		if code != 0 || !strings.Contains(stdout, "accuracy") {
			t.Fatalf("%s: exit %d\n%s\n%s", prompts, code, stdout, errs)
		}
		if images, _, _ := evalStats(t, errs+statsOf(t, out)); images != 5 {
			t.Errorf("%s: %d images, want the example's 5", prompts, images)
		}
	}
}

// statsOf renders report.json's counts as the stats line evalStats reads
// (--quiet leaves the line out of stderr).
func statsOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Images int `json:"images"`
		Cache  struct {
			Decoded   int `json:"decoded"`
			CacheHits int `json:"cache_hits"`
		} `json:"cache"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d images (%d encoded, %d from cache)", r.Images, r.Cache.Decoded, r.Cache.CacheHits)
}
