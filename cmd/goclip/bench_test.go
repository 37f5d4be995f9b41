package main

import (
	"encoding/json"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/goclip/goclip/bench"
	"github.com/goclip/goclip/tensor"
)

// TestBenchJSON runs the whole bench on the kit's tiny model, as briefly as
// it allows, and checks that every figure is there and sane.
func TestBenchJSON(t *testing.T) {
	out, errs, code := goclip(t, "bench", "--model", kit+"models/tiny-synth", "--batch", "1,2", "--batch", "3",
		"--threads", "2", "--duration", "1ms", "--images", "5", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r bench.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.LoadMs <= 0 || r.Threads != 2 || r.Synthetic || r.Machine.Cores != runtime.NumCPU() || r.Machine.CPU == "" || r.Machine.Kernels != tensor.KernelName() {
		t.Errorf("header: %+v", r)
	}
	if len(r.Image) != 3 {
		t.Fatalf("image points %+v, want batches 1, 2, 3", r.Image)
	}
	for i, p := range r.Image {
		if p.Batch != i+1 || p.Items != i+1 || p.Runs < 3 || p.MinMs <= 0 || p.MinMs > p.MedianMs || p.GFLOPS <= 0 {
			t.Errorf("image point %d: %+v", i, p)
		}
	}
	for name, tm := range map[string]*bench.Timing{"text": r.Text, "preprocess": r.Preprocess} {
		if tm == nil || tm.Runs < 3 || tm.MinMs <= 0 || tm.MinMs > tm.MedianMs {
			t.Errorf("%s: %+v", name, tm)
		}
	}
	if r.Text != nil && r.Text.Items != 8 {
		t.Errorf("text tower ran %d prompts, want the write-up's 8", r.Text.Items)
	}
	if x := r.EndToEnd; x == nil || x.Images != 5 || x.ImagesPerSec <= 0 || x.EncodeShare <= 0 || x.EncodeShare > 1 {
		t.Errorf("end to end: %+v", x)
	}
	if (r.PeakRSSBytes != nil) != (runtime.GOOS == "linux") || r.PeakRSSBytes != nil && *r.PeakRSSBytes < 1<<20 {
		t.Errorf("peak RSS %v on %s", r.PeakRSSBytes, runtime.GOOS)
	}
	if (r.LoadRSSBytes != nil) != (r.PeakRSSBytes != nil) || r.LoadRSSBytes != nil && *r.LoadRSSBytes > *r.PeakRSSBytes {
		t.Errorf("load peak RSS %v, whole peak %v", r.LoadRSSBytes, r.PeakRSSBytes)
	}
	if runtime.GOOS == "linux" && (len(strings.Fields(r.Machine.LoadAvgStart)) != 3 || len(strings.Fields(r.Machine.LoadAvgEnd)) != 3) {
		t.Errorf("load averages %q, %q", r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd)
	}
	if r.GFLOPPerImg <= 0 {
		t.Errorf("GFLOP per image %v", r.GFLOPPerImg)
	}
}

func TestBenchTextParts(t *testing.T) {
	out, errs, code := goclip(t, "bench", "--model", kit+"models/tiny-synth", "--batch", "2", "--duration", "1ms", "--parts", "image,text")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !regexp.MustCompile(`(?m)^image tower\s+2\s+\d+\s`).MatchString(out) {
		t.Errorf("no image tower line for batch 2:\n%s", out)
	}
	for _, want := range []string{"load average", "text tower", "median ms/item", "peak RSS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"preprocess", "end to end"} {
		if strings.Contains(out, not) {
			t.Errorf("--parts image,text measured %s:\n%s", not, out)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--synthetic", "--model", "x"},
		{"--batch", "0"},
		{"--batch", "1,x"},
		{"--threads", "0"},
		{"--parts", "image,gpu"},
		{"extra"},
	} {
		_, errs, code := goclip(t, append([]string{"bench"}, args...)...)
		if code != 2 || !strings.Contains(errs, "goclip bench") && !strings.Contains(errs, "Usage") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}

func TestParseBatches(t *testing.T) {
	got, err := parseBatches(nil)
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 8 || got[2] != 32 {
		t.Errorf("default: %v, %v", got, err)
	}
	got, err = parseBatches([]string{"4, 16", "2"})
	if err != nil || len(got) != 3 || got[0] != 4 || got[1] != 16 || got[2] != 2 {
		t.Errorf("lists: %v, %v", got, err)
	}
}
