package tensor

import (
	"context"
	"sync"
	"time"
)

// FMAPeak measures the float32 rate this machine reaches with the kernel
// set in use at the very most: threads goroutines each run a loop of
// nothing but independent fused multiply-adds of the set's vector width
// (AVX2: 8 lanes, AVX-512: 16), after a short warm-up, in peakWindows
// windows that together last about d; it returns the highest window's
// GFLOP/s (all goroutines together). Other work on a shared machine can
// only lower a window's rate, so the best one is the nearest to the
// ceiling (measured as one 1 s window, two goclip bench runs a minute
// apart on the Zen 5 guest gave the AVX2 peak as 195 and 224 GFLOP/s,
// and the tower at batch 8 as 105% of the first). No GEMM can beat it, so a
// benchmark's GFLOP/s over it says how much of the machine the kernels
// use, wherever they run. It returns 0 when the set has no such loop (the
// portable Go kernels), and ctx's error if ctx ends first.
func FMAPeak(ctx context.Context, threads int, d time.Duration) (float64, error) {
	k := defaultKernels()
	if k.peak == nil || threads < 1 {
		return 0, nil
	}
	k.peak(peakChunk)
	best := 0.0
	for range peakWindows {
		g, err := fmaWindow(ctx, k, threads, d/peakWindows)
		if err != nil {
			return 0, err
		}
		best = max(best, g)
	}
	return best, nil
}

const (
	peakWindows = 5
	peakChunk   = 1 << 16 // iterations per call: 786K FMAs, a fraction of a millisecond
)

// fmaWindow runs k's peak loop on threads goroutines for about d (at
// least one call each) and returns their GFLOP/s together.
func fmaWindow(ctx context.Context, k *kernels, threads int, d time.Duration) (float64, error) {
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
				k.peak(peakChunk)
				iters[t] += peakChunk
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
