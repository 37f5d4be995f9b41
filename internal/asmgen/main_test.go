package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The committed tensor/generated_amd64.s is what the generator writes now
// (below its first line, which records the command): run go generate in
// tensor after changing main.go.
func TestGeneratedIsCommitted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "generated_amd64.s")
	cmd := exec.Command("go", "run", ".", "-out", out, "-pkg", "tensor")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../tensor/generated_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	body := func(b []byte) []byte { return b[bytes.IndexByte(b, '\n'):] }
	if !bytes.Equal(body(got), body(want)) {
		t.Error("tensor/generated_amd64.s differs from the generator's output: run go generate ./tensor")
	}
}
