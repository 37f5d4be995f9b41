package jpeg

// Block smoothing (libjpeg-turbo 2.1 jdcoefct.c decompress_smooth_data).
//
// When a progressive image leaves some of the lowest AC coefficients (or
// the DC bits) not fully refined, libjpeg estimates the missing
// coefficients of each block from the DC values of its 5x5 neighbourhood
// before the IDCT. PIL gets those smoothed pixels, so the decoder does the
// same. A fully refined progressive image is not smoothed.

// Positions (natural order) of the coefficients block smoothing uses.
const (
	q01Pos = 1
	q10Pos = 8
	q20Pos = 16
	q11Pos = 9
	q02Pos = 2
	q03Pos = 3
	q12Pos = 10
	q21Pos = 17
	q30Pos = 24
)

// savedCoefs is libjpeg's SAVED_COEFS: DC plus the first 9 AC coefficients.
const savedCoefs = 10

// smoothingOK is libjpeg's smoothing_ok for the final output pass.
func (d *decoder) smoothingOK() bool {
	if !d.progressive {
		return false
	}
	useful := false
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		if !c.hasQ {
			return false
		}
		q := &c.q
		if q[0] == 0 || q[q01Pos] == 0 || q[q10Pos] == 0 || q[q20Pos] == 0 ||
			q[q11Pos] == 0 || q[q02Pos] == 0 || q[q03Pos] == 0 ||
			q[q12Pos] == 0 || q[q21Pos] == 0 || q[q30Pos] == 0 {
			return false
		}
		if c.coefBits[0] < 0 {
			return false
		}
		for k := 1; k < savedCoefs; k++ {
			if c.coefBits[k] != 0 {
				useful = true
			}
		}
	}
	return useful
}

// smoothPred estimates one coefficient: the rounded quotient of num by
// q<<8, limited to the bits not yet coded (Al) when Al > 0.
func smoothPred(num, q int64, al int) int16 {
	neg := num < 0
	if neg {
		num = -num
	}
	pred := ((q << 7) + num) / (q << 8)
	if al > 0 && pred >= 1<<al {
		pred = 1<<al - 1
	}
	if neg {
		pred = -pred
	}
	return int16(pred)
}

