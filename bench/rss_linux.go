//go:build linux

package bench

import "syscall"

// PeakRSS is the process's maximum resident set size so far, in bytes
// (getrusage's ru_maxrss, which Linux reports in KiB).
func PeakRSS() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return int64(ru.Maxrss) * 1024, true
}
