package clip

import "github.com/goclip/goclip/internal/idle"

// workspace is the activation memory of one forward pass, kept between
// passes so that a steady stream of batches allocates nothing. Fresh
// memory is expensive where it matters: every new page is a fault the
// kernel zero-fills (on a virtual machine several microseconds each), and
// a ViT-B/32 batch of 8 needs about 20 MB of activations.
//
// A pass reserves what it needs, then carves its buffers from one slab
// with floats, in order: the first pass faults in each page once, and a
// pass that carves more than it reserved still gets its buffers (the slab
// grows at reset). A workspace serves one pass at a time; workspaces are
// handed out by a workspaces pool.
type workspace struct {
	slab []float32
	used int // floats handed out by this pass
	more int // floats handed out beyond the slab (allocated apart)
}

// reserve makes the slab hold at least n floats. A pass calls it before
// its first floats, with all it will carve.
func (w *workspace) reserve(n int) {
	if w.used == 0 && w.more == 0 && n > len(w.slab) {
		w.slab = make([]float32, n)
	}
}

// floats returns n floats for this pass. They hold whatever the last pass
// left there: the caller writes every value before reading it.
func (w *workspace) floats(n int) []float32 {
	if w.used+n <= len(w.slab) {
		s := w.slab[w.used : w.used+n : w.used+n]
		w.used += n
		return s
	}
	w.more += n
	return make([]float32, n)
}

// reset ends a pass: the next one starts at the beginning of the slab,
// grown to hold everything this pass needed.
func (w *workspace) reset() {
	if need := w.used + w.more; need > len(w.slab) {
		w.slab = make([]float32, need)
	}
	w.used, w.more = 0, 0
}

// workspaces hands out workspaces to concurrent passes and keeps them for
// the model's life (not a sync.Pool: see internal/idle): a steady stream
// of batches faults its activations in once. put ends the pass.
type workspaces struct{ idle.List[workspace] }

func (ws *workspaces) get() *workspace { return ws.Get() }

func (ws *workspaces) put(w *workspace) {
	w.reset()
	ws.Put(w)
}
