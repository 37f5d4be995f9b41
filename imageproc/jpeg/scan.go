package jpeg

import "fmt"

// scan decodes one scan whose SOS header payload is seg; the entropy-coded
// data starts at d.pos.
func (d *decoder) scan(seg []byte) error {
	if len(seg) < 1 {
		return FormatError("bad SOS length")
	}
	n := int(seg[0])
	if n < 1 || n > 4 || len(seg) != 4+2*n {
		return FormatError("bad SOS length")
	}
	d.nscomp = n
	for i := 0; i < n; i++ {
		id := seg[1+2*i]
		var c *component
		for j := 0; j < d.ncomp; j++ {
			if d.comp[j].id == id {
				c = &d.comp[j]
			}
		}
		if c == nil {
			return FormatError(fmt.Sprintf("scan references unknown component id %d", id))
		}
		for j := 0; j < i; j++ {
			if d.scomp[j] == c {
				return FormatError(fmt.Sprintf("component id %d repeated in scan", id))
			}
		}
		c.dcTbl = int(seg[2+2*i] >> 4)
		c.acTbl = int(seg[2+2*i] & 15)
		d.scomp[i] = c
	}
	p := 1 + 2*n
	d.ss, d.se = int(seg[p]), int(seg[p+1])
	d.ah, d.al = int(seg[p+2]>>4), int(seg[p+2]&15)

	if n > 1 {
		blocks := 0
		for i := 0; i < n; i++ {
			blocks += d.scomp[i].h * d.scomp[i].v
		}
		if blocks > maxBlocksInMCU {
			return FormatError("too many blocks in MCU")
		}
	}

	if !d.sawScan {
		d.sawScan = true
		d.buffered = d.progressive || n < d.ncomp
		for i := 0; i < d.ncomp; i++ {
			c := &d.comp[i]
			if d.buffered {
				c.coefs = d.buf.coefs(i, c.pbw*c.pbh*64)
			} else {
				c.plane = d.buf.plane(i, c.stride*c.pbh*8)
			}
		}
	}
	// Latch quantisation tables at each component's first scan.
	for i := 0; i < n; i++ {
		c := d.scomp[i]
		if !c.hasQ {
			if c.tq >= 4 || !d.qtOK[c.tq] {
				return FormatError(fmt.Sprintf("quantisation table %d is not defined", c.tq))
			}
			c.q = d.qt[c.tq]
			c.hasQ = true
		}
	}

	d.scanNumber++
	var err error
	if d.progressive {
		err = d.setupProgressive()
	} else {
		err = d.setupSequential()
	}
	if err != nil {
		return err
	}

	d.br.reset(d.data, d.pos)
	for i := 0; i < n; i++ {
		d.scomp[i].dcPred = 0
	}
	d.eobrun = 0
	d.insuff = false
	d.nextRST = 0
	d.restartsTo = d.restartInterval

	if err := d.decodeMCUs(); err != nil {
		return err
	}
	d.pos = d.br.pos
	if !d.buffered {
		d.done = true
		// libjpeg reads ahead for bits until it meets a marker; PIL reports
		// a truncated file when the data ends first.
		if d.br.marker == 0 {
			if _, _, ok := nextMarker(d.data, d.br.pos); !ok {
				return fmt.Errorf("%w (no marker after the image data)", ErrTruncated)
			}
		}
	}
	return nil
}

func (d *decoder) setupSequential() error {
	for i := 0; i < d.nscomp; i++ {
		c := d.scomp[i]
		if c.dcTbl >= 4 || c.acTbl >= 4 {
			return FormatError("bad Huffman table index")
		}
		if d.dc[c.dcTbl] == nil {
			d.dc[c.dcTbl] = stdHuffTable(c.dcTbl, false)
		}
		if d.ac[c.acTbl] == nil {
			d.ac[c.acTbl] = stdHuffTable(c.acTbl, true)
		}
		if d.dc[c.dcTbl] == nil || d.ac[c.acTbl] == nil {
			return FormatError("Huffman table is not defined")
		}
		if err := d.dc[c.dcTbl].err; err != nil {
			return err
		}
		if err := d.ac[c.acTbl].err; err != nil {
			return err
		}
	}
	return nil
}

