package tensor

import (
	"context"
	"sync"
	"time"
)

// FMAPeak measures the float32 rate this machine reaches with the kernel
// set in use at the very most: threads goroutines each run a loop of
// nothing but independent fused multiply-adds of the set's vector width
// (AVX2: 8 lanes, AVX-512: 16) for about d, after a short warm-up; it
// returns their GFLOP/s together. No GEMM can beat it, so a benchmark's
// GFLOP/s over it says how much of the machine the kernels use, wherever
// they run. It returns 0 when the set has no such loop (the portable Go
// kernels), and ctx's error if ctx ends first.
func FMAPeak(ctx context.Context, threads int, d time.Duration) (float64, error) {
	k := defaultKernels()
	if k.peak == nil || threads < 1 {
		return 0, nil
	}
	const chunk = 1 << 16 // iterations per call: 786K FMAs, a fraction of a millisecond
	k.peak(chunk)
	start := time.Now()
	deadline := start.Add(d)
	iters := make([]int64, threads)
	var wg sync.WaitGroup
	for t := range iters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n == 0 || time.Now().Before(deadline); n++ {
				if ctx.Err() != nil {
					return
				}
				k.peak(chunk)
				iters[t] += chunk
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var total int64
	for _, n := range iters {
		total += n
	}
	return float64(total) * float64(k.peakFLOP) / time.Since(start).Seconds() / 1e9, nil
}
