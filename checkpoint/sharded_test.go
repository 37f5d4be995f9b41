package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeShards splits testTensors over two safetensors shards in dir and
// writes index as model.safetensors.index.json.
func writeShards(t *testing.T, dir, index string) string {
	t.Helper()
	ts := testTensors()
	if err := WriteSafetensors(filepath.Join(dir, "model-00001-of-00002.safetensors"), ts[:2], F32, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(filepath.Join(dir, "model-00002-of-00002.safetensors"), ts[2:], F32, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.safetensors.index.json")
	if err := os.WriteFile(path, []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodIndex = `{"metadata": {"total_size": 100, "format": "pt"}, "weight_map": {
 "z.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
 "scalar": "model-00002-of-00002.safetensors", "empty": "model-00002-of-00002.safetensors",
 "odd": "model-00002-of-00002.safetensors"}}`

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, goodIndex)
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasSuffix(s.Path(), "index.json") {
		t.Errorf("OpenDir picked %s", s.Path())
	}
	checkRoundTrip(t, s, testTensors(), F32)
	if m := s.Metadata(); m["total_size"] != "100" || m["format"] != "pt" {
		t.Errorf("metadata %v", m)
	}
}

func TestShardedMalformed(t *testing.T) {
	cases := map[string]string{
		"no weight_map":           `{"metadata": {}}`,
		"appears twice":           `{"weight_map": {"odd": "model-00002-of-00002.safetensors", "odd": "model-00002-of-00002.safetensors"}}`,
		"plain file name":         `{"weight_map": {"odd": "../model-00002-of-00002.safetensors"}}`,
		"does not hold it":        `{"weight_map": {"odd": "model-00001-of-00002.safetensors"}}`,
		"no such file":            `{"weight_map": {"odd": "model-00003-of-00002.safetensors"}}`,
		"empty weight_map":        `{"weight_map": {}}`,
		"weight_map[\"odd\"]":     `{"weight_map": {"odd": 3}}`,
		"index: unexpected end":   `{"weight_map": {`,
		"must be a plain file na": `{"weight_map": {"odd": "model.safetensors.index.json"}}`,
	}
	for want, index := range cases {
		path := writeShards(t, t.TempDir(), index)
		s, err := Open(path)
		if err == nil {
			s.Close()
			t.Errorf("index %s opened", index)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("want %q naming the index, got %v", want, err)
		}
	}
	// An unlisted tensor held by two shards is ambiguous.
	dir := t.TempDir()
	path := writeShards(t, dir, `{"weight_map": {"odd": "model-00002-of-00002.safetensors", "z.weight": "model-00001-of-00002.safetensors"}}`)
	if err := WriteSafetensors(filepath.Join(dir, "model-00001-of-00002.safetensors"), testTensors()[1:], F32, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(`{"weight_map": {"odd": "model-00002-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors"}}`), 0o644)
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "is in both") {
		t.Errorf("duplicate unlisted tensor: %v", err)
	}
}
