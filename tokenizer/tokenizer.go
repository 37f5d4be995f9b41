// Package tokenizer implements CLIP's text tokenizer: OpenAI's byte-level BPE with
// "</w>" word ends, as used by CLIP's text tower and Hugging Face's CLIPTokenizer.
//
// Text is cleaned the way the reference does it (HTML-unescaped twice, whitespace
// collapsed, stripped, lower-cased — all with Python's semantics; ftfy's mojibake
// repair is not applied), split into words by CLIP's pattern, and each word's UTF-8
// bytes are merged by the BPE ranks. Encode wraps the ids in <|startoftext|> and
// <|endoftext|> and truncates to the model's 77 positions, keeping <|endoftext|> last.
//
// The words and their ids match the reference (the kit's tools/clipref.py, itself
// checked against OpenAI's simple_tokenizer.py) on every string, including corners
// that Go's standard library treats differently from Python: html.unescape's
// legacy entity prefixes and dropped control references, str.strip's extra
// separators U+001C..U+001F, str.lower's 'İ' and final sigma, and the pattern's
// IGNORECASE ('ſ' matches the 's' of "'s"; U+0345 matches no alternative and is
// dropped). Character classes come from Go's unicode package (Unicode 15.0, as the
// reference's regex module).
//
// BPE runs in O(n log n) for long words, so hostile input costs about half a
// second per megabyte of one unbroken word; Encode stops splitting once 77 ids are
// reached.
package tokenizer

import (
	"sync"
)

// Ids of the special tokens in OpenAI's CLIP vocabulary, and the text tower's length.
const (
	BOS           = 49406 // <|startoftext|>
	EOS           = 49407 // <|endoftext|>
	ContextLength = 77
)

const (
	startOfText = "<|startoftext|>"
	endOfText   = "<|endoftext|>"
)

// maxCacheEntries bounds the word cache; maxCachedWord is the longest word (in
// bytes) that is cached. Prompts use a few thousand distinct words at most.
const (
	maxCacheEntries = 1 << 16
	maxCachedWord   = 64
)

// A Tokenizer turns text into CLIP token ids. Make one with Default, Load or
// LoadDir. It is safe for concurrent use.
type Tokenizer struct {
	byteID    [256]int32 // id of each byte as a symbol inside a word
	byteEndID [256]int32 // id of each byte as a word's last symbol (with "</w>")
	merges    map[uint64]merge
	ordered   bool // every merge's parts are made by lower-ranked merges (see mergeHeap)
	bos, eos  int32

	mu    sync.RWMutex
	cache map[string][]int32 // word -> ids
}

// BOS returns the id of <|startoftext|> in t's vocabulary.
func (t *Tokenizer) BOS() int { return int(t.bos) }

// EOS returns the id of <|endoftext|> in t's vocabulary.
func (t *Tokenizer) EOS() int { return int(t.eos) }

// Encode returns [BOS] + the ids of text + [EOS], truncated to ContextLength ids
// with EOS kept last. It does not pad.
func (t *Tokenizer) Encode(text string) []int {
	return t.EncodeContext(text, ContextLength)
}

// EncodeNoTruncate returns [BOS] + the ids of text + [EOS], however long.
func (t *Tokenizer) EncodeNoTruncate(text string) []int {
	return t.encode(text, 0)
}

// EncodeContext returns [BOS] + the ids of text + [EOS]; when that is longer than n,
// it keeps the first n-1 ids and puts EOS last. An n below 1 means no limit.
func (t *Tokenizer) EncodeContext(text string, n int) []int {
	if n < 1 {
		n = 0
	}
	return t.encode(text, n)
}

// encode tokenizes text; limit > 0 truncates the result to limit ids.
func (t *Tokenizer) encode(text string, limit int) []int {
	ids := make([]int32, 1, 32)
	ids[0] = t.bos
	splitWords(clean(text), func(word string) bool {
		ids = t.appendWord(ids, word)
		// Once BOS and the words fill limit, the rest would be cut off anyway.
		return limit == 0 || len(ids) < limit
	})
	ids = append(ids, t.eos)
	if limit > 0 && len(ids) > limit {
		ids = append(ids[:limit-1], t.eos)
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// appendWord appends the ids of one word of the split text.
func (t *Tokenizer) appendWord(dst []int32, word string) []int32 {
	switch word {
	case startOfText:
		return append(dst, t.bos)
	case endOfText:
		return append(dst, t.eos)
	}
	if len(word) > maxCachedWord {
		return t.bpe(dst, word)
	}
	t.mu.RLock()
	ids, ok := t.cache[word]
	t.mu.RUnlock()
	if ok {
		return append(dst, ids...)
	}
	start := len(dst)
	dst = t.bpe(dst, word)
	ids = append([]int32(nil), dst[start:]...)
	t.mu.Lock()
	if t.cache == nil || len(t.cache) >= maxCacheEntries {
		t.cache = make(map[string][]int32)
	}
	t.cache[string([]byte(word))] = ids // copy: word points into the whole text
	t.mu.Unlock()
	return dst
}
