//go:build unix

package tensor

import "syscall"

// cpuSeconds is the user+system CPU time this process has used, so that
// benchmarks can report throughput per CPU-second, which other processes
// competing for the cores disturb less than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
