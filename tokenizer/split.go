package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of CLIP's splitting pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// as the `regex` module applies it with IGNORECASE.
const (
	classSpace  = iota // \s: skipped between words
	classLetter        // \p{L}: runs form one word
	classNumber        // \p{N}: each is a word of its own
	classOther         // everything else: runs form one word
	classNone          // U+0345, which no alternative matches under IGNORECASE: skipped
)

// asciiClass holds the class of every ASCII character.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c == ' ' || '\t' <= c && c <= '\r':
			t[c] = classSpace
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			t[c] = classLetter
		case '0' <= c && c <= '9':
			t[c] = classNumber
		default:
			t[c] = classOther
		}
	}
	return t
}()

// classOf returns the class of r in CLIP's pattern.
func classOf(r rune) uint8 {
	switch {
	case r < utf8.RuneSelf:
		return asciiClass[r]
	case isRegexSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case r == 0x345:
		// COMBINING GREEK YPOGEGRAMMENI folds to the letter ι, so under IGNORECASE it
		// is excluded by [^\s\p{L}\p{N}] while [\p{L}] still does not match it.
		return classNone
	}
	return classOther
}

// splitWords calls yield with each match of CLIP's pattern in s, left to right, as
// the regex module's findall would return them; it stops early when yield returns false.
func splitWords(s string, yield func(word string) bool) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '<' {
			if n := matchFold(s[i:], "<|startoftext|>"); n > 0 {
				if !yield(s[i : i+n]) {
					return
				}
				i += n
				continue
			}
			if n := matchFold(s[i:], "<|endoftext|>"); n > 0 {
				if !yield(s[i : i+n]) {
					return
				}
				i += n
				continue
			}
		}
		if c == '\'' {
			if n := matchContraction(s[i:]); n > 0 {
				if !yield(s[i : i+n]) {
					return
				}
				i += n
				continue
			}
		}
		r, w := rune(c), 1
		if c >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(s[i:])
		}
		class := classOf(r)
		switch class {
		case classSpace, classNone:
			i += w
			continue
		case classNumber:
			if !yield(s[i : i+w]) {
				return
			}
			i += w
			continue
		}
		// A run of letters or of other characters.
		j := i + w
		for j < len(s) {
			r, w := rune(s[j]), 1
			if r >= utf8.RuneSelf {
				r, w = utf8.DecodeRuneInString(s[j:])
			}
			if classOf(r) != class {
				break
			}
			j += w
		}
		if !yield(s[i:j]) {
			return
		}
		i = j
	}
}

// matchContraction returns the length of the contraction ('s 't 're 've 'm 'll 'd)
// at the start of s, or 0.
func matchContraction(s string) int {
	for _, c := range [...]string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"} {
		if n := matchFold(s, c); n > 0 {
			return n
		}
	}
	return 0
}

// matchFold returns the length of the prefix of s that matches the ASCII literal
// lit under the regex module's IGNORECASE, or 0: letters match either case, and 's'
// also matches 'ſ' (U+017F LATIN SMALL LETTER LONG S, whose case folding is 's').
func matchFold(s, lit string) int {
	j := 0
	for k := 0; k < len(lit); k++ {
		c := lit[k]
		switch {
		case j < len(s) && (s[j] == c || 'a' <= c && c <= 'z' && s[j] == c-('a'-'A')):
			j++
		case c == 's' && j+1 < len(s) && s[j] == 0xC5 && s[j+1] == 0xBF: // "ſ"
			j += 2
		default:
			return 0
		}
	}
	return j
}
