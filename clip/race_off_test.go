//go:build !race

package clip_test

const raceEnabled = false
