package pipeline

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/goclip/goclip/batch"
	"github.com/goclip/goclip/beam/internal/beamtest"
	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/npy"
)

const (
	kit   = "../../testdata/kit/images"
	model = "../../testdata/kit/models/tiny-synth"
)

// TestMain runs the tests on Prism with caches of their own (beamtest.Main).
func TestMain(m *testing.M) { beamtest.Main(m) }

func worker() Worker {
	abs, _ := filepath.Abs(model)
	return Worker{Model: ModelSpec{Ref: abs, Precision: "fp32"}, Batch: 4, Workers: 2}
}

// goclipEmbed is what goclip embed gives for paths: the batch package with
// the same model, normalised.
func goclipEmbed(t *testing.T, paths []string) map[string][]float32 {
	t.Helper()
	m, err := clip.Load(model, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := map[string][]float32{}
	_, err = batch.Embed(context.Background(), batch.Config{Encoder: m}, batch.Files(paths), func(r batch.Result) error {
		if r.Err == nil {
			out[r.Name] = clip.Normalize(r.Embedding)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t *testing.T, build func(s beam.Scope)) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	build(s)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

// readShard reads shard n's embeddings and metadata image_path column.
func readShard(t *testing.T, out string, n, count int) ([][]float32, []map[string]any) {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "img_emb", fmt.Sprintf("img_emb_%s.npy", shardID(n, count))))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, flat, err := npy.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, h.Rows)
	for i := range rows {
		rows[i] = flat[i*h.Cols : (i+1)*h.Cols]
	}
	meta := readParquet(t, filepath.Join(out, "metadata", fmt.Sprintf("metadata_%s.parquet", shardID(n, count))))
	if len(meta) != len(rows) {
		t.Fatalf("shard %d: %d embeddings, %d metadata rows", n, len(rows), len(meta))
	}
	return rows, meta
}

func shardID(n, count int) string { return fmt.Sprintf("%0*d", len(fmt.Sprint(count)), n) }

// readParquet reads a flat Parquet file into maps by column name.
func readParquet(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	cols := f.Schema().Columns()
	r := parquet.NewReader(bytes.NewReader(data))
	defer r.Close()
	var out []map[string]any
	buf := make([]parquet.Row, 1)
	for {
		n, err := r.ReadRows(buf)
		if n == 0 {
			if err != nil {
				break
			}
			continue
		}
		m := map[string]any{}
		for _, v := range buf[0] {
			if v.IsNull() {
				continue
			}
			name := cols[v.Column()][0]
			switch v.Kind() {
			case parquet.ByteArray:
				m[name] = string(v.ByteArray())
			case parquet.Int64:
				m[name] = v.Int64()
			case parquet.Double:
				m[name] = v.Double()
			case parquet.Boolean:
				m[name] = v.Boolean()
			}
		}
		out = append(out, m)
	}
	return out
}

func readFailures(t *testing.T, out string) []Failure {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "errors.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []Failure
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var f Failure
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

// snapshot reads every file below dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[strings.TrimPrefix(p, dir)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func f16(v float32) float32 { return checkpoint.F16ToF32(checkpoint.F32ToF16(v)) }

// Embeddings over image files equal goclip embed's, shard by shard, in
// input order; bad files land in errors.jsonl; a second run over the same
// output leaves the same bytes.
func TestEmbedFiles(t *testing.T) {
	matches, _ := filepath.Glob(filepath.Join(kit, "*"))
	out := t.TempDir()
	shards, _, err := ListInput(context.Background(), filepath.Join(kit, "*"), 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != (len(matches)+7)/8 {
		t.Fatalf("%d shards for %d files", len(shards), len(matches))
	}
	want := goclipEmbed(t, matches)
	build := func(s beam.Scope) { Embed(s, EmbedConfig{Worker: worker(), Output: out, DType: npy.Float16}, shards) }
	run(t, build)

	var got []string
	for _, sh := range shards {
		rows, meta := readShard(t, out, sh.N, len(shards))
		for i, m := range meta {
			path := m["image_path"].(string)
			if !slices.Contains(sh.Files, path) {
				t.Fatalf("shard %d has %s, not one of its files", sh.N, path)
			}
			got = append(got, path)
			w, ok := want[path]
			if !ok {
				t.Fatalf("%s embedded, but goclip cannot read it", path)
			}
			for j := range w {
				if rows[i][j] != f16(w[j]) {
					t.Fatalf("%s [%d] = %v, want float16(%v)", path, j, rows[i][j], w[j])
				}
			}
		}
	}
	var wantOrder []string
	for _, p := range matches {
		if _, ok := want[p]; ok {
			wantOrder = append(wantOrder, p)
		}
	}
	if !slices.Equal(got, wantOrder) {
		t.Errorf("rows %v\nwant %v", got, wantOrder)
	}
	fails := readFailures(t, out)
	if len(fails)+len(got) != len(matches) {
		t.Errorf("%d failures + %d rows for %d files", len(fails), len(got), len(matches))
	}
	for _, f := range fails {
		if !strings.Contains(filepath.Base(f.Path), "bad-") || f.Reason == "" {
			t.Errorf("failure %+v", f)
		}
	}

	before := snapshot(t, out)
	run(t, build)
	after := snapshot(t, out)
	if len(before) != len(after) {
		t.Fatalf("%d files, then %d", len(before), len(after))
	}
	for name, b := range before {
		if after[name] != b {
			t.Errorf("%s changed on the second run", name)
		}
	}
}

type member struct{ name, data string }

func writeTar(t *testing.T, path string, ms []member, cut int) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Size: int64(len(m.data)), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.data))
	}
	tw.Close()
	data := b.Bytes()
	if cut > 0 {
		data = data[:cut]
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readKit(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join(kit, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Webdataset shards: metadata from the samples' txt and json, a sample
// without an image and a damaged tar end in errors.jsonl, the samples
// before the damage are kept.
func TestEmbedWebdataset(t *testing.T) {
	dir := t.TempDir()
	writeTar(t, filepath.Join(dir, "00000.tar"), []member{
		{"s0.jpg", readKit(t, "rocket.jpg")}, {"s0.txt", "a rocket"}, {"s0.json", `{"url": "http://x/0", "width": 512, "exif": {"a": 1}}`},
		{"s1.png", readKit(t, "chelsea.png")}, {"s1.txt", "a cat"},
		{"s2.txt", "no image here"},
		{"s3.jpg", readKit(t, "bad-truncated.jpg")},
	}, 0)
	big := readKit(t, "astronaut.png")
	writeTar(t, filepath.Join(dir, "00001.tar"), []member{
		{"t0.webp", readKit(t, "chelsea_lossy.webp")},
		{"t1.png", big},
	}, 512+((len(readKit(t, "chelsea_lossy.webp"))+511)/512)*512+512+100)
	shards, _, err := ListInput(context.Background(), filepath.Join(dir, "{00000..00001}.tar"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 2 || shards[1].Tar != filepath.Join(dir, "00001.tar") {
		t.Fatalf("shards %+v", shards)
	}
	out := t.TempDir()
	run(t, func(s beam.Scope) { Embed(s, EmbedConfig{Worker: worker(), Output: out, DType: npy.Float32}, shards) })

	want := goclipEmbed(t, []string{filepath.Join(kit, "rocket.jpg"), filepath.Join(kit, "chelsea.png"), filepath.Join(kit, "chelsea_lossy.webp")})
	rows, meta := readShard(t, out, 0, 2)
	if len(rows) != 2 {
		t.Fatalf("shard 0: %d rows, want 2", len(rows))
	}
	if m := meta[0]; m["image_path"] != "s0" || m["key"] != "s0" || m["caption"] != "a rocket" || m["url"] != "http://x/0" || m["width"] != int64(512) || m["exif"] != `{"a":1}` {
		t.Errorf("metadata of s0: %v", m)
	}
	if m := meta[1]; m["image_path"] != "s1" || m["caption"] != "a cat" || m["url"] != nil {
		t.Errorf("metadata of s1: %v", m)
	}
	if !slices.Equal(rows[0], want[filepath.Join(kit, "rocket.jpg")]) || !slices.Equal(rows[1], want[filepath.Join(kit, "chelsea.png")]) {
		t.Error("shard 0's embeddings differ from goclip's")
	}
	rows, meta = readShard(t, out, 1, 2)
	if len(rows) != 1 || meta[0]["image_path"] != "t0" || !slices.Equal(rows[0], want[filepath.Join(kit, "chelsea_lossy.webp")]) {
		t.Errorf("shard 1: %d rows, %v", len(rows), meta)
	}
	fails := readFailures(t, out)
	var paths []string
	for _, f := range fails {
		paths = append(paths, strings.TrimPrefix(f.Path, dir+"/"))
	}
	wantFails := []string{"00000.tar/s2", "00000.tar/s3.jpg", "00001.tar"}
	if !slices.Equal(paths, wantFails) {
		t.Errorf("failures %v, want %v (%+v)", paths, wantFails, fails)
	}
	if len(fails) == 3 && (!strings.Contains(fails[0].Reason, "no image") || !strings.Contains(fails[2].Reason, "after 1 samples")) {
		t.Errorf("reasons: %+v", fails)
	}
}

// The report of goclip-beam eval is goclip eval's, byte for byte, on a
// class-folder dataset and on the same images as webdataset shards.
func TestEval(t *testing.T) {
	ds := t.TempDir()
	classes := map[string][]string{
		"cat":    {"chelsea.png", "chelsea_512.jpg", "chelsea_gray.jpg", "chelsea_lossy.webp", "chelsea_progressive.jpg"},
		"coffee": {"coffee.png", "coffee_444.jpg", "coffee_lossless.webp", "bad-cut.jpg"},
		"space":  {"rocket.jpg", "astronaut.png", "hubble_deep_field.jpg"},
	}
	var samples []member
	for c, names := range classes {
		os.MkdirAll(filepath.Join(ds, c), 0o755)
		for _, n := range names {
			data := readKit(t, n)
			os.WriteFile(filepath.Join(ds, c, n), []byte(data), 0o644)
			key := c + "_" + strings.TrimSuffix(n, filepath.Ext(n))
			key = strings.ReplaceAll(key, ".", "_")
			samples = append(samples, member{key + filepath.Ext(n), data}, member{key + ".cls", c})
		}
	}
	prompts := []clip.Class{
		{Label: "cat", Prompts: []string{"a photo of a cat", "a cat"}},
		{Label: "coffee", Prompts: []string{"a cup of coffee"}},
		{Label: "space", Prompts: []string{"a photo of space", "a rocket"}},
	}
	// goclip eval
	m, err := clip.Load(model, clip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scan, err := eval.Scan(ds)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.Run(context.Background(), eval.Config{Model: m, Dataset: scan, Classes: prompts, Ensemble: clip.EnsembleMax})
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantText := res.Metrics.Text(2)

	shards, folders, _, err := ListDataset(context.Background(), ds, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(folders, []string{"cat", "coffee", "space"}) || len(shards) != 3 {
		t.Fatalf("folders %v, %d shards", folders, len(shards))
	}
	out := t.TempDir()
	cfg := EvalConfig{Worker: worker(), Output: out, Classes: prompts, Ensemble: clip.EnsembleMax, Digits: 2, Dataset: ds}
	run(t, func(s beam.Scope) {
		if err := Eval(s, cfg, shards); err != nil {
			t.Fatal(err)
		}
	})
	got, err := os.ReadFile(filepath.Join(out, "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != wantText {
		t.Errorf("report.txt:\n%s\nwant (goclip eval):\n%s", got, wantText)
	}
	var j eval.JSONReport
	data, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	wantJ := res.JSON("", "", "")
	if j.Accuracy != wantJ.Accuracy || j.Images != 12 || j.Evaluated != 11 || len(j.Unreadable) != 1 || !slices.Equal(j.Classes, folders) || j.ModelFingerprint == "" {
		t.Errorf("report.json: %+v", j)
	}
	var preds []map[string]any
	for n := range 3 {
		preds = append(preds, readParquet(t, filepath.Join(out, "predictions", fmt.Sprintf("predictions_%d.parquet", n)))...)
	}
	if len(preds) != len(res.Rows) {
		t.Fatalf("%d predictions, want %d", len(preds), len(res.Rows))
	}
	for i, row := range res.Rows {
		p := preds[i]
		if p["path"] != row.Path || p["pred"] != res.Classes[row.Pred] || p["score"] != row.Score || p["cat"] != row.Probs[0] {
			t.Errorf("prediction %d: %v, want %+v", i, p, row)
		}
	}

	// The same images as webdataset shards, labelled by cls members.
	wds := t.TempDir()
	writeTar(t, filepath.Join(wds, "a.tar"), samples[:10], 0)
	writeTar(t, filepath.Join(wds, "b.tar"), samples[10:], 0)
	shards, folders, _, err = ListDataset(context.Background(), filepath.Join(wds, "*.tar"), 0)
	if err != nil || folders != nil || len(shards) != 2 {
		t.Fatalf("shards %v, folders %v, %v", shards, folders, err)
	}
	out2 := t.TempDir()
	cfg.Output = out2
	run(t, func(s beam.Scope) {
		if err := Eval(s, cfg, shards); err != nil {
			t.Fatal(err)
		}
	})
	got, _ = os.ReadFile(filepath.Join(out2, "report.txt"))
	if string(got) != wantText {
		t.Errorf("webdataset report.txt:\n%s\nwant:\n%s", got, wantText)
	}
}

func TestListInput(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.jpg", "a.png", "sub/c.webp", "notes.txt", ".hidden/d.jpg"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	// A broken link is reported, not fatal; a link back up is walked once.
	os.Symlink(filepath.Join(dir, "gone.jpg"), filepath.Join(dir, "sub", "broken.jpg"))
	os.Symlink(dir, filepath.Join(dir, "sub", "up"))
	ctx := context.Background()
	sh, unlisted, err := ListInput(ctx, dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(unlisted) != 1 || unlisted[0].Path != filepath.Join(dir, "sub", "broken.jpg") || unlisted[0].Shard != -1 || !strings.Contains(unlisted[0].Reason, "broken link") {
		t.Errorf("unlisted: %+v", unlisted)
	}
	if len(sh) != 2 || !slices.Equal(sh[0].Files, []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "b.jpg")}) ||
		!slices.Equal(sh[1].Files, []string{filepath.Join(dir, "sub/c.webp")}) || sh[1].N != 1 || sh[1].Count != 2 {
		t.Errorf("folder: %+v", sh)
	}
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("# images\nz.jpg\n\n  y.jpg \n"), 0o644)
	if sh, _, err := ListInput(ctx, "@"+list, 0); err != nil || len(sh) != 1 || !slices.Equal(sh[0].Files, []string{"z.jpg", "y.jpg"}) {
		t.Errorf("list: %+v %v", sh, err)
	}
	got, err := expandBraces("s/{008..011}-{a,b}.tar")
	if err != nil || !slices.Equal(got, []string{"s/008-a.tar", "s/008-b.tar", "s/009-a.tar", "s/009-b.tar", "s/010-a.tar", "s/010-b.tar", "s/011-a.tar", "s/011-b.tar"}) {
		t.Errorf("braces: %v %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "x.tar"), nil, 0o644)
	for _, bad := range []string{filepath.Join(dir, "*"), filepath.Join(dir, "nothing-*.jpg"), filepath.Join(dir, "missing.jpg"), "s/{1..2", "@" + filepath.Join(dir, "no-list.txt")} {
		if _, _, err := ListInput(ctx, bad, 0); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, _, _, err := ListDataset(ctx, filepath.Join(dir, "*.jpg"), 0); err == nil {
		t.Error("a glob of images as an eval dataset: no error")
	}
}
