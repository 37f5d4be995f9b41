package jpeg

import (
	"bufio"
	"fmt"
	"io"
)

// Marker codes (the byte following 0xFF).
const (
	mSOF0 = 0xC0 // baseline
	mSOF1 = 0xC1 // extended sequential, Huffman
	mSOF2 = 0xC2 // progressive, Huffman
	mDHT  = 0xC4
	mRST0 = 0xD0
	mRST7 = 0xD7
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPPE = 0xEE
	mAPPF = 0xEF
	mCOM  = 0xFE
	mTEM  = 0x01
)

// maxDimension is libjpeg's JPEG_MAX_DIMENSION.
const maxDimension = 65500

// MaxPixels is the largest image Decode, DecodeRGB and DecodeRGBBytes
// accept: PIL raises DecompressionBombError above twice
// Image.MAX_IMAGE_PIXELS (89478485). DecodeConfig reports larger sizes
// without error so callers can decide; DecodeRGBBytesLimit takes another cap.
const MaxPixels = 2 * 89478485

// maxBlocksInMCU is libjpeg's D_MAX_BLOCKS_IN_MCU.
const maxBlocksInMCU = 10

// component is one colour component of the frame.
type component struct {
	id     uint8
	h, v   int // sampling factors
	tq     int // quantisation table selector
	q      [64]int32
	hasQ   bool // q latched (at the component's first scan, as libjpeg does)
	bw, bh int  // blocks holding real samples (libjpeg width/height_in_blocks)
	pbw    int  // blocks per row in the padded (whole-MCU) grid
	pbh    int  // block rows in the padded grid
	dsW    int  // samples per row (libjpeg downsampled_width)
	dsH    int  // sample rows (libjpeg downsampled_height)
	stride int  // plane row stride in bytes (pbw*8)
	plane  []uint8
	coefs  []int16 // buffered mode: pbw*pbh blocks of 64 natural-order coefficients
	// coefBits is libjpeg's coef_bits: the successive-approximation bit
	// position last coded for each coefficient, -1 when never coded.
	coefBits [64]int
	// prevCoefBits is libjpeg's copy of coefBits from before the
	// component's latest scan (used by block smoothing for rows the latest
	// scan had no data for).
	prevCoefBits [64]int
	dcTbl        int
	acTbl        int
	dcPred       int32
}

// decoder holds the state of one decode.
type decoder struct {
	data      []byte
	pos       int
	maxPixels int64 // 0: no cap beyond maxDimension
	buf       *Buffers

	width, height int
	ncomp         int
	comp          [4]component
	progressive   bool
	maxH, maxV    int
	mcusX, mcusY  int

	qt   [4][64]int32 // natural order
	qtOK [4]bool
	dc   [4]*huffTable
	ac   [4]*huffTable

	restartInterval int
	jfif            bool
	adobe           bool
	adobeTransform  uint8

	sawSOF   bool
	sawScan  bool
	buffered bool // coefficients kept for the whole image (multi-scan)
	done     bool // immediate mode: the single scan has been output

	br     bitReader
	eobrun int

	scanNumber      int // scans started so far (libjpeg input_scan_number)
	lastGoodIMCURow int // libjpeg master->last_good_iMCU_row

	// scan parameters
	scomp      [4]*component
	nscomp     int
	ss, se     int
	ah, al     int
	insuff     bool // libjpeg's insufficient_data
	nextRST    int
	restartsTo int
}

// u16 reads a big-endian 16-bit value at p.
func u16(b []byte, p int) int { return int(b[p])<<8 | int(b[p+1]) }

