//go:build race

package tokenizer

// raceEnabled makes the exhaustive tests sample under the race detector, which
// slows them down some fifty times.
const raceEnabled = true
