package idle

import (
	"runtime"
	"sync"
	"testing"
)

// What is put back is handed out again, across garbage collections, and
// never to two users at once.
func TestList(t *testing.T) {
	var l List[[]byte]
	a := l.Get()
	*a = make([]byte, 1<<20)
	l.Put(a)
	runtime.GC()
	runtime.GC()
	if b := l.Get(); b != a || len(*b) != 1<<20 {
		t.Fatal("the value put back was not handed out again after two collections")
	}
	if c := l.Get(); c == a || len(*c) != 0 {
		t.Fatal("an empty list handed out a value in use")
	}

	var wg sync.WaitGroup
	var held sync.Map
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				v := l.Get()
				if _, dup := held.LoadOrStore(v, true); dup {
					t.Error("one value handed out twice at once")
					return
				}
				held.Delete(v)
				l.Put(v)
			}
		}()
	}
	wg.Wait()
}
