package imageproc

// The limits every goclip front end applies to one image unless told
// otherwise (see Limits). They are the one place these numbers live.
const (
	// DefaultMaxPixels is PIL's Image.MAX_IMAGE_PIXELS
	// (1024·1024·1024 / 4 / 3), above which PIL warns of a decompression
	// bomb. (PIL refuses only above twice this; a decoded image of this
	// size already needs about 360 MB.)
	DefaultMaxPixels = 89_478_485
	// DefaultMaxBytes caps the size of an encoded image: 256 MiB, far
	// above any photo, far below what would exhaust memory.
	DefaultMaxBytes = 256 << 20
	// minDecodeBudget is the least pixel budget a Pipeline has: enough for
	// several large photos to decode at once whatever MaxPixels is.
	minDecodeBudget = 16_000_000
)

// Limits bound what one image input may cost. The zero value means the
// defaults; a negative field means no limit.
type Limits struct {
	// MaxBytes caps the size of the encoded image: a file, a request field.
	// It is enforced while reading, so an image followed by gigabytes of
	// junk is refused after MaxBytes+1 bytes, not read whole. 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxPixels caps width×height. It is checked against the file's header
	// before any pixel is decoded, so a small file that claims a huge image
	// is refused at once. 0 means DefaultMaxPixels. With no limit the
	// formats' own bounds remain (65500×65500 for JPEG).
	MaxPixels int64
}

// maxBytes returns the byte cap, or -1 for none.
func (l Limits) maxBytes() int64 {
	switch {
	case l.MaxBytes == 0:
		return DefaultMaxBytes
	case l.MaxBytes < 0:
		return -1
	}
	return l.MaxBytes
}

// maxPixels returns the pixel cap, or -1 for none.
func (l Limits) maxPixels() int64 {
	switch {
	case l.MaxPixels == 0:
		return DefaultMaxPixels
	case l.MaxPixels < 0:
		return -1
	}
	return l.MaxPixels
}
