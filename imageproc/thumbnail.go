package imageproc

import (
	"bytes"
	"context"
	"image/jpeg"
)

// Thumbnail reads the image file path within the pipeline's limits and
// returns it as a JPEG (quality 80) whose longest side is at most side
// pixels, downscaled with the bicubic filter: what report pages and search
// results show.
func (p *Pipeline) Thumbnail(ctx context.Context, path string, side int) ([]byte, error) {
	in, err := p.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = p.Image(ctx, in, func(img *RGB) error {
		w, h := img.W, img.H
		if w >= h && w > side {
			w, h = side, max(1, h*side/w)
		} else if h > w && h > side {
			w, h = max(1, w*side/h), side
		}
		if w != img.W || h != img.H {
			var err error
			if img, err = Resize(img, w, h, Bicubic); err != nil {
				return err
			}
		}
		return jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
