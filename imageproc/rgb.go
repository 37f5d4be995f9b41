package imageproc

import (
	"fmt"
	"image"
	"image/color"
)

// RGB is an 8-bit RGB image stored row-major with three bytes per pixel and
// no row padding: the pixel at (x, y) is Pix[3*(y*W+x) : 3*(y*W+x)+3].
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB {
	return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

// valid reports whether img is non-nil, non-empty and consistent.
func (img *RGB) valid() error {
	if img == nil {
		return fmt.Errorf("imageproc: nil image")
	}
	if img.W <= 0 || img.H <= 0 {
		return fmt.Errorf("imageproc: empty image (%dx%d)", img.W, img.H)
	}
	if len(img.Pix) != 3*img.W*img.H {
		return fmt.Errorf("imageproc: %dx%d image has %d bytes, want %d", img.W, img.H, len(img.Pix), 3*img.W*img.H)
	}
	return nil
}

// ColorModel, Bounds and At make *RGB an image.Image, handy for encoding it
// with the standard library (for example to look at an intermediate result).
func (img *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds returns the rectangle (0, 0)-(W, H).
func (img *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, img.W, img.H) }

// At returns the colour of the pixel at (x, y), or transparent black outside
// the image.
func (img *RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= img.W || y >= img.H {
		return color.RGBA{}
	}
	i := 3 * (y*img.W + x)
	return color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], 0xff}
}
