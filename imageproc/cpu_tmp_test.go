package imageproc

import (
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUTmp(t *testing.T) {
	data, _ := osReadFile(kitDir + "/images/chelsea_512.jpg")
	img, _ := DecodeBytes(data, Options{})
	cfg := DefaultConfig()
	dst := make([]float32, 3*224*224)
	measure := func(name string, f func()) {
		f()
		n := 50
		c0 := cpuTime()
		for range n {
			f()
		}
		t.Logf("%-12s %v CPU/op", name, (cpuTime()-c0)/time.Duration(n))
	}
	measure("resize", func() { Resize(img, 224, 224, Bicubic) })
	measure("preprocess", func() { cfg.PreprocessInto(dst, img) })
	measure("decode", func() { DecodeBytes(data, Options{}) })
}
