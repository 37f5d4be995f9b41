package imageproc

import (
	"fmt"
	"math"
)

// Filter is a resampling filter. The values are PIL's (Image.Resampling), which
// is also how preprocessor_config.json's "resample" field spells them.
type Filter int

// The PIL resampling filters. Resize supports all of them except Nearest,
// which Pillow implements with a different (affine) code path.
const (
	Nearest  Filter = 0
	Lanczos  Filter = 1
	Bilinear Filter = 2
	Bicubic  Filter = 3
	Box      Filter = 4
	Hamming  Filter = 5
)

// String returns PIL's name for the filter.
func (f Filter) String() string {
	switch f {
	case Nearest:
		return "nearest"
	case Lanczos:
		return "lanczos"
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	case Box:
		return "box"
	case Hamming:
		return "hamming"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// filterSpec is a convolution kernel and its support (half-width) at scale 1,
// as in Pillow's struct filter.
type filterSpec struct {
	fn      func(x float64) float64
	support float64
}

// spec returns the kernel of f, or an error for filters Resize cannot apply.
func (f Filter) spec() (filterSpec, error) {
	switch f {
	case Lanczos:
		return filterSpec{lanczosFilter, 3}, nil
	case Bilinear:
		return filterSpec{bilinearFilter, 1}, nil
	case Bicubic:
		return filterSpec{bicubicFilter, 2}, nil
	case Box:
		return filterSpec{boxFilter, 0.5}, nil
	case Hamming:
		return filterSpec{hammingFilter, 1}, nil
	}
	return filterSpec{}, fmt.Errorf("imageproc: unsupported resampling filter %v", f)
}

// The kernels below follow Pillow's Resample.c operation by operation. The
// explicit float64 conversions forbid the compiler from fusing a multiply
// and an add into one FMA, which would change the last bit of a weight
// (C compilers for x86-64 do not fuse either).

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// hammingFilter uses float32 constants, as Pillow's C source does (0.54f).
func hammingFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x = float64(x * math.Pi)
	w := float64(float32(0.54)) + float64(float64(float32(0.46))*math.Cos(x))
	return float64(math.Sin(x)/x) * w
}

// bicubicFilter is the Keys cubic convolution kernel with a = -0.5.
func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2)*x) - (a + 3)
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64((x-5)*x) + 8
		t = float64(t*x) - 4
		return t * a
	}
	return 0
}

func sincFilter(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = float64(x * math.Pi)
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if -3 <= x && x < 3 {
		return float64(sincFilter(x) * sincFilter(x/3))
	}
	return 0
}
