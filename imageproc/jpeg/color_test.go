package jpeg

import (
	"bytes"
	"testing"
)

// yccRow with its SIMD part gives yccRowGo's bytes for every (Y, Cb, Cr)
// triple, and writes nothing past its row whatever the row's length.
func TestYccRowSIMD(t *testing.T) {
	const n = 1 << 16 // every (Cb, Cr) pair once per row
	yr, cb, cr := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	for i := range n {
		cb[i], cr[i] = uint8(i), uint8(i>>8)
	}
	want, got := make([]uint8, 3*n), make([]uint8, 3*n)
	if yccRowSIMD(got, yr, cb, cr) == 0 {
		t.Skip("no SIMD colour conversion on this CPU")
	}
	for y := range 256 {
		for i := range yr {
			yr[i] = uint8(y + i)
		}
		yccRowGo(want, yr, cb, cr, 3)
		yccRow(got, yr, cb, cr, 3)
		if !bytes.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					p := i / 3
					t.Fatalf("Y=%d Cb=%d Cr=%d: byte %d is %d, want %d", yr[p], cb[p], cr[p], i%3, got[i], want[i])
				}
			}
		}
	}
	for w := range 40 {
		buf := bytes.Repeat([]uint8{0xa5}, 3*w+32)
		yccRow(buf[:3*w], yr[:w], cb[:w], cr[:w], 3)
		yccRowGo(want[:3*w], yr[:w], cb[:w], cr[:w], 3)
		if !bytes.Equal(buf[:3*w], want[:3*w]) {
			t.Fatalf("width %d: row differs", w)
		}
		for i, v := range buf[3*w:] {
			if v != 0xa5 {
				t.Fatalf("width %d: byte %d past the row written", w, i)
			}
		}
	}
}
