package imageproc

import (
	"fmt"
)

// ResizedSize returns the size an imgW×imgH image has after the resize step
// (the input size when DoResize is false). For a shortest-edge size s the
// short side becomes s and the long side int(s*long/short), with the
// float64 division and truncation of Python's int(a * b / c).
func (c Config) ResizedSize(imgW, imgH int) (w, h int) {
	if !c.DoResize {
		return imgW, imgH
	}
	if c.Size.ShortestEdge == 0 {
		return c.Size.Width, c.Size.Height
	}
	s := c.Size.ShortestEdge
	short, long := imgW, imgH
	if imgW > imgH {
		short, long = imgH, imgW
	}
	newLong := int(float64(s*long) / float64(short))
	if imgW <= imgH {
		return s, newLong
	}
	return newLong, s
}

// OutputSize returns the height and width of the tensors Preprocess produces,
// or (0, 0) when they depend on the image (no centre crop and a
// shortest-edge or no resize); then use OutputSizeOf.
func (c Config) OutputSize() (h, w int) {
	switch {
	case c.DoCenterCrop:
		return c.CropSize.Height, c.CropSize.Width
	case c.DoResize && c.Size.ShortestEdge == 0:
		return c.Size.Height, c.Size.Width
	}
	return 0, 0
}

// OutputSizeOf returns the height and width of Preprocess's output for img.
func (c Config) OutputSizeOf(img *RGB) (h, w int) {
	if h, w = c.OutputSize(); h > 0 || img == nil {
		return h, w
	}
	w, h = c.ResizedSize(img.W, img.H)
	return h, w
}

// Preprocess runs CLIPImageProcessor's pipeline on img and returns the pixel
// values as a [3, h, w] (CHW) float32 tensor; h and w are OutputSizeOf(img).
func (c Config) Preprocess(img *RGB) ([]float32, error) {
	if err := img.valid(); err != nil {
		return nil, err
	}
	h, w := c.OutputSizeOf(img)
	dst := make([]float32, 3*h*w)
	if err := c.PreprocessInto(dst, img); err != nil {
		return nil, err
	}
	return dst, nil
}

// PreprocessInto is Preprocess writing into dst, which must hold at least
// 3*h*w values (see OutputSizeOf); a batch can be filled in place this way.
//
// The steps are CLIPImageProcessor's: resize (Pillow's resampling, see Resize),
// centre crop at top=(h-crop_h)//2, left=(w-crop_w)//2 with zero padding where
// the image is smaller than the crop, rescale as float32(float64(v)*factor),
// then (x-mean)/std in float32.
func (c Config) PreprocessInto(dst []float32, img *RGB) error {
	return c.preprocessInto(dst, img, nil)
}

// preprocessInto is PreprocessInto with its working memory from s.
func (c Config) preprocessInto(dst []float32, img *RGB, s *scratch) error {
	if err := img.valid(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	rw, rh := c.ResizedSize(img.W, img.H)
	if rw <= 0 || rh <= 0 {
		return fmt.Errorf("imageproc: %dx%d image resizes to %dx%d", img.W, img.H, rw, rh)
	}
	oh, ow := rh, rw
	top, left := 0, 0
	if c.DoCenterCrop {
		oh, ow = c.CropSize.Height, c.CropSize.Width
		top, left = floorDiv(rh-oh, 2), floorDiv(rw-ow, 2)
	}
	if len(dst) < 3*oh*ow {
		return fmt.Errorf("imageproc: output buffer holds %d values, want %d", len(dst), 3*oh*ow)
	}

	// The part of the resized image inside the crop window; the rest of the
	// window is zero padding.
	x0, y0 := max(left, 0), max(top, 0)
	x1, y1 := min(left+ow, rw), min(top+oh, rh)
	cw, ch := x1-x0, y1-y0
	win := s.window(3 * cw * ch)
	if c.DoResize && (rw != img.W || rh != img.H) {
		spec, err := c.Resample.spec()
		if err != nil {
			return err
		}
		resampleWindow(win, img, rw, rh, spec, x0, y0, cw, ch, s)
	} else {
		for y := range ch {
			s := 3 * ((y0+y)*img.W + x0)
			copy(win[3*y*cw:3*(y+1)*cw], img.Pix[s:s+3*cw])
		}
	}

	// Every output value is a function of its channel and its 8-bit input,
	// so a 3×256 table computes the float32 arithmetic once per level.
	lut := c.levels()
	plane := oh * ow
	padL := x0 - left // zero columns before the window, then cw columns, then the rest
	for k := range 3 {
		out := dst[k*plane : (k+1)*plane]
		l := &lut[k]
		pad := l[0]
		for y := range oh {
			row := out[y*ow : (y+1)*ow]
			sy := y + top - y0 // row in win
			if sy < 0 || sy >= ch {
				for x := range row {
					row[x] = pad
				}
				continue
			}
			for x := range padL {
				row[x] = pad
			}
			for x := padL + cw; x < ow; x++ {
				row[x] = pad
			}
			src := win[3*sy*cw+k : 3*(sy+1)*cw]
			mid := row[padL : padL+cw]
			for x := range mid {
				mid[x] = l[src[3*x]]
			}
		}
	}
	return nil
}

// levels returns, per channel, the output value of each 8-bit level: the
// NumPy arithmetic of CLIPImageProcessor's rescale (uint8 -> float64,
// multiply, cast to float32) and normalize ((x - mean) / std in float32).
func (c Config) levels() *[3][256]float32 {
	var lut [3][256]float32
	for ch := range 3 {
		mean, std := float32(c.Mean[ch]), float32(c.Std[ch])
		for v := range 256 {
			x := float32(v)
			if c.DoRescale {
				x = float32(float64(v) * c.RescaleFactor)
			}
			if c.DoNormalize {
				x = (x - mean) / std
			}
			lut[ch][v] = x
		}
	}
	return &lut
}

// floorDiv is Python's a // b for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}
