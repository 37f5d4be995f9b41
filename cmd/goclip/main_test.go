package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/goclip/goclip/tensor"
)

const kit = "../../testdata/kit/"

// goclip runs one command line in process and returns stdout, stderr and the exit status.
func goclip(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	return out.String(), errb.String(), code
}

func TestTokenize(t *testing.T) {
	out, _, code := goclip(t, "tokenize", "a photo of a dog", "a photo of a cat")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := `{"text":"a photo of a dog","ids":[49406,320,1125,539,320,1929,49407]}` + "\n" +
		`{"text":"a photo of a cat","ids":[49406,320,1125,539,320,2368,49407]}` + "\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	long := strings.Repeat("word ", 120)
	for _, c := range []struct {
		flag string
		n    int
	}{{"", 77}, {"--no-truncate", 122}} {
		args := []string{"tokenize", long}
		if c.flag != "" {
			args = []string{"tokenize", c.flag, long}
		}
		out, _, _ := goclip(t, args...)
		var v struct{ IDs []int }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		if len(v.IDs) != c.n || v.IDs[len(v.IDs)-1] != 49407 {
			t.Errorf("%s: %d ids ending %d, want %d ending in EOS", c.flag, len(v.IDs), v.IDs[len(v.IDs)-1], c.n)
		}
	}
}

