//go:build linux

package bench

import (
	"os"
	"syscall"
)

// PeakRSS is the process's maximum resident set size so far, in bytes
// (getrusage's ru_maxrss, which Linux reports in KiB).
func PeakRSS() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return int64(ru.Maxrss) * 1024, true
}

// ResetPeakRSS starts PeakRSS afresh from the current resident set, for a
// bench that must not count a step it does not measure (Linux: writing 5
// to /proc/self/clear_refs resets the high-water mark getrusage reports).
func ResetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
