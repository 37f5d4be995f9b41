package tokenizer

// byteSymbol pairs a byte with the printable character that stands for it in the
// vocabulary.
type byteSymbol struct {
	b   byte
	sym string
}

// byteSymbols is CLIP's bytes_to_unicode in its order (which fixes the first 512
// ids of OpenAI's vocabulary): the printable Latin-1 bytes stand for themselves,
// the others, in byte order, for U+0100 onwards.
func byteSymbols() []byteSymbol {
	printable := func(b int) bool {
		return '!' <= b && b <= '~' || '¡' <= b && b <= '¬' || '®' <= b && b <= 'ÿ'
	}
	out := make([]byteSymbol, 0, 256)
	for b := range 256 {
		if printable(b) {
			out = append(out, byteSymbol{byte(b), string(rune(b))})
		}
	}
	n := 0
	for b := range 256 {
		if !printable(b) {
			out = append(out, byteSymbol{byte(b), string(rune(256 + n))})
			n++
		}
	}
	return out
}