// smoothComponent applies block smoothing and the IDCT to every block of c.
func (d *decoder) smoothComponent(c *component) {
	// coef_bits of the latest scan, or of the one before it for iMCU rows
	// past the last MCU decoded with real data.
	bitsFor := func(imcuRow int) *[64]int {
		if imcuRow > d.lastGoodIMCURow {
			return &c.prevCoefBits
		}
		return &c.coefBits
	}
	q := &c.q
	Q00, Q01, Q10 := int64(q[0]), int64(q[q01Pos]), int64(q[q10Pos])
	Q20, Q11, Q02 := int64(q[q20Pos]), int64(q[q11Pos]), int64(q[q02Pos])
	Q03, Q12, Q21, Q30 := int64(q[q03Pos]), int64(q[q12Pos]), int64(q[q21Pos]), int64(q[q30Pos])
	lastIMCU := d.mcusY - 1
	block := func(bx, by int) *[64]int16 {
		return (*[64]int16)(c.coefs[(by*c.pbw+bx)*64:])
	}
	var ws [64]int16
	for by := 0; by < c.bh; by++ {
		imcu := by / c.v
		br := by % c.v
		blockRows := c.v
		if imcu == lastIMCU {
			blockRows = c.bh % c.v
			if blockRows == 0 {
				blockRows = c.v
			}
		}
		cb := bitsFor(imcu)
		changeDC := true
		for k := 1; k <= 9; k++ {
			if cb[k] != -1 {
				changeDC = false
			}
		}
		// Neighbouring block rows, with libjpeg's edge rules.
		rows := [5]int{by, by, by, by, by}
		if br > 0 || imcu > 0 {
			rows[1] = by - 1
		}
		if br > 1 || imcu > 1 {
			rows[0] = by - 2
		} else {
			rows[0] = rows[1]
		}
		if br < blockRows-1 || imcu < lastIMCU {
			rows[3] = by + 1
		}
		if br < blockRows-2 || imcu+1 < lastIMCU {
			rows[4] = by + 2
		} else {
			rows[4] = rows[3]
		}
		var dc [5][5]int64
		for i := 0; i < 5; i++ {
			v := int64(block(0, rows[i])[0])
			dc[i] = [5]int64{v, v, v, v, v}
		}
		last := c.bw - 1
		for bx := 0; bx <= last; bx++ {
			ws = *block(bx, by)
			if bx == 0 && bx < last {
				for i := 0; i < 5; i++ {
					dc[i][3] = int64(block(bx+1, rows[i])[0])
				}
			}
			if bx+1 < last {
				for i := 0; i < 5; i++ {
					dc[i][4] = int64(block(bx+2, rows[i])[0])
				}
			}
			// DC01..DC25 of jdcoefct.c, row-major over the 5x5 window.
			DC01, DC02, DC03, DC04, DC05 := dc[0][0], dc[0][1], dc[0][2], dc[0][3], dc[0][4]
			DC06, DC07, DC08, DC09, DC10 := dc[1][0], dc[1][1], dc[1][2], dc[1][3], dc[1][4]
			DC11, DC12, DC13, DC14, DC15 := dc[2][0], dc[2][1], dc[2][2], dc[2][3], dc[2][4]
			DC16, DC17, DC18, DC19, DC20 := dc[3][0], dc[3][1], dc[3][2], dc[3][3], dc[3][4]
			DC21, DC22, DC23, DC24, DC25 := dc[4][0], dc[4][1], dc[4][2], dc[4][3], dc[4][4]

			if al := cb[1]; al != 0 && ws[1] == 0 {
				var num int64
				if changeDC {
					num = -DC01 - DC02 + DC04 + DC05 - 3*DC06 + 13*DC07 -
						13*DC09 + 3*DC10 - 3*DC11 + 38*DC12 - 38*DC14 +
						3*DC15 - 3*DC16 + 13*DC17 - 13*DC19 + 3*DC20 -
						DC21 - DC22 + DC24 + DC25
				} else {
					num = -7*DC11 + 50*DC12 - 50*DC14 + 7*DC15
				}
				ws[1] = smoothPred(Q00*num, Q01, al)
			}
			if al := cb[2]; al != 0 && ws[8] == 0 {
				var num int64
				if changeDC {
					num = -DC01 - 3*DC02 - 3*DC03 - 3*DC04 - DC05 - DC06 +
						13*DC07 + 38*DC08 + 13*DC09 - DC10 + DC16 -
						13*DC17 - 38*DC18 - 13*DC19 + DC20 + DC21 +
						3*DC22 + 3*DC23 + 3*DC24 + DC25
				} else {
					num = -7*DC03 + 50*DC08 - 50*DC18 + 7*DC23
				}
				ws[8] = smoothPred(Q00*num, Q10, al)
			}
			if al := cb[3]; al != 0 && ws[16] == 0 {
				var num int64
				if changeDC {
					num = DC03 + 2*DC07 + 7*DC08 + 2*DC09 - 5*DC12 - 14*DC13 -
						5*DC14 + 2*DC17 + 7*DC18 + 2*DC19 + DC23
				} else {
					num = -DC03 + 13*DC08 - 24*DC13 + 13*DC18 - DC23
				}
				ws[16] = smoothPred(Q00*num, Q20, al)
			}
			if al := cb[4]; al != 0 && ws[9] == 0 {
				var num int64
				if changeDC {
					num = -DC01 + DC05 + 9*DC07 - 9*DC09 - 9*DC17 +
						9*DC19 + DC21 - DC25
				} else {
					num = DC10 + DC16 - 10*DC17 + 10*DC19 - DC02 - DC20 + DC22 -
						DC24 + DC04 - DC06 + 10*DC07 - 10*DC09
				}
				ws[9] = smoothPred(Q00*num, Q11, al)
			}
			if al := cb[5]; al != 0 && ws[2] == 0 {
				var num int64
				if changeDC {
					num = 2*DC07 - 5*DC08 + 2*DC09 + DC11 + 7*DC12 - 14*DC13 +
						7*DC14 + DC15 + 2*DC17 - 5*DC18 + 2*DC19
				} else {
					num = -DC11 + 13*DC12 - 24*DC13 + 13*DC14 - DC15
				}
				ws[2] = smoothPred(Q00*num, Q02, al)
			}
			if changeDC {
				if al := cb[6]; al != 0 && ws[3] == 0 {
					ws[3] = smoothPred(Q00*(DC07-DC09+2*DC12-2*DC14+DC17-DC19), Q03, al)
				}
				if al := cb[7]; al != 0 && ws[10] == 0 {
					ws[10] = smoothPred(Q00*(DC07-3*DC08+DC09-DC17+3*DC18-DC19), Q12, al)
				}
				if al := cb[8]; al != 0 && ws[17] == 0 {
					ws[17] = smoothPred(Q00*(DC07-DC09-3*DC12+3*DC14+DC17-DC19), Q21, al)
				}
				if al := cb[9]; al != 0 && ws[24] == 0 {
					ws[24] = smoothPred(Q00*(DC07+2*DC08+DC09-DC17-2*DC18-DC19), Q30, al)
				}
				num := Q00 * (-2*DC01 - 6*DC02 - 8*DC03 - 6*DC04 - 2*DC05 -
					6*DC06 + 6*DC07 + 42*DC08 + 6*DC09 - 6*DC10 -
					8*DC11 + 42*DC12 + 152*DC13 + 42*DC14 - 8*DC15 -
					6*DC16 + 6*DC17 + 42*DC18 + 6*DC19 - 6*DC20 -
					2*DC21 - 6*DC22 - 8*DC23 - 6*DC24 - 2*DC25)
				ws[0] = smoothPred(num, Q00, 0)
			}
			idctIslow(&ws, q, c.plane[by*8*c.stride+bx*8:], c.stride)
			for i := 0; i < 5; i++ {
				dc[i][0], dc[i][1], dc[i][2], dc[i][3] = dc[i][1], dc[i][2], dc[i][3], dc[i][4]
			}
		}
	}
}
