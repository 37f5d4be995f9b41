package tokenizer

import (
	"container/heap"
	"math"
)

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
// position) over a linked list of symbols reproduces.
func (t *Tokenizer) mergeHeap(w []int32) int {
	n := len(w)
	next := make([]int32, n) // -1 at the end
	prev := make([]int32, n) // -1 at the start
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	h := make(pairHeap, 0, n)
	push := func(i int32) {
		j := next[i]
		if i < 0 || j < 0 {
			return
		}
		if m, ok := t.merges[pairKey(w[i], w[j])]; ok {
			heap.Push(&h, pairItem{rank: m.rank, pos: i, left: w[i], right: w[j], id: m.id})
		}
	}
	for i := range n - 1 {
		push(int32(i))
	}
	for h.Len() > 0 {
		it := heap.Pop(&h).(pairItem)
		i := it.pos
		j := next[i]
		if w[i] != it.left || j < 0 || w[j] != it.right || w[i] < 0 {
			continue // stale: a neighbour merged since this pair was pushed
		}
		w[i] = it.id
		w[j] = -1 // removed
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	k := 0
	for i := int32(0); i >= 0; i = next[i] {
		w[k] = w[i]
		k++
	}
	return k
}

// pairItem is a candidate merge of the symbols at pos and next[pos].
type pairItem struct {
	rank, pos, left, right, id int32
}

type pairHeap []pairItem

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].pos < h[j].pos
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairItem)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
