package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultVocab is OpenAI's bpe_simple_vocab_16e6.txt.gz (MIT, see LICENSE-openai-clip):
// a header line, then the merges, of which CLIP uses the first 48,894.
//
//go:embed bpe_simple_vocab_16e6.txt.gz
var defaultVocab []byte

// defaultMerges is how many merges of the OpenAI file CLIP uses: 49,152 ids minus
// 256 bytes, 256 bytes with "</w>", and the two special tokens.
const defaultMerges = 49152 - 256 - 2

// Default returns the tokenizer of OpenAI's CLIP models, built from the embedded
// vocabulary. Building takes a few tens of milliseconds: keep and share the result.
func Default() (*Tokenizer, error) {
	zr, err := gzip.NewReader(bytes.NewReader(defaultVocab))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	// The file holds far more merges than CLIP uses: read only those.
	sc := bufio.NewScanner(zr)
	pairs := make([][2]string, 0, defaultMerges)
	for line := 1; len(pairs) < defaultMerges && sc.Scan(); line++ {
		if line == 1 {
			continue // header
		}
		a, b, ok := strings.Cut(sc.Text(), " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("tokenizer: embedded vocabulary: line %d: want two symbols, got %q", line, clip(sc.Text()))
		}
		pairs = append(pairs, [2]string{a, b})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	if len(pairs) < defaultMerges {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %d merges, want %d", len(pairs), defaultMerges)
	}
	// The vocabulary: the 256 byte symbols, the same with "</w>", every merge's
	// result, then the two special tokens.
	units := byteSymbols()
	vocab := make(map[string]int32, 2*len(units)+len(pairs)+2)
	n := int32(0)
	add := func(s string) { vocab[s] = n; n++ }
	for _, u := range units {
		add(u.sym)
	}
	for _, u := range units {
		add(u.sym + "</w>")
	}
	for _, p := range pairs {
		add(p[0] + p[1])
	}
	add(startOfText)
	add(endOfText)
	t, err := build(vocab, pairs, func(line int) string { return fmt.Sprintf("line %d", line+2) })
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded vocabulary: %w", err)
	}
	return t, nil
}