// readConfig parses markers from r up to and including the frame header.
func (d *decoder) readConfig(r io.Reader) error {
	br := bufio.NewReader(r)
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return d.eofErr(err, "missing SOI marker")
	}
	if hdr[0] != 0xFF || hdr[1] != mSOI {
		return FormatError("not a JPEG file (missing SOI marker)")
	}
	for {
		// libjpeg's next_marker: skip garbage, swallow fill bytes.
		c, err := br.ReadByte()
		for err == nil && c != 0xFF {
			c, err = br.ReadByte()
		}
		for err == nil && c == 0xFF {
			c, err = br.ReadByte()
		}
		if err != nil {
			return d.eofErr(err, "no frame header")
		}
		if c == 0 {
			continue
		}
		marker := c
		switch {
		case marker == mSOI, marker == mTEM, marker >= mRST0 && marker <= mRST7:
			continue
		case marker == mEOI:
			return FormatError("no frame header before EOI")
		case marker == mSOS:
			return FormatError("SOS before SOF")
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return d.eofErr(err, "marker length")
		}
		n := u16(hdr[:], 0) - 2
		if n < 0 {
			return FormatError(fmt.Sprintf("bad length for marker 0x%02X", marker))
		}
		if isSOF(marker) {
			seg := make([]byte, n)
			if _, err := io.ReadFull(br, seg); err != nil {
				return d.eofErr(err, "frame header")
			}
			return d.parseSOF(marker, seg)
		}
		if !knownMarker(marker) {
			return FormatError(fmt.Sprintf("unsupported marker 0x%02X", marker))
		}
		if _, err := br.Discard(n); err != nil {
			return d.eofErr(err, "marker segment")
		}
	}
}

func (d *decoder) eofErr(err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		if what == "missing SOI marker" {
			return FormatError("empty or too short input")
		}
		return fmt.Errorf("%w (%s)", ErrTruncated, what)
	}
	return fmt.Errorf("jpeg: reading %s: %w", what, err)
}

func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC
}

// knownMarker reports markers with a length field that the decoder may
// skip or handle.
func knownMarker(m byte) bool {
	return m == mDHT || m == mDQT || m == mDRI || m == mDNL || m == 0xCC ||
		(m >= mAPP0 && m <= mAPPF) || m == mCOM
}

// nextMarker implements libjpeg's next_marker from position p: it skips
// any bytes up to 0xFF, fill bytes and stuffed FF/00 pairs. It returns the
// marker code and the position after it; ok is false at end of data.
func nextMarker(b []byte, p int) (marker byte, end int, ok bool) {
	for {
		for p < len(b) && b[p] != 0xFF {
			p++
		}
		for p < len(b) && b[p] == 0xFF {
			p++
		}
		if p >= len(b) {
			return 0, len(b), false
		}
		c := b[p]
		p++
		if c != 0 {
			return c, p, true
		}
	}
}

// decode parses the whole stream and leaves the component planes ready for
// conversion.
func (d *decoder) decode() error {
	b := d.data
	if len(b) < 2 {
		return FormatError("empty or too short input")
	}
	if b[0] != 0xFF || b[1] != mSOI {
		return FormatError("not a JPEG file (missing SOI marker)")
	}
	d.pos = 2
	for !d.done {
		marker, end, ok := nextMarker(b, d.pos)
		if !ok {
			if d.sawScan {
				return fmt.Errorf("%w (no EOI marker)", ErrTruncated)
			}
			return fmt.Errorf("%w (no image data)", ErrTruncated)
		}
		d.pos = end
		if err := d.handleMarker(marker); err != nil {
			return err
		}
		if marker == mEOI {
			break
		}
	}
	if !d.sawScan {
		return FormatError("JPEG datastream contains no image")
	}
	if d.buffered {
		d.finishBuffered()
	}
	return nil
}

// segment returns the payload of the marker segment at d.pos and advances
// past it.
func (d *decoder) segment(marker byte) ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, fmt.Errorf("%w (marker 0x%02X length)", ErrTruncated, marker)
	}
	n := u16(d.data, d.pos) - 2
	if n < 0 {
		return nil, FormatError(fmt.Sprintf("bad length for marker 0x%02X", marker))
	}
	start := d.pos + 2
	if start+n > len(d.data) {
		return nil, fmt.Errorf("%w (marker 0x%02X segment)", ErrTruncated, marker)
	}
	d.pos = start + n
	return d.data[start : start+n], nil
}

