package jpeg

// finishBuffered turns the whole-image coefficient arrays of a buffered
// (progressive or multi-scan) image into sample planes, applying libjpeg's
// block smoothing when it would.
func (d *decoder) finishBuffered() {
	smooth := d.smoothingOK()
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		c.plane = d.buf.plane(i, c.stride*c.pbh*8)
		if smooth {
			d.smoothComponent(c)
			continue
		}
		for by := 0; by < c.bh; by++ {
			for bx := 0; bx < c.bw; bx++ {
				b := (*[64]int16)(c.coefs[(by*c.pbw+bx)*64:])
				idctIslow(b, &c.q, c.plane[by*8*c.stride+bx*8:], c.stride)
			}
		}
	}
}
