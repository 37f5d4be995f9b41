//go:build unix

package jpeg

import (
	"bytes"
	stdjpeg "image/jpeg"
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPUTime reports CPU time per decode (less sensitive to machine load
// than wall time). Run with -run CPUTime -v -cputime.
func TestCPUTime(t *testing.T) {
	if os.Getenv("JPEG_CPUTIME") == "" {
		t.Skip("set JPEG_CPUTIME=1")
	}
	for _, f := range []string{"chelsea_512.jpg", "chelsea_progressive.jpg", "coffee_444.jpg"} {
		data, _ := os.ReadFile(kit + f)
		for _, std := range []bool{false, true} {
			const n = 200
			best := time.Hour
			for rep := 0; rep < 3; rep++ {
				t0 := cpuNow()
				for i := 0; i < n; i++ {
					if std {
						stdjpeg.Decode(bytes.NewReader(data))
					} else {
						DecodeRGBBytes(data)
					}
				}
				best = min(best, (cpuNow()-t0)/n)
			}
			t.Logf("%-25s std=%v  %v CPU/decode", f, std, best)
		}
	}
}