func (d *decoder) handleMarker(marker byte) error {
	switch {
	case marker == mEOI:
		return nil
	case marker == mSOI:
		return FormatError("unexpected SOI marker")
	case marker == mTEM, marker >= mRST0 && marker <= mRST7:
		return nil
	case marker == mSOS:
		if !d.sawSOF {
			return FormatError("SOS before SOF")
		}
		seg, err := d.segment(marker)
		if err != nil {
			return err
		}
		return d.scan(seg)
	case isSOF(marker):
		seg, err := d.segment(marker)
		if err != nil {
			return err
		}
		if d.sawSOF {
			return FormatError("duplicate SOF marker")
		}
		if err := d.parseSOF(marker, seg); err != nil {
			return err
		}
		return d.setupFrame()
	case marker == mDHT:
		seg, err := d.segment(marker)
		if err != nil {
			return err
		}
		return d.parseDHT(seg)
	case marker == mDQT:
		seg, err := d.segment(marker)
		if err != nil {
			return err
		}
		return d.parseDQT(seg)
	case marker == mDRI:
		seg, err := d.segment(marker)
		if err != nil {
			return err
		}
		if len(seg) != 2 {
			return FormatError("bad DRI length")
		}
		d.restartInterval = u16(seg, 0)
		return nil
	case marker == mAPP0 || marker == mAPPE:
		seg, err := d.segment(marker)
		if err != nil {
			return err
		}
		// libjpeg looks at the first 14 bytes only.
		if marker == mAPP0 && len(seg) >= 14 && string(seg[:5]) == "JFIF\x00" {
			d.jfif = true
		}
		if marker == mAPPE && len(seg) >= 12 && string(seg[:5]) == "Adobe" {
			d.adobe = true
			d.adobeTransform = seg[11]
		}
		return nil
	case knownMarker(marker):
		_, err := d.segment(marker)
		return err
	}
	return FormatError(fmt.Sprintf("unsupported marker 0x%02X", marker))
}

// parseSOF parses a frame header (libjpeg get_sof and initial_setup plus
// Pillow's SOF checks).
func (d *decoder) parseSOF(marker byte, seg []byte) error {
	switch marker {
	case mSOF0, mSOF1:
	case mSOF2:
		d.progressive = true
	case 0xC3:
		return UnsupportedError("lossless JPEG")
	case 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
		return UnsupportedError("arithmetic coding")
	default:
		return UnsupportedError("hierarchical JPEG")
	}
	if len(seg) < 6 {
		return FormatError("short SOF segment")
	}
	if seg[0] != 8 {
		return UnsupportedError(fmt.Sprintf("%d-bit samples (only 8-bit JPEG is supported)", seg[0]))
	}
	d.height = u16(seg, 1)
	d.width = u16(seg, 3)
	d.ncomp = int(seg[5])
	if d.width == 0 || d.height == 0 {
		return FormatError("empty image (zero width or height, DNL is not supported)")
	}
	if d.width > maxDimension || d.height > maxDimension {
		return FormatError(fmt.Sprintf("image %dx%d exceeds the maximum dimension %d", d.width, d.height, maxDimension))
	}
	if d.ncomp != 1 && d.ncomp != 3 && d.ncomp != 4 {
		return UnsupportedError(fmt.Sprintf("%d-component images", d.ncomp))
	}
	if len(seg) != 6+3*d.ncomp {
		return FormatError("bad SOF length")
	}
	d.maxH, d.maxV = 1, 1
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		c.id = seg[6+3*i]
		c.h = int(seg[7+3*i] >> 4)
		c.v = int(seg[7+3*i] & 15)
		c.tq = int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return FormatError("bad sampling factors")
		}
		d.maxH = max(d.maxH, c.h)
		d.maxV = max(d.maxV, c.v)
	}
	d.sawSOF = true
	return nil
}

