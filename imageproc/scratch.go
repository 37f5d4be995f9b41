package imageproc

import jpegdec "github.com/goclip/goclip/imageproc/jpeg"

// scratch is the working memory of one decode and preprocess: the JPEG
// decoder's planes and RGB output, the resized crop window and the rows of
// the horizontal resampling pass. A Pipeline keeps scratches between
// images, so a stream of images allocates (and faults in) nothing once
// they have grown to the largest: fresh memory costs a page fault per 4
// KiB, which on a virtual machine made a 512×512 JPEG's preprocessing take
// twice as long as decoding and resizing it. A nil *scratch allocates
// afresh; a scratch serves one image at a time.
type scratch struct {
	jpeg jpegdec.Buffers
	win  []uint8
	rows []uint8
}

// window returns n bytes for the resized crop window.
func (s *scratch) window(n int) []uint8 {
	if s == nil {
		return make([]uint8, n)
	}
	return grow(&s.win, n)
}

// passRows returns n bytes for the horizontal pass's output rows.
func (s *scratch) passRows(n int) []uint8 {
	if s == nil {
		return make([]uint8, n)
	}
	return grow(&s.rows, n)
}

// grow returns (*b)[:n], reallocating *b first when it is short. The bytes
// hold whatever was there: callers write them all before reading.
func grow(b *[]uint8, n int) []uint8 {
	if cap(*b) < n {
		*b = make([]uint8, n)
	}
	return (*b)[:n]
}