// Files returns the names of the tokenizer files a Hugging Face model
// folder may hold: vocab.json and merges.txt, which LoadDir reads, and the
// files transformers reads next to them (tokenizer.json,
// tokenizer_config.json, special_tokens_map.json). Tools that fetch or copy
// a model take these along.
func Files() []string {
	return []string{"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
}

// LoadDir loads the tokenizer of a Hugging Face model folder: its vocab.json and
// merges.txt.
func LoadDir(dir string) (*Tokenizer, error) {
	return Load(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt"))
}

// Load loads a tokenizer from Hugging Face files: vocab.json (token -> id) and
// merges.txt (an optional "#version" line, then one "left right" merge per line,
// highest priority first). The special tokens' ids are read from the vocabulary.
// Errors name the file (and line) at fault.
func Load(vocabJSONPath, mergesTxtPath string) (*Tokenizer, error) {
	vocab, err := os.ReadFile(vocabJSONPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	merges, err := os.ReadFile(mergesTxtPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return Parse(vocab, vocabJSONPath, merges, mergesTxtPath)
}

// Parse is Load for the files' contents; vocabName and mergesName name
// them in errors.
func Parse(vocabJSON []byte, vocabName string, mergesTxt []byte, mergesName string) (*Tokenizer, error) {
	vocab, err := parseVocabJSON(vocabJSON, vocabName)
	if err != nil {
		return nil, err
	}
	pairs, err := parseMergesTxt(mergesTxt, mergesName)
	if err != nil {
		return nil, err
	}
	t, err := build(vocab, pairs.pairs, func(i int) string { return fmt.Sprintf("line %d", pairs.lines[i]) })
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", mergesName, err)
	}
	return t, nil
}

// parseVocabJSON reads a vocab.json: a JSON object from token to id, ids
// distinct, holding the 512 byte symbols and the two special tokens.
func parseVocabJSON(data []byte, path string) (map[string]int32, error) {
	var raw map[string]int64
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: not a JSON object from token to id: %w", path, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("tokenizer: %s: not a JSON object from token to id", path)
	}
	vocab := make(map[string]int32, len(raw))
	byID := make(map[int32]string, len(raw))
	for tok, id := range raw {
		if id < 0 || id > 1<<30 {
			return nil, fmt.Errorf("tokenizer: %s: token %q has id %d, out of range", path, tok, id)
		}
		if other, dup := byID[int32(id)]; dup {
			return nil, fmt.Errorf("tokenizer: %s: id %d is used by both %q and %q", path, id, other, tok)
		}
		byID[int32(id)] = tok
		vocab[tok] = int32(id)
	}
	var missing []string
	for _, u := range byteSymbols() {
		for _, s := range [...]string{u.sym, u.sym + "</w>"} {
			if _, ok := vocab[s]; !ok {
				missing = append(missing, fmt.Sprintf("%q", s))
			}
		}
	}
	for _, s := range [...]string{startOfText, endOfText} {
		if _, ok := vocab[s]; !ok {
			missing = append(missing, fmt.Sprintf("%q", s))
		}
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
		}
		return nil, fmt.Errorf("tokenizer: %s: not a CLIP vocabulary: missing %s", path, strings.Join(missing, ", "))
	}
	return vocab, nil
}

// mergeList is the merges of a merges.txt with the line number of each.
type mergeList struct {
	pairs [][2]string
	lines []int
}

// parseMergesTxt reads a merges.txt.
func parseMergesTxt(data []byte, path string) (mergeList, error) {
	var ml mergeList
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 && strings.HasPrefix(text, "#version") {
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return ml, fmt.Errorf("tokenizer: %s: line %d: want two symbols separated by a space, got %q", path, line, clip(text))
		}
		ml.pairs = append(ml.pairs, [2]string{fields[0], fields[1]})
		ml.lines = append(ml.lines, line)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return ml, fmt.Errorf("tokenizer: %s: line %d: too long", path, line+1)
		}
		return ml, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	if len(ml.pairs) == 0 {
		return ml, fmt.Errorf("tokenizer: %s: no merges", path)
	}
	return ml, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// build makes a Tokenizer from a vocabulary that holds the byte symbols and the
// special tokens, and merges in priority order; where(i) names merge i in errors.
// Every merge's parts and result must be in the vocabulary.
func build(vocab map[string]int32, pairs [][2]string, where func(i int) string) (*Tokenizer, error) {
	t := &Tokenizer{
		merges: make(map[uint64]merge, len(pairs)),
		bos:    vocab[startOfText],
		eos:    vocab[endOfText],
		cache:  make(map[string][]int32),
	}
	for _, u := range byteSymbols() {
		t.byteID[u.b] = vocab[u.sym]
		t.byteEndID[u.b] = vocab[u.sym+"</w>"]
	}
	for i, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		ab, okAB := vocab[p[0]+p[1]]
		switch {
		case !okA:
			return nil, fmt.Errorf("%s: %q is not in the vocabulary", where(i), p[0])
		case !okB:
			return nil, fmt.Errorf("%s: %q is not in the vocabulary", where(i), p[1])
		case !okAB:
			return nil, fmt.Errorf("%s: merged token %q is not in the vocabulary", where(i), p[0]+p[1])
		}
		// A repeated pair keeps its last rank, as a Python dict built in order does.
		t.merges[pairKey(a, b)] = merge{rank: int32(i), id: ab}
	}
	t.ordered = isOrdered(t.merges)
	return t, nil
}

// isOrdered reports whether every merge's two parts are made only by merges of
// lower rank (or are byte symbols), the condition under which mergeHeap is exact.
func isOrdered(merges map[uint64]merge) bool {
	made := make(map[int32]int32, len(merges)) // token -> highest rank that makes it
	for _, m := range merges {
		if r, ok := made[m.id]; !ok || m.rank > r {
			made[m.id] = m.rank
		}
	}
	for k, m := range merges {
		a, b := int32(k>>32), int32(uint32(k))
		if r, ok := made[a]; ok && r >= m.rank {
			return false
		}
		if r, ok := made[b]; ok && r >= m.rank {
			return false
		}
	}
	return true
}
