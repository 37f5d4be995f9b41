package jpeg

import "encoding/binary"

// lookBits is the number of bits resolved by one table lookup; coefBits
// the number the whole-coefficient table (huffTable.coef) looks at: with 10
// rather than 9, more codes fit with their extra bits, and a 512² JPEG
// decoded in 12% less time on the Zen 5 guest (11 and 12, whose tables
// crowd the L1 cache, were slower).
const (
	lookBits = 9
	coefBits = 10
)

// huffTable is a Huffman decoding table (libjpeg's d_derived_tbl).
type huffTable struct {
	// lookup maps the next lookBits bits to length<<8 | symbol, or 0 when
	// the code is longer than lookBits.
	lookup [1 << lookBits]uint16
	// coef maps the next coefBits bits to a whole AC coefficient where
	// its code (of at most lookBits) and its extra bits fit in them, 0
	// where not: the bits taken, run<<8, 1<<12 when a value follows
	// (else EOB or ZRL) and the value, sign-extended, <<16. One lookup
	// then does what lookup, receive and extend do, as libjpeg-turbo's
	// jdhuff.h does for its fast path.
	coef      [1 << coefBits]int32
	maxcode   [18]int32 // largest code of each length, -1 if none; [17] is a sentinel
	valoffset [18]int32
	vals      [256]uint8
	err       error // set when the table is invalid; reported when used
}

// buildHuffTable builds a decoding table from the DHT counts and symbols,
// validating it like libjpeg's jpeg_make_d_derived_tbl.
func buildHuffTable(counts *[17]int, vals []byte, isDC bool) *huffTable {
	t := &huffTable{}
	copy(t.vals[:], vals)
	var size [257]uint8
	var code [257]uint32
	p := 0
	for l := 1; l <= 16; l++ {
		for i := 0; i < counts[l]; i++ {
			size[p] = uint8(l)
			p++
		}
	}
	n := p
	c := uint32(0)
	si := int(size[0])
	p = 0
	for size[p] != 0 {
		for int(size[p]) == si {
			code[p] = c
			p++
			c++
		}
		if c >= 1<<si {
			t.err = FormatError("bad Huffman table")
			return t
		}
		c <<= 1
		si++
	}
	p = 0
	for l := 1; l <= 16; l++ {
		if counts[l] != 0 {
			t.valoffset[l] = int32(p) - int32(code[p])
			p += counts[l]
			t.maxcode[l] = int32(code[p-1])
		} else {
			t.maxcode[l] = -1
		}
	}
	t.valoffset[17] = 0
	t.maxcode[17] = 0xFFFFF
	for i := 0; i < n; i++ {
		l := int(size[i])
		if l > lookBits {
			break
		}
		shift := lookBits - l
		base := int(code[i]) << shift
		e := uint16(l)<<8 | uint16(vals[i])
		for j := 0; j < 1<<shift; j++ {
			t.lookup[base+j] = e
		}
	}
	for look := range t.coef {
		e := t.lookup[look>>(coefBits-lookBits)]
		l, sym := uint(e>>8), int32(e&0xFF)
		r, sz := sym>>4, uint(sym&15)
		switch {
		case e == 0 || l+sz > coefBits:
		case sz == 0:
			t.coef[look] = int32(l) | r<<8
		default:
			v := extend(int32(look>>(coefBits-l-sz))&(1<<sz-1), sz)
			t.coef[look] = int32(l+sz) | r<<8 | 1<<12 | v<<16
		}
	}
	if isDC {
		for i := 0; i < n; i++ {
			if vals[i] > 15 {
				t.err = FormatError("bad DC Huffman table")
				return t
			}
		}
	}
	return t
}

