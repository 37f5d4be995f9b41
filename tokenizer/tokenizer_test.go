package tokenizer

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	kitCases  = "../testdata/kit/tokenizer/cases.jsonl"
	tinySynth = "../testdata/kit/models/tiny-synth"
)

// tokCase is one line of a cases file: text and its untruncated reference ids.
type tokCase struct {
	Source string `json:"source"`
	Text   string `json:"text"`
	IDs    []int  `json:"ids"`
}

func readCases(t testing.TB, path string) []tokCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []tokCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c tokCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

var (
	defaultOnce sync.Once
	defaultTok  *Tokenizer
	defaultErr  error
)

func defaultTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	defaultOnce.Do(func() { defaultTok, defaultErr = Default() })
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	return defaultTok
}

// checkCases compares tok's untruncated and truncated ids with the reference.
func checkCases(t *testing.T, tok *Tokenizer, cases []tokCase) {
	t.Helper()
	bad := 0
	for _, c := range cases {
		got := tok.EncodeNoTruncate(c.Text)
		if !slices.Equal(got, c.IDs) {
			if bad++; bad <= 10 {
				t.Errorf("%s %q:\n got %v\nwant %v", c.Source, c.Text, got, c.IDs)
			}
			continue
		}
		want := c.IDs
		if len(want) > ContextLength {
			want = append(slices.Clone(want[:ContextLength-1]), EOS)
		}
		if got := tok.Encode(c.Text); !slices.Equal(got, want) {
			if bad++; bad <= 10 {
				t.Errorf("Encode(%q) = %v, want %v", c.Text, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(cases))
	}
}

func TestKitCasesDefault(t *testing.T) {
	cases := readCases(t, kitCases)
	if len(cases) != 8111 {
		t.Fatalf("%d cases, want 8111", len(cases))
	}
	checkCases(t, defaultTokenizer(t), cases)
}

func TestKitCasesLoadDir(t *testing.T) {
	tok, err := LoadDir(tinySynth)
	if err != nil {
		t.Fatal(err)
	}
	if tok.BOS() != BOS || tok.EOS() != EOS {
		t.Errorf("BOS, EOS = %d, %d; want %d, %d", tok.BOS(), tok.EOS(), BOS, EOS)
	}
	checkCases(t, tok, readCases(t, kitCases))
}

// TestExtraCases covers strings made to hit the corners of the text cleaning and
// the split pattern (testdata/tokenizer/gen/extra_cases.py), checked against the reference.
func TestExtraCases(t *testing.T) {
	checkCases(t, defaultTokenizer(t), readCases(t, "../testdata/tokenizer/extra_cases.jsonl"))
}

func TestTruncation(t *testing.T) {
	tok := defaultTokenizer(t)
	text := strings.Repeat("word ", 119) + "word"
	found := false
	for _, c := range readCases(t, kitCases) {
		if c.Text != text {
			continue
		}
		found = true
		got := tok.Encode(c.Text)
		want := append(slices.Clone(c.IDs[:ContextLength-1]), EOS)
		if len(c.IDs) != 122 || !slices.Equal(got, want) {
			t.Errorf("kit's 120-word case: %d reference ids; Encode gives %d ids %v", len(c.IDs), len(got), got)
		}
	}
	if !found {
		t.Error("the kit has no 120-word case")
	}
	full := tok.EncodeNoTruncate(text)
	if len(full) != 122 {
		t.Fatalf("EncodeNoTruncate: %d ids, want 122", len(full))
	}
	got := tok.Encode(text)
	if len(got) != ContextLength || got[0] != BOS || got[ContextLength-1] != EOS {
		t.Fatalf("Encode: %d ids, first %d, last %d", len(got), got[0], got[len(got)-1])
	}
	if !slices.Equal(got[:ContextLength-1], full[:ContextLength-1]) {
		t.Errorf("Encode: first 76 ids differ from the untruncated ones")
	}
	for _, n := range []int{1, 2, 3, 10, 121, 122, 123} {
		want := full
		if len(want) > n {
			want = append(slices.Clone(full[:n-1]), EOS)
		}
		if got := tok.EncodeContext(text, n); !slices.Equal(got, want) {
			t.Errorf("EncodeContext(n=%d) = %v, want %v", n, got, want)
		}
	}
	if got := tok.EncodeContext(text, 0); !slices.Equal(got, full) {
		t.Errorf("EncodeContext(n=0) is truncated: %d ids", len(got))
	}
	if got := tok.Encode(""); !slices.Equal(got, []int{BOS, EOS}) {
		t.Errorf(`Encode("") = %v`, got)
	}
}

// TestMergeHeap checks that the heap merge agrees with the reference loop on
// long words.
func TestMergeHeap(t *testing.T) {
	tok := defaultTokenizer(t)
	if !tok.ordered {
		t.Fatal("OpenAI's merges are not ordered; mergeHeap is never used")
	}
	words := []string{
		strings.Repeat("a", 300), strings.Repeat("ab", 100), strings.Repeat("abcdefghijklmnopqrstuvwxyz", 9),
		strings.Repeat("the", 50), strings.Repeat("photograph", 20), strings.Repeat("日本語", 40),
		"supercalifragilisticexpialidociousantidisestablishmentarianism",
	}
	for _, path := range []string{kitCases, "../testdata/tokenizer/extra_cases.jsonl"} {
		for _, c := range readCases(t, path) {
			words = append(words, strings.ReplaceAll(clean(c.Text), " ", ""))
		}
	}
	// Random words over a few letters, so that many merges apply.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, 1+rng.IntN(200))
		for i := range b {
			b[i] = "aeinorst"[rng.IntN(8)]
		}
		words = append(words, string(b))
	}
	handPicked := 7
	for k, w := range words {
		if w == "" || (testing.Short() || raceEnabled) && k >= handPicked && k%10 != 0 {
			continue
		}
		a := initial(tok, w)
		b := slices.Clone(a)
		na := tok.mergeSimple(a)
		nb := tok.mergeHeap(b)
		if !slices.Equal(a[:na], b[:nb]) {
			t.Errorf("%q: simple %v, heap %v", w, a[:na], b[:nb])
		}
	}
}

func initial(tok *Tokenizer, w string) []int32 {
	out := make([]int32, len(w))
	for i := range len(w) {
		out[i] = tok.byteID[w[i]]
	}
	out[len(w)-1] = tok.byteEndID[w[len(w)-1]]
	return out
}

func TestConcurrent(t *testing.T) {
	tok, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := readCases(t, kitCases)[:2000]
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(cases); i += 3 {
				if got := tok.EncodeNoTruncate(cases[i].Text); !slices.Equal(got, cases[i].IDs) {
					errs <- cases[i].Text
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent Encode(%q) differs", e)
	}
}

// miniVocab returns a small CLIP-style vocabulary: the byte symbols, "in" and
// "in</w>", and the special tokens last.
func miniVocab() map[string]int {
	v := map[string]int{}
	for _, u := range byteSymbols() {
		v[u.sym] = len(v)
	}
	for _, u := range byteSymbols() {
		v[u.sym+"</w>"] = len(v)
	}
	for _, s := range []string{"in", "in</w>", startOfText, endOfText} {
		v[s] = len(v)
	}
	return v
}

const miniMerges = "#version: 0.2\ni n\ni n</w>\n"

func TestLoadMini(t *testing.T) {
	dir := t.TempDir()
	v := miniVocab()
	data, _ := json.Marshal(v)
	writeFile(t, filepath.Join(dir, "vocab.json"), string(data))
	writeFile(t, filepath.Join(dir, "merges.txt"), miniMerges)
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.BOS() != v[startOfText] || tok.EOS() != v[endOfText] {
		t.Errorf("BOS, EOS = %d, %d; want %d, %d", tok.BOS(), tok.EOS(), v[startOfText], v[endOfText])
	}
	want := []int{v[startOfText], v["in</w>"], v["in"], v["n</w>"], v["x</w>"], v[endOfText], v[endOfText]}
	if got := tok.Encode("in inn X <|endoftext|>"); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string { return writeFile(t, filepath.Join(dir, name), content) }
	jsonOf := func(v map[string]int) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	goodVocab := write("vocab.json", jsonOf(miniVocab()))
	goodMerges := write("merges.txt", miniMerges)
	noBOS := miniVocab()
	delete(noBOS, startOfText)
	dupID := miniVocab()
	dupID[startOfText] = 7 // the id of another token
	noByte := miniVocab()
	delete(noByte, "Ā</w>")

	tests := []struct {
		name, vocab, merges, want string
	}{
		{"missing vocab", filepath.Join(dir, "nope.json"), goodMerges, "nope.json"},
		{"vocab not JSON", write("v1.json", "{not json"), goodMerges, "v1.json"},
		{"vocab array", write("v2.json", "[1,2,3]"), goodMerges, "v2.json"},
		{"vocab null", write("v3.json", "null"), goodMerges, "v3.json"},
		{"vocab without BOS", write("v4.json", jsonOf(noBOS)), goodMerges, "v4.json"},
		{"vocab duplicate id", write("v5.json", jsonOf(dupID)), goodMerges, "v5.json"},
		{"vocab bad id", write("v6.json", `{"a": -1}`), goodMerges, "v6.json"},
		{"vocab tiny", write("v7.json", `{"a": 1}`), goodMerges, "v7.json"},
		{"vocab without a byte", write("v8.json", jsonOf(noByte)), goodMerges, "v8.json"},
		{"vocab string ids", write("v9.json", `{"a": "1"}`), goodMerges, "v9.json"},
		{"missing merges", goodVocab, filepath.Join(dir, "nope.txt"), "nope.txt"},
		{"merges three fields", goodVocab, write("m1.txt", "#version: 0.2\ni n\na b c\n"), "m1.txt: line 3"},
		{"merges one field", goodVocab, write("m2.txt", "#version: 0.2\nin\n"), "m2.txt: line 2"},
		{"merges unknown part", goodVocab, write("m3.txt", "#version: 0.2\ni n\nzzzz q\n"), "m3.txt: line 3"},
		{"merges unknown result", goodVocab, write("m4.txt", "#version: 0.2\nq z\n"), "m4.txt: line 2"},
		{"merges empty", goodVocab, write("m5.txt", "#version: 0.2\n"), "m5.txt"},
	}
	for _, tc := range tests {
		_, err := Load(tc.vocab, tc.merges)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not name %q", tc.name, err, tc.want)
		}
	}
	empty := t.TempDir()
	write = func(name, content string) string { return writeFile(t, filepath.Join(empty, name), content) }
	write("vocab.json", jsonOf(miniVocab()))
	if _, err := LoadDir(empty); err == nil || !strings.Contains(err.Error(), "merges.txt") {
		t.Errorf("LoadDir without merges.txt: %v", err)
	}
}

// TestLoadWithoutHeader accepts a merges.txt with no "#version" line.
func TestLoadWithoutHeader(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(tinySynth, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(data), "\n")
	p := filepath.Join(t.TempDir(), "merges.txt")
	if err := os.WriteFile(p, []byte(rest), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(filepath.Join(tinySynth, "vocab.json"), p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("a photo of a dog"), []int{BOS, 320, 1125, 539, 320, 1929, EOS}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func BenchmarkEncode(b *testing.B) {
	tok := defaultTokenizer(b)
	cases := readCases(b, kitCases)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		tok.Encode(cases[i%len(cases)].Text)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/prompt")
}

// BenchmarkEncodeCold starts each pass over the cases with an empty word cache.
func BenchmarkEncodeCold(b *testing.B) {
	cases := readCases(b, kitCases)
	tok, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%len(cases) == 0 {
			tok.mu.Lock()
			clear(tok.cache)
			tok.mu.Unlock()
		}
		tok.Encode(cases[i%len(cases)].Text)
	}
}

func BenchmarkDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}
