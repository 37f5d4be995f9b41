package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean is the reference's text cleaning: html.unescape twice, strip, every run of
// regex \s to one space, strip, lower-case — each step with Python's semantics.
// Invalid UTF-8 bytes are read as U+FFFD, as when ranging over a Go string.
func clean(text string) string {
	if !utf8.ValidString(text) {
		text = fixUTF8(text)
	}
	text = unescapeHTML(unescapeHTML(text))
	text = strings.TrimFunc(text, isPySpace)
	text = collapseSpace(text)
	text = strings.TrimFunc(text, isPySpace)
	return lowerPy(text)
}

// fixUTF8 replaces each byte that is not part of valid UTF-8 by U+FFFD.
func fixUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// isPySpace reports whether Python's str.isspace holds for r, which is what
// str.strip removes: Unicode White_Space plus the ASCII separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return 0x1C <= r && r <= 0x1F || isRegexSpace(r)
}

// isRegexSpace reports whether r matches \s in the `regex` module: the Unicode
// White_Space property.
func isRegexSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.Is(unicode.White_Space, r)
}

// collapseSpace replaces every run of regex \s characters by one ASCII space.
func collapseSpace(s string) string {
	// Fast path: nothing to do when the only spaces are single ASCII spaces.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || '\t' <= c && c <= '\r' || c == ' ' && i+1 < len(s) && s[i+1] == ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if isRegexSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// lowerPy is Python's str.lower: the full lower-case mapping, which turns 'İ' into
// "i̇" (two code points), and maps 'Σ' to the final 'ς' at the end of a word
// (Unicode's Final_Sigma context), else to 'σ'. The properties come from Go's
// Unicode 15.0 tables; Python 3.11's str uses 14.0, which changes no case mapping
// but leaves the characters new in 15.0 unassigned, so a 'Σ' next to one of them
// (say a Kawi mark) may get the other sigma than under Python 3.11.
func lowerPy(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return lowerASCII(s)
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, r := range rs {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// lowerASCII lower-cases an ASCII string, returning s itself when it has no capitals.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// finalSigma reports whether the capital sigma at rs[i] ends a word: a cased letter
// comes before it and none after it, skipping case-ignorable characters both ways.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && isCaseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !isCased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && isCaseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !isCased(rs[j])
}

// isCased is Unicode's Cased property.
func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable is Unicode's Case_Ignorable property: marks, format characters,
// modifiers, and the word-internal punctuation of Word_Break MidLetter, MidNumLet
// and Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
