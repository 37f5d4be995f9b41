package jpeg

import (
	"bytes"
	"math/rand/v2"
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

// The upsampler's rows of fancy upsampling by 2 across (SIMD middle, Go
// edges) give the samples of jdsample.c's h2v2_fancy_upsample and
// h2v1_fancy_upsample, written out here as libjpeg does, for every row
// width from 3 to 100, on random and extreme samples.
func TestH2Fancy(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for n := 3; n <= 100; n++ {
		for trial := range 8 {
			in0, in1 := make([]uint8, n), make([]uint8, n)
			for i := range n {
				in0[i], in1[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
				switch trial % 4 {
				case 1:
					in0[i], in1[i] = 255, 255
				case 2:
					in0[i], in1[i] = uint8(r.IntN(2)*255), uint8(r.IntN(2)*255)
				}
			}
			h2v1 := trial >= 4
			want := make([]uint8, 2*n)
			if h2v1 {
				in1 = in0
				want[0] = in0[0]
				want[1] = uint8((int32(in0[0])*3 + int32(in0[1]) + 2) >> 2)
				for i := 1; i < n-1; i++ {
					v := int32(in0[i]) * 3
					want[2*i] = uint8((v + int32(in0[i-1]) + 1) >> 2)
					want[2*i+1] = uint8((v + int32(in0[i+1]) + 2) >> 2)
				}
				want[2*n-2] = uint8((int32(in0[n-1])*3 + int32(in0[n-2]) + 1) >> 2)
				want[2*n-1] = in0[n-1]
			} else {
				cs := make([]int32, n)
				for i := range cs {
					cs[i] = int32(in0[i])*3 + int32(in1[i])
				}
				want[0] = uint8((cs[0]*4 + 8) >> 4)
				want[1] = uint8((cs[0]*3 + cs[1] + 7) >> 4)
				for i := 1; i < n-1; i++ {
					want[2*i] = uint8((cs[i]*3 + cs[i-1] + 8) >> 4)
					want[2*i+1] = uint8((cs[i]*3 + cs[i+1] + 7) >> 4)
				}
				want[2*n-2] = uint8((cs[n-1]*3 + cs[n-2] + 8) >> 4)
				want[2*n-1] = uint8((cs[n-1]*4 + 7) >> 4)
			}

			u := &upsampler{buf: bytes.Repeat([]uint8{0xa5}, 2*n+8)}
			if h2v1 {
				u.h2Fancy(in0, in0, 4, 8)
			} else {
				u.h2Fancy(in0, in1, 8, 7)
			}
			if !bytes.Equal(u.buf[:2*n], want) {
				t.Fatalf("n=%d trial %d:\n got %v\nwant %v", n, trial, u.buf[:2*n], want)
			}
			if !bytes.Equal(u.buf[2*n:], bytes.Repeat([]uint8{0xa5}, 8)) {
				t.Fatalf("n=%d: bytes past the row written", n)
			}
		}
	}
}
