package tokenizer

import (
	"sort"
	"strings"
	"unicode/utf8"
)

//go:generate sh -c "cd ../testdata/tokenizer/gen && /usr/bin/python3 entities.py"

// entity is one HTML5 named character reference: its name without the leading '&'
// (with the ';' when the name has one) and the text it stands for.
type entity struct {
	name, value string
}

// maxEntityName is the longest name Python's html module tries: its pattern allows
// 1 to 32 characters before the optional ';'.
const maxEntityName = 32

// unescapeHTML is Python's html.unescape. Go's html.UnescapeString differs from it
// on numeric references: Python drops those to control characters and
// non-characters ("&#1;", "&#xFFFF;") and leaves "&#x;" alone. Names follow
// Python's rule too: up to 32 characters other than "\t\n\f <&#;", and a name that
// is not known is shortened to its longest known legacy prefix ("&ampx" is "&x").
func unescapeHTML(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:] // s[0] == '&'
		n := writeCharRef(&b, s[1:])
		s = s[1+n:]
		i = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}

// writeCharRef looks at the text after an '&'. When it starts a character reference
// (in the sense of Python's html module) writeCharRef writes its replacement and
// returns how many bytes it used; otherwise it writes the '&' alone and returns 0.
func writeCharRef(b *strings.Builder, s string) int {
	if len(s) >= 2 && s[0] == '#' {
		if isDigit(s[1]) {
			return writeNumericRef(b, s, 1, 10)
		}
		if (s[1] == 'x' || s[1] == 'X') && len(s) >= 3 && isHexDigit(s[2]) {
			return writeNumericRef(b, s, 2, 16)
		}
	}
	// A name: 1 to 32 characters outside "\t\n\f <&#;", then an optional ';'.
	n, chars := 0, 0
	for n < len(s) && chars < maxEntityName {
		c := s[n]
		if c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';' {
			break
		}
		if c < utf8.RuneSelf {
			n++
		} else {
			_, w := utf8.DecodeRuneInString(s[n:])
			n += w
		}
		chars++
	}
	if chars == 0 {
		b.WriteByte('&')
		return 0
	}
	if n < len(s) && s[n] == ';' {
		n++
		chars++
	}
	name := s[:n]
	if v, ok := lookupEntity(name); ok {
		b.WriteString(v)
		return n
	}
	// The longest known prefix of at least two characters, shorter than the name.
	// Names are ASCII, so only the leading ASCII bytes can form one.
	ascii := 0
	for ascii < len(name) && name[ascii] < utf8.RuneSelf {
		ascii++
	}
	longest := ascii
	if ascii == len(name) {
		longest = chars - 1
	}
	for x := longest; x >= 2; x-- {
		if v, ok := lookupEntity(name[:x]); ok {
			b.WriteString(v)
			b.WriteString(name[x:])
			return n
		}
	}
	b.WriteByte('&')
	b.WriteString(name)
	return n
}

// writeNumericRef writes the replacement of a numeric reference "#123" or "#x7B"
// whose digits start at s[start], with an optional ';' after them. A number too
// large for a code point gives U+FFFD, also past 4,300 decimal digits, where
// Python 3.11 raises ValueError instead (its int-from-string limit).
func writeNumericRef(b *strings.Builder, s string, start, base int) int {
	const tooBig = 0x110000
	n, num := start, 0
	for n < len(s) {
		c := s[n]
		var d int
		switch {
		case isDigit(c):
			d = int(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = int(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = int(c-'A') + 10
		default:
			d = -1
		}
		if d < 0 {
			break
		}
		if num < tooBig {
			num = num*base + d
		}
		n++
	}
	if n < len(s) && s[n] == ';' {
		n++
	}
	b.WriteString(numericRefValue(num))
	return n
}

// numericRefValue is what Python's html module makes of a numeric reference to num
// (num >= 0x110000 standing for any number too large to be a code point).
func numericRefValue(num int) string {
	if 0x80 <= num && num <= 0x9F {
		return windows1252[num-0x80]
	}
	switch {
	case num == 0:
		return "\uFFFD"
	case num == 0x0D:
		return "\r"
	case 0xD800 <= num && num <= 0xDFFF, num > 0x10FFFF:
		return "\uFFFD"
	case 0x01 <= num && num <= 0x08, num == 0x0B, 0x0E <= num && num <= 0x1F, num == 0x7F,
		0xFDD0 <= num && num <= 0xFDEF, num&0xFFFE == 0xFFFE:
		return ""
	}
	return string(rune(num))
}

// windows1252 maps numeric references to 0x80..0x9F the way HTML5 (and Python) read
// them: as Windows-1252 bytes, the five undefined ones standing for themselves.
var windows1252 = [32]string{
	"\u20AC", "\u0081", "\u201A", "\u0192", "\u201E", "\u2026", "\u2020", "\u2021",
	"\u02C6", "\u2030", "\u0160", "\u2039", "\u0152", "\u008D", "\u017D", "\u008F",
	"\u0090", "\u2018", "\u2019", "\u201C", "\u201D", "\u2022", "\u2013", "\u2014",
	"\u02DC", "\u2122", "\u0161", "\u203A", "\u0153", "\u009D", "\u017E", "\u0178",
}

// lookupEntity finds a named reference by its exact name.
func lookupEntity(name string) (string, bool) {
	i := sort.Search(len(entities), func(i int) bool { return entities[i].name >= name })
	if i < len(entities) && entities[i].name == name {
		return entities[i].value, true
	}
	return "", false
}

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
