//go:build race

package tensor

// raceEnabled makes the heavier tests sample fewer shapes: the race
// detector slows the float64 references down a lot.
const raceEnabled = true
