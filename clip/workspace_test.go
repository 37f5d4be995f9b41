package clip

import "testing"

// A workspace's buffers within a pass never overlap; after a pass that
// outgrew it, the slab holds the whole of the next such pass.
func TestWorkspace(t *testing.T) {
	var w workspace
	sizes := []int{5, 0, 7, 3}
	for pass := 0; pass < 3; pass++ {
		var bufs [][]float32
		for i, n := range sizes {
			b := w.floats(n)
			if len(b) != n || cap(b) != n {
				t.Fatalf("pass %d: floats(%d) has len %d cap %d", pass, n, len(b), cap(b))
			}
			for j := range b {
				b[j] = float32(i)
			}
			bufs = append(bufs, b)
		}
		for i, b := range bufs {
			for _, v := range b {
				if v != float32(i) {
					t.Fatalf("pass %d: buffer %d was overwritten by another", pass, i)
				}
			}
		}
		if pass > 0 && w.more != 0 {
			t.Errorf("pass %d: %d floats allocated beyond the slab", pass, w.more)
		}
		w.reset()
		if len(w.slab) != 15 {
			t.Errorf("pass %d: slab of %d floats, want 15", pass, len(w.slab))
		}
	}
}
