//go:build !linux

package bench

// PeakRSS is not measured outside Linux: getrusage's units and meaning
// differ between systems, and Windows has none.
func PeakRSS() (int64, bool) { return 0, false }

// ResetPeakRSS does nothing where PeakRSS is not measured.
func ResetPeakRSS() error { return nil }
