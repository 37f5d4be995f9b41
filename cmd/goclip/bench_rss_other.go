//go:build !linux

package main

// peakRSS is not measured outside Linux: getrusage's units and meaning
// differ between systems, and Windows has none.
func peakRSS() (int64, bool) { return 0, false }
