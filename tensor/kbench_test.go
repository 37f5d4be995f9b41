package tensor

import "testing"

func BenchmarkTile(b *testing.B) {
	for _, k := range []int{64, 256, 768} {
		b.Run("k="+itoa(k), func(b *testing.B) {
			a := make([]float32, k*mr)
			bb := make([]float32, k*nr)
			c := make([]float32, mr*nr)
			for b.Loop() {
				bestKernels.tile(k, a, bb, c, nr, mr, true)
			}
			b.ReportMetric(2*mr*nr*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func itoa(i int) string { return string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)) }
