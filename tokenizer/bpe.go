package tokenizer

import "math"

// merge is what a pair of adjacent symbols turns into: the merged symbol's id and
// the merge's rank (its line in the merges file; lower merges first).
type merge struct {
	rank int32
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// heapThreshold is the word length (in bytes) above which bpe uses the
// O(n log n) heap algorithm instead of the quadratic one.
const heapThreshold = 48

// bpe appends to dst the ids of the byte-level BPE of word, whose last symbol
// carries the "</w>" end-of-word mark.
func (t *Tokenizer) bpe(dst []int32, word string) []int32 {
	start := len(dst)
	for i := 0; i < len(word); i++ {
		if i == len(word)-1 {
			dst = append(dst, t.byteEndID[word[i]])
		} else {
			dst = append(dst, t.byteID[word[i]])
		}
	}
	syms := dst[start:]
	if len(syms) > heapThreshold && t.ordered {
		return dst[:start+t.mergeHeap(syms)]
	}
	return dst[:start+t.mergeSimple(syms)]
}

// mergeSimple is the reference algorithm: repeatedly find the adjacent pair with the
// lowest rank and merge all its occurrences, left to right. It works in place and
// returns the new length.
func (t *Tokenizer) mergeSimple(w []int32) int {
	for len(w) > 1 {
		best := merge{rank: math.MaxInt32}
		var first, second int32
		for i := 0; i+1 < len(w); i++ {
			if m, ok := t.merges[pairKey(w[i], w[i+1])]; ok && m.rank < best.rank {
				best, first, second = m, w[i], w[i+1]
			}
		}
		if best.rank == math.MaxInt32 {
			break
		}
		j := 0
		for i := 0; i < len(w); j++ {
			if i+1 < len(w) && w[i] == first && w[i+1] == second {
				w[j] = best.id
				i += 2
			} else {
				w[j] = w[i]
				i++
			}
		}
		w = w[:j]
	}
	return len(w)
}

// mergeHeap gives mergeSimple's result in O(n log n) for merge tables where every
// merge's parts are made by merges of lower rank (t.ordered): then merges happen in
// rank order, and within one rank left to right, which a heap keyed by (rank,
// position) over a linked list of symbols reproduces. It works in place and
// returns the new length.
func (t *Tokenizer) mergeHeap(w []int32) int {
	n := len(w)
	next := make([]int32, n) // -1 after the last symbol
	prev := make([]int32, n) // -1 before the first
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	// pairAt returns the merge of the symbol at i with its successor.
	pairAt := func(i int32) (merge, bool) {
		j := next[i]
		if j < 0 {
			return merge{}, false
		}
		m, ok := t.merges[pairKey(w[i], w[j])]
		return m, ok
	}
	// A heap entry is rank<<32 | position. Ranks are unique to a pair, so an entry
	// is stale exactly when the pair now at its position has another rank.
	h := make(keyHeap, 0, n)
	for i := range int32(n - 1) {
		if m, ok := pairAt(i); ok {
			h = append(h, uint64(m.rank)<<32|uint64(i))
		}
	}
	h.init()
	for len(h) > 0 {
		key := h.pop()
		i := int32(uint32(key))
		if w[i] < 0 {
			continue // merged into its left neighbour
		}
		m, ok := pairAt(i)
		if !ok || m.rank != int32(key>>32) {
			continue
		}
		j := next[i]
		w[i] = m.id
		w[j] = -1 // removed; no id is negative
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if p := prev[i]; p >= 0 {
			if m, ok := pairAt(p); ok {
				h.push(uint64(m.rank)<<32 | uint64(p))
			}
		}
		if m, ok := pairAt(i); ok {
			h.push(uint64(m.rank)<<32 | uint64(i))
		}
	}
	k := 0
	for i := int32(0); i >= 0; i = next[i] {
		w[k] = w[i]
		k++
	}
	return k
}

// keyHeap is a binary min-heap of integers.
type keyHeap []uint64

func (h keyHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *keyHeap) push(k uint64) {
	*h = append(*h, k)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p] <= s[i] {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *keyHeap) pop() uint64 {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return top
}

func (h keyHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			m = r
		}
		if h[i] <= h[m] {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
