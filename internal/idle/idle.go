// Package idle keeps working memory between the calls that use it.
//
// A List holds the values its users put back and hands them out again,
// for as long as the List lives. It is what sync.Pool is not: a
// sync.Pool drops what it holds at every other garbage collection, so
// memory worth keeping (a model's activations, a decoder's planes) would
// be allocated, and its pages faulted in, afresh after each; on a virtual
// machine a fresh page costs microseconds.
package idle

import "sync"

// A List is a stack of idle *T, safe for concurrent use. It grows to the
// most values that were ever out at once: its users bound that.
type List[T any] struct {
	mu   sync.Mutex
	idle []*T
}

// Get returns an idle value, or a new zero one when none is idle.
func (l *List[T]) Get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.idle); n > 0 {
		v := l.idle[n-1]
		l.idle[n-1] = nil
		l.idle = l.idle[:n-1]
		return v
	}
	return new(T)
}

// Put makes v idle: a later Get may return it.
func (l *List[T]) Put(v *T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.idle = append(l.idle, v)
}
