package clip_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
)

// TestReleaseTextPages: once the text tower is mapped from the pack cache,
// ReleaseTextPages takes its file's pages out of the resident set (as
// /proc/self/smaps counts them), and texts encode to the same bits after,
// the pages coming back on demand; after Close it does nothing.
func TestReleaseTextPages(t *testing.T) {
	for _, prec := range []clip.Precision{clip.FP32, clip.Int8} {
		t.Run(string(prec), func(t *testing.T) {
			opt := clip.Options{Precision: prec, PackCache: t.TempDir()}
			m, err := clip.Load(kit+"models/tiny-synth", opt)
			if err != nil {
				t.Fatal(err)
			}
			m.Close() // packs and saves the towers
			text := towerFile(t, opt.PackCache, "text", prec)

			if m, err = clip.Load(kit+"models/tiny-synth", opt); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			_, want := encodeSome(t, m, 3)
			if rss := mappedRSS(t, text); rss == 0 {
				t.Fatalf("%s: not resident after encoding texts: is it mapped?", text)
			}
			if err := m.ReleaseTextPages(); err != nil {
				t.Fatal(err)
			}
			if rss := mappedRSS(t, text); rss != 0 {
				t.Errorf("%s: %d kB resident after ReleaseTextPages, want 0", text, rss)
			}
			if _, got := encodeSome(t, m, 3); maxDiff(got, want) != 0 {
				t.Error("texts encode differently after ReleaseTextPages")
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.ReleaseTextPages(); err != nil {
				t.Errorf("after Close: %v, want nil", err)
			}
		})
	}
}

// mappedRSS sums the resident kB of this process's mappings of path
// (/proc/self/smaps).
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			in = len(fields) >= 6 && fields[5] == path // a mapping's first line
		case in && len(fields) == 3 && fields[0] == "Rss:":
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			total += kb
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