// bitReader reads entropy-coded bits the way libjpeg's jdhuff.c does:
// FF/00 is a data byte FF, runs of FF fill bytes are swallowed, and once a
// marker is reached zero bits are supplied. At end of input it also
// supplies zero bits but records that the data was cut short.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // the low n bits are valid, the oldest bit highest
	n      uint
	pad    uint // zero bits appended after the real data
	marker byte // marker reached (0 if none)
	mend   int  // position after the marker code
	eof    bool // the data ended without a marker
}

func (br *bitReader) reset(data []byte, pos int) {
	*br = bitReader{data: data, pos: pos}
}

// fill loads bytes until more than 56 bits are available: all it needs
// at once when the next 8 bytes hold no 0xFF (the common case), else byte
// by byte.
func (br *bitReader) fill() {
	if br.n <= 56 && br.marker == 0 && br.pos+8 <= len(br.data) {
		w := binary.BigEndian.Uint64(br.data[br.pos:])
		if x := ^w; (x-0x0101010101010101)&^x&0x8080808080808080 == 0 { // no 0xFF byte in w
			k := (64 - br.n) / 8
			br.acc = br.acc<<(8*k) | w>>(64-8*k)
			br.n += 8 * k
			br.pos += int(k)
			return
		}
	}
	for br.n <= 56 {
		if br.marker != 0 || br.eof {
			br.acc <<= 8
			br.n += 8
			br.pad += 8
			continue
		}
		if br.pos >= len(br.data) {
			br.eof = true
			continue
		}
		c := br.data[br.pos]
		if c != 0xFF {
			br.acc = br.acc<<8 | uint64(c)
			br.n += 8
			br.pos++
			continue
		}
		p := br.pos + 1
		for p < len(br.data) && br.data[p] == 0xFF {
			p++
		}
		if p >= len(br.data) {
			br.pos = p
			br.eof = true
			continue
		}
		if br.data[p] == 0 {
			br.acc = br.acc<<8 | 0xFF
			br.n += 8
			br.pos = p + 1
			continue
		}
		br.marker = br.data[p]
		br.mend = p + 1
	}
}

// overrun reports whether bits past the real data have been consumed.
func (br *bitReader) overrun() bool { return br.n < br.pad }

// bits returns the next k (1..16) bits.
func (br *bitReader) bits(k uint) int32 {
	if br.n < k {
		br.fill()
	}
	br.n -= k
	return int32(br.acc>>br.n) & (1<<k - 1)
}

// bit returns the next bit.
func (br *bitReader) bit() bool {
	if br.n == 0 {
		br.fill()
	}
	br.n--
	return br.acc>>br.n&1 != 0
}

// decode reads one Huffman-coded symbol. A code longer than 16 bits
// (possible only in corrupt data) yields 0 after consuming 17 bits, as in
// libjpeg.
func (br *bitReader) decode(t *huffTable) int32 {
	if br.n < 32 {
		br.fill()
	}
	look := br.acc >> (br.n - lookBits) & (1<<lookBits - 1)
	if e := t.lookup[look]; e != 0 {
		br.n -= uint(e >> 8)
		return int32(e & 0xFF)
	}
	l := uint(lookBits + 1)
	code := int32(br.acc>>(br.n-l)) & (1<<l - 1)
	for code > t.maxcode[l] {
		l++
		code = int32(br.acc>>(br.n-l)) & (1<<l - 1)
	}
	br.n -= l
	if l > 16 {
		return 0
	}
	return int32(t.vals[(code+t.valoffset[l])&0xFF])
}

// extend converts k received bits to a signed value (JPEG figure F.12).
func extend(v int32, k uint) int32 {
	if v < 1<<(k-1) {
		return v + (-1 << k) + 1
	}
	return v
}

// receiveExtend reads k bits (k may be 0) and sign-extends them.
func (br *bitReader) receiveExtend(k uint) int32 {
	if k == 0 {
		return 0
	}
	if br.n < k {
		br.fill()
	}
	br.n -= k
	v := int32(br.acc>>br.n) & (1<<k - 1)
	return extend(v, k)
}
