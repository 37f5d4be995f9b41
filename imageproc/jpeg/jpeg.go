// Package jpeg is a pure-Go JPEG decoder whose output is bit-identical to
// what PIL (Pillow) gets from libjpeg-turbo 2.1 with its default settings,
// i.e. Image.open(f).convert("RGB").
//
// Bit-exactness matters because CLIP's image preprocessing is defined by the
// PIL reference: the Go standard library's image/jpeg uses a different IDCT
// and chroma upsampling and therefore differs by a few levels per pixel.
// This decoder reproduces libjpeg-turbo's decompression path instead:
//
//   - the "islow" integer IDCT of jidctint.c (CONST_BITS 13, PASS1_BITS 2)
//     with its 10-bit wrapping range-limit table;
//   - "fancy" (triangle filter) chroma upsampling of jdsample.c for 2:1
//     ratios (h2v1, h1v2, h2v2), box replication otherwise and for
//     components at most two samples wide;
//   - jdcolor.c's fixed-point YCbCr->RGB and YCCK->CMYK conversion;
//   - Pillow's inverted ("Adobe") CMYK handling followed by its CMYK->RGB
//     conversion (Convert.c cmyk2rgb);
//   - libjpeg's colour-space guess (JFIF, Adobe transform, component ids);
//   - progressive block smoothing (jdcoefct.c) when a progressive image
//     leaves low-frequency coefficients unrefined;
//   - libjpeg's treatment of corrupt entropy data (zero-filling after a
//     premature marker, restart-marker resynchronisation). Data that ends
//     before the image is complete is an error, as it is for PIL.
//
// Sequential and progressive Huffman-coded 8-bit images with 1, 3 or 4
// components are supported. Arithmetic coding, lossless, hierarchical and
// 12-bit JPEGs are refused with an error.
package jpeg

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// ErrTruncated reports input that ends before the image is complete. PIL
// raises "image file is truncated" in the same situation.
var ErrTruncated = errors.New("jpeg: image file is truncated")

// FormatError reports input that is not a valid JPEG.
type FormatError string

func (e FormatError) Error() string { return "jpeg: invalid format: " + string(e) }

// UnsupportedError reports a valid JPEG feature this decoder does not handle.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "jpeg: unsupported feature: " + string(e) }

// DecodeConfig returns the dimensions and colour model of a JPEG image
// without decoding its pixels. It reads only up to the frame header.
// The colour model is color.GrayModel for one-component images and
// color.RGBAModel otherwise (matching what Decode returns).
func DecodeConfig(r io.Reader) (image.Config, error) {
	var d decoder
	if err := d.readConfig(r); err != nil {
		return image.Config{}, err
	}
	cm := color.RGBAModel
	if d.ncomp == 1 {
		cm = color.GrayModel
	}
	return image.Config{ColorModel: cm, Width: d.width, Height: d.height}, nil
}

// DecodeRGBBytes decodes a JPEG image to packed 8-bit RGB (3 bytes per
// pixel, rows top to bottom, no padding): exactly the bytes of PIL's
// Image.open(...).convert("RGB").tobytes(). Grayscale images are replicated
// into the three channels and CMYK/YCCK images are converted as Pillow does.
func DecodeRGBBytes(data []byte) (w, h int, pix []uint8, err error) {
	return DecodeRGBBytesLimit(data, MaxPixels)
}

// DecodeRGBBytesLimit is DecodeRGBBytes with maxPixels instead of
// MaxPixels as the largest width×height it decodes; maxPixels ≤ 0 sets no
// cap beyond the format's 65500×65500 (a caller that checked the size
// itself, see DecodeConfig).
func DecodeRGBBytesLimit(data []byte, maxPixels int64) (w, h int, pix []uint8, err error) {
	return new(Buffers).DecodeRGBBytesLimit(data, maxPixels)
}

// Buffers hold a decoder's memory between decodes: the sample planes (or,
// for progressive images, the coefficients) of each component and the RGB
// output. Decoding a stream of images with one Buffers allocates nothing
// once they have grown to the largest image, and so touches no fresh pages
// (each a fault the kernel zero-fills: on a virtual machine a 512×512
// image's 1.2 MB of fresh memory can cost as much as decoding it). The
// zero value is ready to use; a Buffers serves one decode at a time.
type Buffers struct {
	planes [4][]uint8
	coef   [4][]int16
	pix    []uint8
}

// DecodeRGBBytesLimit is the package's DecodeRGBBytesLimit decoding into
// b: pix is b's memory, valid until b's next decode.
func (b *Buffers) DecodeRGBBytesLimit(data []byte, maxPixels int64) (w, h int, pix []uint8, err error) {
	d := decoder{data: data, maxPixels: max(maxPixels, 0), buf: b}
	if err := d.decode(); err != nil {
		return 0, 0, nil, err
	}
	pix = grow(&b.pix, d.width*d.height*3)
	d.convert(pix, 3)
	return d.width, d.height, pix, nil
}

// plane returns component i's sample plane of n bytes, zeroed.
func (b *Buffers) plane(i, n int) []uint8 {
	p := grow(&b.planes[i], n)
	clear(p)
	return p
}

// coefs returns component i's coefficient array of n values, zeroed.
func (b *Buffers) coefs(i, n int) []int16 {
	c := grow(&b.coef[i], n)
	clear(c)
	return c
}

// grow returns (*s)[:n], reallocating *s first when it is short.
func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	return (*s)[:n]
}

// Decode decodes a JPEG image. It returns an *image.Gray for one-component
// images and an *image.RGBA (opaque) otherwise, with the same pixel values
// as DecodeRGB.
func Decode(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("jpeg: reading input: %w", err)
	}
	d := decoder{data: data, maxPixels: MaxPixels, buf: new(Buffers)}
	if err := d.decode(); err != nil {
		return nil, err
	}
	rect := image.Rect(0, 0, d.width, d.height)
	if d.ncomp == 1 {
		img := image.NewGray(rect)
		d.convert(img.Pix, 1)
		return img, nil
	}
	img := image.NewRGBA(rect)
	d.convert(img.Pix, 4)
	return img, nil
}