func TestEmbed(t *testing.T) {
	model := kit + "models/tiny-synth"
	img := kit + "images/chelsea.png"
	out, errs, code := goclip(t, "embed", "--model", model, "--text", "a photo of a cat", "--image", img, "--text", "a dog")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	var first struct {
		Kind      string    `json:"kind"`
		Input     string    `json:"input"`
		Embedding []float64 `json:"embedding"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Kind != "image" || first.Input != img || len(first.Embedding) != 24 {
		t.Errorf("first line %+v: want the image first", first)
	}
	norm := 0.0
	for _, v := range first.Embedding {
		norm += v * v
	}
	if norm < 0.9999 || norm > 1.0001 {
		t.Errorf("|embedding|² = %g, want 1", norm)
	}
	if !strings.Contains(lines[1], `"input":"a photo of a cat"`) || !strings.Contains(lines[2], `"input":"a dog"`) {
		t.Errorf("texts not in order:\n%s", out)
	}
	raw, _, _ := goclip(t, "embed", "--model", model, "--raw", "--image", img)
	var r struct{ Embedding []float64 }
	json.Unmarshal([]byte(raw), &r)
	n2 := 0.0
	for _, v := range r.Embedding {
		n2 += v * v
	}
	if n2 > 0.99 && n2 < 1.01 {
		t.Errorf("--raw printed a normalised vector")
	}
}

// TestClassifyBadFiles: an unreadable image gets an error line naming it,
// the others are still classified, and the exit status is 1.
func TestClassifyBadFiles(t *testing.T) {
	model := kit + "models/tiny-synth"
	args := []string{"classify", "--model", model, "--labels", "cat,dog,wild", "--json"}
	good := []string{kit + "images/chelsea.png", kit + "images/coffee.png"}
	bad := []string{"bad-empty.jpg", "bad-text.png", "bad-truncated.jpg", "bad-cut.jpg", "bad-bomb.png"}
	files := []string{good[0]}
	for _, b := range bad {
		files = append(files, kit+"images/"+b)
	}
	files = append(files, good[1], filepath.Join(t.TempDir(), "missing.jpg"))
	out, errs, code := goclip(t, append(args, files...)...)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d predictions, want 2:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var p struct {
			Input         string
			Label         string
			Score         float64
			Probabilities map[string]float64
			Prompts       []struct {
				Label, Prompt string
				Probability   float64
			}
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		if p.Input != good[i] || p.Probabilities[p.Label] != p.Score || len(p.Prompts) != 3 || p.Prompts[0].Prompt != "a photo of a cat." {
			t.Errorf("prediction %d: %+v", i, p)
		}
	}
	for _, b := range append(bad, "missing.jpg") {
		if !strings.Contains(errs, b+": ") {
			t.Errorf("stderr does not name %s:\n%s", b, errs)
		}
	}
}

func TestClassifyPromptsFile(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "prompts.txt")
	os.WriteFile(pf, []byte("dog: a photo of a dog\ncat: a photo of a cat\nwild: a photo of a wild animal\nwild: a photo of a wolf\n"), 0o644)
	for _, ens := range []string{"max", "mean"} {
		out, errs, code := goclip(t, "classify", "--model", kit+"models/tiny-synth", "--prompts", pf, "--ensemble", ens, kit+"images/horse.png")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		f := strings.Split(strings.TrimSpace(out), "\t")
		if len(f) != 4 || f[0] != kit+"images/horse.png" {
			t.Errorf("output %q", out)
		}
	}
	os.WriteFile(pf, []byte("dog a photo of a dog\n"), 0o644)
	_, errs, code := goclip(t, "classify", "--model", kit+"models/tiny-synth", "--prompts", pf, kit+"images/horse.png")
	if code == 0 || !strings.Contains(errs, "prompts.txt") || !strings.Contains(errs, "line 1") {
		t.Errorf("bad prompts file: exit %d, stderr %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, {"nope"}, {"classify"}, {"classify", "--model", "x", "a.jpg"},
		{"classify", "--model", "x", "--labels", "a", "--prompts", "p", "a.jpg"},
		{"embed", "--model", "x"}, {"tokenize"}, {"classify", "--bogus"},
	} {
		if _, _, code := goclip(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if _, errs, code := goclip(t, "classify", "--model", "/nonexistent", "--labels", "a,b", "x.jpg"); code != 1 || !strings.Contains(errs, "/nonexistent") {
		t.Errorf("missing model: exit %d, %q", code, errs)
	}
	// Every usage error says what is wrong before the usage text, and
	// values that make no sense are refused before any work (exit 2).
	model := kit + "models/tiny-synth"
	img := kit + "images/chelsea.png"
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"embed", "--model", model}, "nothing to embed"},
		{[]string{"classify", "--model", model, img}, "no classes"},
		{[]string{"classify", "--model", model, "--labels", "a,b"}, "no images"},
		{[]string{"eval", "--model", model}, "no dataset folder"},
		{[]string{"classify", "--model", model, "--labels", "a,b", "--top", "-1", img}, "--top -1"},
		{[]string{"classify", "--model", model, "--labels", "a,b", "--batch", "0", img}, "--batch 0"},
		{[]string{"classify", "--model", model, "--labels", "a,b", "--workers", "-1", img}, "--workers -1"},
		{[]string{"embed", "--model", model, "--text", "x", "--max-pixels", "-5"}, "--max-pixels -5"},
		{[]string{"eval", "--model", model, "--digits", "-1", t.TempDir()}, "--digits -1"},
	} {
		_, errs, code := goclip(t, c.args...)
		if code != 2 || !strings.HasPrefix(errs, "goclip ") || !strings.Contains(strings.SplitN(errs, "\n", 2)[0], c.says) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a first line saying %q", c.args, code, errs, c.says)
		}
	}
	// One rule for templates and labels: a template without {} or an
	// empty label is refused, exit 1, whatever the command.
	root, _ := evalDataset(t)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"classify", "--model", model, "--labels", "cat,dog", "--template", "a photo", img}, "no {}"},
		{[]string{"eval", "--model", model, "--template", "nobraces", "--no-cache", root}, "no {}"},
		{[]string{"classify", "--model", model, "--labels", "cat,,dog", img}, "label 2"},
		{[]string{"classify", "--model", model, "--labels", "cat,dog,", img}, "label 3"},
		{[]string{"classify", "--model", model, "--prompts", "p.txt", "--template", "a {}", img}, "--template applies to --labels"},
	} {
		_, errs, code := goclip(t, c.args...)
		if code != 1 || !strings.Contains(errs, c.says) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", c.args, code, errs, c.says)
		}
	}
}

// Texts over the model's context are refused unless --truncate asks to cut
// them, as OpenAI's clip.tokenize does.
func TestTruncateFlag(t *testing.T) {
	model := kit + "models/tiny-synth"
	long := strings.Repeat("a photo of a very long prompt ", 12)
	_, errs, code := goclip(t, "embed", "--model", model, "--text", long)
	if code != 1 || !strings.Contains(errs, "77 tokens") || !strings.Contains(errs, "--truncate") {
		t.Errorf("long text: exit %d, %q", code, errs)
	}
	out, errs, code := goclip(t, "embed", "--model", model, "--text", long, "--truncate")
	if code != 0 || !strings.Contains(out, `"kind":"text"`) {
		t.Errorf("long text with --truncate: exit %d, %q", code, errs)
	}
}

// TestPrecisionFlag: --precision int8 gives embeddings close to fp32's
// (and says so when it runs the slow portable kernel); a bad value is a
// usage error naming the flag.
func TestPrecisionFlag(t *testing.T) {
	model := kit + "models/tiny-synth"
	img := kit + "images/chelsea.png"
	embed := func(prec string) []float64 {
		t.Helper()
		out, errs, code := goclip(t, "embed", "--model", model, "--precision", prec, "--image", img)
		if code != 0 {
			t.Fatalf("--precision %s: exit %d: %s", prec, code, errs)
		}
		if slowInt8 := tensor.Int8KernelName() == "go"; prec == "int8" && slowInt8 != strings.Contains(errs, "no AVX2") {
			t.Errorf("--precision int8 with the %s kernel: stderr %q", tensor.Int8KernelName(), errs)
		}
		var v struct{ Embedding []float64 }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return v.Embedding
	}
	f, q := embed("fp32"), embed("int8")
	var dot, diff float64
	for i := range f {
		dot += f[i] * q[i]
		diff = max(diff, abs(f[i]-q[i]))
	}
	if dot < 0.999 || diff == 0 {
		t.Errorf("int8 embedding: cosine %.6f to fp32, max |Δ| %g (want close but not identical)", dot, diff)
	}
	_, errs, code := goclip(t, "classify", "--model", model, "--precision", "fp16", "--labels", "a,b", img)
	if code == 0 || !strings.Contains(errs, "--precision") {
		t.Errorf("--precision fp16: exit %d, %q", code, errs)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// A misspelt GOCLIP_KERNELS is refused, naming the choices, not ignored.
func TestBadKernelsEnv(t *testing.T) {
	cmd := exec.Command(os.Args[0], "embed", "--model", kit+"models/tiny-synth", "--text", "a cat")
	cmd.Env = append(os.Environ(), "GOCLIP_AS_MAIN=1", "GOCLIP_KERNELS=avx3")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `GOCLIP_KERNELS="avx3"`) || !strings.Contains(string(out), "go") {
		t.Errorf("err = %v, output:\n%s", err, out)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		out, _, code := goclip(t, arg)
		if code != 0 || !strings.HasPrefix(out, "goclip ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%s: exit %d, %q", arg, code, out)
		}
	}
}

// Every command's --help names what it takes: flags, or that it has none.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		_, errs, code := goclip(t, c.name, "--help")
		if code != 0 || !strings.HasPrefix(errs, "Usage: goclip "+c.name) || !(strings.Contains(errs, "Flags:") || strings.Contains(errs, "takes no flags")) {
			t.Errorf("%s --help: exit %d\n%s", c.name, code, errs)
		}
	}
	if _, errs, _ := goclip(t, "download", "--help"); !strings.Contains(errs, "HF_TOKEN") || !strings.Contains(errs, "org/name[@revision]") {
		t.Errorf("download --help:\n%s", errs)
	}
}