// setupProgressive validates the scan parameters and updates the
// progression status like libjpeg's start_pass_phuff_decoder.
func (d *decoder) setupProgressive() error {
	isDC := d.ss == 0
	bad := false
	if isDC {
		bad = d.se != 0
	} else {
		bad = d.ss > d.se || d.se >= 64 || d.nscomp != 1
	}
	if d.ah != 0 && d.al != d.ah-1 {
		bad = true
	}
	if d.al > 13 {
		bad = true
	}
	if bad {
		return FormatError(fmt.Sprintf("invalid progressive parameters Ss=%d Se=%d Ah=%d Al=%d", d.ss, d.se, d.ah, d.al))
	}
	for i := 0; i < d.nscomp; i++ {
		c := d.scomp[i]
		for k := min(d.ss, 1); k <= max(d.se, 9); k++ {
			if d.scanNumber > 1 {
				c.prevCoefBits[k] = c.coefBits[k]
			} else {
				c.prevCoefBits[k] = 0
			}
		}
		for k := d.ss; k <= d.se; k++ {
			c.coefBits[k] = d.al
		}
		if isDC {
			if d.ah == 0 {
				if c.dcTbl >= 4 || d.dc[c.dcTbl] == nil {
					return FormatError("Huffman table is not defined")
				}
				if err := d.dc[c.dcTbl].err; err != nil {
					return err
				}
			}
		} else {
			if c.acTbl >= 4 || d.ac[c.acTbl] == nil {
				return FormatError("Huffman table is not defined")
			}
			if err := d.ac[c.acTbl].err; err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeMCUs runs the MCU loop of the current scan, handling restarts.
func (d *decoder) decodeMCUs() error {
	var mcusX, mcusY int
	if d.nscomp == 1 {
		mcusX, mcusY = d.scomp[0].bw, d.scomp[0].bh
	} else {
		mcusX, mcusY = d.mcusX, d.mcusY
	}
	var blk [64]int16
	// MCU rows per iMCU row: a single-component scan has one block per MCU.
	mcuRowsPerIMCU := 1
	if d.nscomp == 1 {
		mcuRowsPerIMCU = d.scomp[0].v
	}
	for my := 0; my < mcusY; my++ {
		for mx := 0; mx < mcusX; mx++ {
			if !d.insuff {
				d.lastGoodIMCURow = my / mcuRowsPerIMCU
			}
			if d.restartInterval > 0 {
				if d.restartsTo == 0 {
					if err := d.processRestart(); err != nil {
						return err
					}
				}
				d.restartsTo--
			}
			for i := 0; i < d.nscomp; i++ {
				c := d.scomp[i]
				h, v := c.h, c.v
				if d.nscomp == 1 {
					h, v = 1, 1
				}
				for y := 0; y < v; y++ {
					for x := 0; x < h; x++ {
						bx, by := mx*h+x, my*v+y
						if d.buffered {
							b := (*[64]int16)(c.coefs[(by*c.pbw+bx)*64:])
							d.decodeBlockBuffered(c, b)
						} else {
							if d.insuff {
								clear(blk[:])
								c.q0IDCT(bx, by)
								continue
							}
							blk = [64]int16{}
							dst := c.plane[by*8*c.stride+bx*8:]
							if d.decodeBlockSeq(c, &blk) {
								idctIslow(&blk, &c.q, dst, c.stride)
							} else {
								idctDC(blk[0], c.q[0], dst, c.stride)
							}
						}
					}
				}
			}
			if d.br.overrun() {
				if d.br.eof {
					return fmt.Errorf("%w (entropy-coded data ends early)", ErrTruncated)
				}
				d.insuff = true
			}
		}
	}
	return nil
}

// q0IDCT writes an all-zero block (mid-grey) at block (bx, by).
func (c *component) q0IDCT(bx, by int) {
	off := by*8*c.stride + bx*8
	for y := 0; y < 8; y++ {
		row := c.plane[off+y*c.stride : off+y*c.stride+8]
		for i := range row {
			row[i] = 128
		}
	}
}

// decodeBlockBuffered decodes one block of a buffered (progressive or
// multi-scan sequential) scan into b.
func (d *decoder) decodeBlockBuffered(c *component, b *[64]int16) {
	if !d.progressive {
		if d.insuff {
			return
		}
		// libjpeg's decoder writes into a zeroed block.
		*b = [64]int16{}
		d.decodeBlockSeq(c, b)
		return
	}
	switch {
	case d.ss == 0 && d.ah == 0:
		if d.insuff {
			return
		}
		s := d.br.decode(d.dc[c.dcTbl])
		c.dcPred += d.br.receiveExtend(uint(s))
		b[0] = int16(c.dcPred << d.al)
	case d.ss == 0:
		if d.br.bit() {
			b[0] |= 1 << d.al
		}
	case d.ah == 0:
		if d.insuff {
			return
		}
		d.acFirst(c, b)
	default:
		if d.insuff {
			return
		}
		d.acRefine(c, b)
	}
}

// decodeBlockSeq decodes one sequential-mode block (libjpeg jdhuff.c).
// It is the hot loop of baseline decoding, so the bit reader is used
// inline: one refill check per coefficient covers the Huffman code (at
// most 17 bits) and its extra bits (at most 15).
// It reports whether any AC coefficient may be non-zero.
func (d *decoder) decodeBlockSeq(c *component, b *[64]int16) (hasAC bool) {
	br := &d.br
	s := br.decode(d.dc[c.dcTbl])
	c.dcPred += br.receiveExtend(uint(s))
	b[0] = int16(c.dcPred)
	ac := d.ac[c.acTbl]
	acc, n := br.acc, br.n
	for k := 1; k < 64; k++ {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		look := acc >> (n - coefBits) & (1<<coefBits - 1)
		if e := ac.coef[look]; e != 0 {
			n -= uint(e & 0xFF)
			r := int(e >> 8 & 15)
			if e&(1<<12) != 0 {
				hasAC = true
				k += r
				b[zigzag[k&127]] = int16(e >> 16)
				continue
			}
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		var rs int32
		if e := ac.lookup[look>>(coefBits-lookBits)]; e != 0 {
			n -= uint(e >> 8)
			rs = int32(e & 0xFF)
		} else {
			br.acc, br.n = acc, n
			rs = br.decode(ac)
			acc, n = br.acc, br.n
		}
		r, s := int(rs>>4), uint(rs&15)
		if s != 0 {
			hasAC = true
			k += r
			n -= s
			v := int32(acc>>n) & (1<<s - 1)
			if v < 1<<(s-1) {
				v += -1<<s + 1
			}
			b[zigzag[k&127]] = int16(v)
		} else {
			if r != 15 {
				break
			}
			k += 15
		}
	}
	br.acc, br.n = acc, n
	return hasAC
}

// acFirst decodes an initial AC scan of one block (decode_mcu_AC_first).
func (d *decoder) acFirst(c *component, b *[64]int16) {
	if d.eobrun > 0 {
		d.eobrun--
		return
	}
	br := &d.br
	ac := d.ac[c.acTbl]
	for k := d.ss; k <= d.se; k++ {
		rs := br.decode(ac)
		r, s := int(rs>>4), uint(rs&15)
		if s != 0 {
			k += r
			b[zigzag[k&127]] = int16(br.receiveExtend(s) << d.al)
		} else {
			if r == 15 {
				k += 15
				continue
			}
			run := 1 << r
			if r != 0 {
				run += int(br.bits(uint(r)))
			}
			d.eobrun = run - 1
			break
		}
	}
}

// acRefine decodes an AC successive-approximation refinement scan of one
// block (decode_mcu_AC_refine).
func (d *decoder) acRefine(c *component, b *[64]int16) {
	br := &d.br
	ac := d.ac[c.acTbl]
	p1 := int16(1) << d.al
	m1 := int16(-1) << d.al
	k := d.ss
	se := d.se
	if d.eobrun == 0 {
		for ; k <= se; k++ {
			rs := br.decode(ac)
			r, s := int(rs>>4), int(rs&15)
			var val int16
			if s != 0 {
				if br.bit() {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r != 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
				break
			}
			for k <= se {
				z := zigzag[k&127]
				if b[z] != 0 {
					if br.bit() && b[z]&p1 == 0 {
						if b[z] >= 0 {
							b[z] += p1
						} else {
							b[z] += m1
						}
					}
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if s != 0 {
				b[zigzag[k&127]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			z := zigzag[k&127]
			if b[z] != 0 {
				if br.bit() && b[z]&p1 == 0 {
					if b[z] >= 0 {
						b[z] += p1
					} else {
						b[z] += m1
					}
				}
			}
		}
		d.eobrun--
	}
}

// processRestart discards buffered bits and reads the expected RSTn
// marker, resynchronising like libjpeg's jpeg_resync_to_restart when a
// different marker is found.
func (d *decoder) processRestart() error {
	br := &d.br
	marker, end := br.marker, br.mend
	if marker == 0 {
		m, e, ok := nextMarker(d.data, br.pos)
		if !ok {
			return fmt.Errorf("%w (missing restart marker)", ErrTruncated)
		}
		marker, end = m, e
	}
	markerPos := end - 2
	desired := d.nextRST
	unread := true
	if int(marker) == mRST0+desired {
		unread = false
	} else {
		for {
			action := 1
			switch {
			case marker < mSOF0:
				action = 2
			case marker < mRST0 || marker > mRST7:
				action = 3
			case int(marker) == mRST0+(desired+1)&7 || int(marker) == mRST0+(desired+2)&7:
				action = 3
			case int(marker) == mRST0+(desired-1)&7 || int(marker) == mRST0+(desired-2)&7:
				action = 2
			}
			if action == 1 {
				unread = false
				break
			}
			if action == 3 {
				break
			}
			m, e, ok := nextMarker(d.data, end)
			if !ok {
				return fmt.Errorf("%w (missing restart marker)", ErrTruncated)
			}
			marker, end = m, e
			markerPos = end - 2
		}
	}
	d.nextRST = (d.nextRST + 1) & 7
	if unread {
		br.reset(d.data, markerPos)
		br.marker, br.mend = marker, end
	} else {
		br.reset(d.data, end)
		d.insuff = false
	}
	for i := 0; i < d.nscomp; i++ {
		d.scomp[i].dcPred = 0
	}
	d.eobrun = 0
	d.restartsTo = d.restartInterval
	return nil
}
