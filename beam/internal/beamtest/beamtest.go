// Package beamtest is the test set-up goclip-beam's packages share.
package beamtest

import (
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// Main is a TestMain: it runs the tests on Prism, with the model caches
// (weight hashes, packed towers) in a folder of the tests' own, not the
// user's (on Linux, where XDG_CACHE_HOME places it), as the goclip
// command's tests do, and the temporary files there too (Beam's loopback
// mode leaves one per pipeline run: see goclip-beam's main); it removes the
// folder and exits with the tests' code.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "goclip-beam-test-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	os.Setenv("TMPDIR", dir)
	code := ptest.MainRetWithDefault(m, "prism")
	os.RemoveAll(dir)
	os.Exit(code)
}