// setupFrame computes the component geometry (libjpeg initial_setup).
func (d *decoder) setupFrame() error {
	if d.maxPixels > 0 && int64(d.width)*int64(d.height) > d.maxPixels {
		return FormatError(fmt.Sprintf("image %dx%d has more than %d pixels (decompression bomb)", d.width, d.height, d.maxPixels))
	}
	d.mcusX = ceilDiv(d.width, d.maxH*8)
	d.mcusY = ceilDiv(d.height, d.maxV*8)
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		if d.maxH%c.h != 0 || d.maxV%c.v != 0 {
			return UnsupportedError("fractional sampling factors")
		}
		c.dsW = ceilDiv(d.width*c.h, d.maxH)
		c.dsH = ceilDiv(d.height*c.v, d.maxV)
		c.bw = ceilDiv(c.dsW, 8)
		c.bh = ceilDiv(c.dsH, 8)
		c.pbw = d.mcusX * c.h
		c.pbh = d.mcusY * c.v
		c.stride = c.pbw * 8
		for k := range c.coefBits {
			c.coefBits[k] = -1
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// parseDQT parses quantisation tables (libjpeg get_dqt).
func (d *decoder) parseDQT(seg []byte) error {
	for len(seg) > 0 {
		n := seg[0]
		seg = seg[1:]
		prec, idx := int(n>>4), int(n&15)
		if idx >= 4 {
			return FormatError(fmt.Sprintf("bad quantisation table index %d", idx))
		}
		size := 1
		if prec != 0 {
			size = 2
		}
		count := 64
		var t [64]int32
		if len(seg) < 64*size {
			// libjpeg fills a short table with ones.
			for i := range t {
				t[i] = 1
			}
			count = len(seg) / size
		}
		for i := 0; i < count; i++ {
			var v int32
			if size == 2 {
				v = int32(u16(seg, 2*i))
			} else {
				v = int32(seg[i])
			}
			t[zigzag[i]] = v
		}
		seg = seg[count*size:]
		d.qt[idx] = t
		d.qtOK[idx] = true
	}
	return nil
}

// parseDHT parses Huffman tables (libjpeg get_dht).
func (d *decoder) parseDHT(seg []byte) error {
	for len(seg) > 16 {
		index := int(seg[0])
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		seg = seg[17:]
		if total > 256 || total > len(seg) {
			return FormatError("bad Huffman table")
		}
		isAC := index&0x10 != 0
		index &^= 0x10
		if index >= 4 {
			return FormatError(fmt.Sprintf("bad Huffman table index %d", index))
		}
		t := buildHuffTable(&counts, seg[:total], !isAC)
		seg = seg[total:]
		if isAC {
			d.ac[index] = t
		} else {
			d.dc[index] = t
		}
	}
	if len(seg) != 0 {
		return FormatError("bad DHT length")
	}
	return nil
}

// zigzag maps zigzag index to natural (row-major) index. Entries past 63
// are 63, like libjpeg's jpeg_natural_order, so that a corrupt run length
// cannot index outside a block; the table has 128 entries so that an index
// masked with 127 needs no bounds check.
var zigzag = func() (t [128]uint8) {
	order := [64]uint8{
		0, 1, 8, 16, 9, 2, 3, 10,
		17, 24, 32, 25, 18, 11, 4, 5,
		12, 19, 26, 33, 40, 48, 41, 34,
		27, 20, 13, 6, 7, 14, 21, 28,
		35, 42, 49, 56, 57, 50, 43, 36,
		29, 22, 15, 23, 30, 37, 44, 51,
		58, 59, 52, 45, 38, 31, 39, 46,
		53, 60, 61, 54, 47, 55, 62, 63,
	}
	copy(t[:], order[:])
	for i := 64; i < len(t); i++ {
		t[i] = 63
	}
	return t
}()
