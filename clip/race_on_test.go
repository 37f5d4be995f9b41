//go:build race

package clip_test

// raceEnabled skips what the race detector changes: it makes sync.Pool
// drop a share of what is put back, so warm passes allocate again.
const raceEnabled = true
