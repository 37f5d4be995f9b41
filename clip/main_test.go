package clip_test

import (
	"flag"
	"os"
	"runtime/debug"
	"testing"
)

// TestMain keeps the full-size tests' garbage in check: they build several
// 600 MB ViT-B/32s one after another, and with the default GOGC the heap
// grows to twice what is live before a collection. A soft limit of 1.5 GiB
// (unless GOMEMLIMIT says otherwise) brings the suite's peak RSS from
// 3.5 GB to about 1.8 GB without slowing it down. Benchmarks run without
// it: the collections it forces would be timed.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("GOMEMLIMIT") == "" && flag.Lookup("test.bench").Value.String() == "" {
		debug.SetMemoryLimit(1536 << 20)
	}
	os.Exit(m.Run())
}
