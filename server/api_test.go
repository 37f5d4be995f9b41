package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

type classifyResult struct {
	Label         string             `json:"label"`
	Score         float64            `json:"score"`
	Probabilities map[string]float64 `json:"probabilities"`
	Classes       []classProb        `json:"classes"`
	Prompts       []promptProb       `json:"prompts"`
	Ensemble      string             `json:"ensemble"`
	BatchSize     int                `json:"batch_size"`
	Timing        map[string]float64 `json:"timing_ms"`
}

// want computes the expected prediction for a kit image directly with clip.
func want(t *testing.T, image string, classes []clip.Class, ens clip.Ensemble) (*clip.Classifier, clip.Prediction) {
	t.Helper()
	m := loadTiny(t)
	img, err := imageproc.DecodeFile(filepath.Join(kit, "images", image), imageproc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := m.EncodeRGB(context.Background(), []*imageproc.RGB{img})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := m.NewClassifier(context.Background(), classes, ens)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cl.Classify(emb[0])
	if err != nil {
		t.Fatal(err)
	}
	return cl, p
}

func checkPrediction(t *testing.T, got classifyResult, cl *clip.Classifier, p clip.Prediction) {
	t.Helper()
	if got.Label != p.Label || math.Abs(got.Score-p.Score) > 1e-6 {
		t.Errorf("label %q score %v, want %q %v", got.Label, got.Score, p.Label, p.Score)
	}
	if len(got.Classes) != len(cl.Classes()) || len(got.Probabilities) != len(cl.Classes()) {
		t.Fatalf("%d classes, %d probabilities, want %d", len(got.Classes), len(got.Probabilities), len(cl.Classes()))
	}
	sum := 0.0
	for k, c := range cl.Classes() {
		if got.Classes[k].Label != c.Label || math.Abs(got.Classes[k].Probability-p.ClassProbs[k]) > 1e-6 ||
			math.Abs(got.Probabilities[c.Label]-p.ClassProbs[k]) > 1e-6 {
			t.Errorf("class %d: %+v (map %v), want %q %v", k, got.Classes[k], got.Probabilities[c.Label], c.Label, p.ClassProbs[k])
		}
		sum += got.Classes[k].Probability
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("probabilities sum to %v", sum)
	}
	if len(got.Prompts) != len(cl.Prompts()) {
		t.Fatalf("%d prompts, want %d", len(got.Prompts), len(cl.Prompts()))
	}
	for i, pr := range cl.Prompts() {
		g := got.Prompts[i]
		if g.Prompt != pr.Text || g.Label != cl.Classes()[pr.Class].Label || math.Abs(g.Probability-p.PromptProbs[i]) > 1e-6 {
			t.Errorf("prompt %d: %+v, want %q %q %v", i, g, cl.Classes()[pr.Class].Label, pr.Text, p.PromptProbs[i])
		}
	}
	for _, k := range []string{"decode", "text", "queue", "encode", "total"} {
		if _, ok := got.Timing[k]; !ok {
			t.Errorf("timing_ms has no %q: %v", k, got.Timing)
		}
	}
	if got.BatchSize < 1 {
		t.Errorf("batch_size %d", got.BatchSize)
	}
}

// The kit's "varied" prompt set: a random model's predictions differ from
// image to image only for a set like this one.
var variedPrompts = "dog: a photo of a dog\ncat: a photo of a cat\nwild: a photo of a wolf\nwild: a photo of a tiger\n"

func TestClassifyMultipartLabels(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	body, ct := multipartBody(t, "image", string(readKit(t, "chelsea.png")), "labels", " cat, dog ,bird")
	r := do(t, "POST", ts.URL+"/v1/classify", ct, body, "X-Request-ID", "test-123")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if id := r.header.Get("X-Request-ID"); id != "test-123" {
		t.Errorf("X-Request-ID %q, want the client's echoed", id)
	}
	var got classifyResult
	r.json(t, &got)
	cl, p := want(t, "chelsea.png", mustClasses(t, []string{"cat", "dog", "bird"}), clip.EnsembleMax)
	checkPrediction(t, got, cl, p)
	if got.Ensemble != "max" {
		t.Errorf("ensemble %q", got.Ensemble)
	}
}

func TestClassifyMultipartPromptsMeanAndTemplates(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	classes, err := clip.ParsePrompts(strings.NewReader(variedPrompts))
	if err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, "image", string(readKit(t, "odd_225x301.png")), "prompts", variedPrompts, "ensemble", "mean")
	r := do(t, "POST", ts.URL+"/v1/classify", ct, body)
	var got classifyResult
	r.json(t, &got)
	cl, p := want(t, "odd_225x301.png", classes, clip.EnsembleMean)
	checkPrediction(t, got, cl, p)

	body, ct = multipartBody(t, "image", string(readKit(t, "odd_225x301.png")), "labels", "cup,plate",
		"templates", "a photo of a {}.", "template", "a drawing of a {}.") // the JSON name, and the older one
	r = do(t, "POST", ts.URL+"/v1/classify", ct, body)
	got = classifyResult{}
	r.json(t, &got)
	cl, p = want(t, "odd_225x301.png", mustClasses(t, []string{"cup", "plate"}, "a photo of a {}.", "a drawing of a {}."), clip.EnsembleMax)
	checkPrediction(t, got, cl, p)
}

func TestClassifyJSON(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	img := readKit(t, "exact_224.png")
	classes, _ := clip.ParsePrompts(strings.NewReader(variedPrompts))
	for _, tc := range []struct {
		name string
		req  map[string]any
		cls  []clip.Class
		ens  clip.Ensemble
	}{
		{"labels", map[string]any{"image": b64(img), "labels": []string{"astronaut", "rocket"}}, mustClasses(t, []string{"astronaut", "rocket"}), clip.EnsembleMax},
		{"data URL", map[string]any{"image": "data:image/png;base64," + b64(img), "labels": []string{"a", "b"}}, mustClasses(t, []string{"a", "b"}), clip.EnsembleMax},
		{"prompts object", map[string]any{"image": b64(img), "ensemble": "mean", "prompts": map[string][]string{
			"dog": {"a photo of a dog"}, "cat": {"a photo of a cat"}, "wild": {"a photo of a wolf", "a photo of a tiger"}}}, nil, clip.EnsembleMean},
		{"prompts string", map[string]any{"image": b64(img), "prompts": variedPrompts}, classes, clip.EnsembleMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := postJSON(t, ts.URL+"/v1/classify", tc.req)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got classifyResult
			r.json(t, &got)
			cls := tc.cls
			if cls == nil { // a Go map marshals sorted: cat, dog, wild
				cls = []clip.Class{
					{Label: "cat", Prompts: []string{"a photo of a cat"}},
					{Label: "dog", Prompts: []string{"a photo of a dog"}},
					{Label: "wild", Prompts: []string{"a photo of a wolf", "a photo of a tiger"}},
				}
			}
			cl, p := want(t, "exact_224.png", cls, tc.ens)
			checkPrediction(t, got, cl, p)
		})
	}
}

// TestClassifyPromptsKeyOrder checks that a prompts object keeps its keys'
// order, as ParsePrompts does.
func TestClassifyPromptsKeyOrder(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	body := `{"image": "` + b64(readKit(t, "horse.png")) + `", "prompts": {"zebra": ["a zebra"], "horse": ["a horse", "a pony"]}}`
	r := do(t, "POST", ts.URL+"/v1/classify", "application/json", strings.NewReader(body))
	var got classifyResult
	r.json(t, &got)
	if len(got.Classes) != 2 || got.Classes[0].Label != "zebra" || got.Classes[1].Label != "horse" || len(got.Prompts) != 3 {
		t.Errorf("classes %+v prompts %+v", got.Classes, got.Prompts)
	}
}

func TestEmbeddings(t *testing.T) {
	s, ts := newTest(t, nil, Options{})
	m := loadTiny(t)
	imgs := []string{"exact_224.png", "tall_40x512.png"}
	texts := []string{"a photo of a cat", "a cup of coffee", "a photo of a cat"}
	var enc []string
	var rgbs []*imageproc.RGB
	for _, name := range imgs {
		enc = append(enc, b64(readKit(t, name)))
		img, err := imageproc.DecodeFile(filepath.Join(kit, "images", name), imageproc.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		rgbs = append(rgbs, img)
	}
	wantImg, err := m.EncodeRGB(context.Background(), rgbs)
	if err != nil {
		t.Fatal(err)
	}
	wantTxt, err := m.EncodeTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, norm := range []bool{false, true} {
		r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"images": enc, "texts": texts, "normalize": norm})
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var got embeddingsResponse
		r.json(t, &got)
		if got.Model != m.Fingerprint() {
			t.Errorf("model %q, want %q", got.Model, m.Fingerprint())
		}
		if len(got.Data) != len(imgs)+len(texts) {
			t.Fatalf("%d embeddings", len(got.Data))
		}
		for i, d := range got.Data {
			kind, idx, w := "image", i, [][]float32(wantImg)
			if i >= len(imgs) {
				kind, idx, w = "text", i-len(imgs), wantTxt
			}
			if d.Kind != kind || d.Index != idx {
				t.Errorf("data[%d] is %s %d, want %s %d", i, d.Kind, d.Index, kind, idx)
			}
			wv := w[idx]
			if norm {
				wv = clip.Normalize(wv)
			}
			if len(d.Embedding) != len(wv) {
				t.Fatalf("data[%d]: %d values, want %d", i, len(d.Embedding), len(wv))
			}
			for k := range wv {
				if math.Abs(float64(d.Embedding[k]-wv[k])) > 1e-5 {
					t.Fatalf("data[%d][%d] = %v, want %v (normalize %v)", i, k, d.Embedding[k], wv[k], norm)
				}
			}
		}
	}
	// Texts only: no image-encoder call, and the second round came from the cache.
	before := s.Stats()
	r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"texts": []string{"a cup of coffee"}})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	after := s.Stats()
	if after.TextCalls != before.TextCalls || after.CacheHits != before.CacheHits+1 {
		t.Errorf("text calls %d→%d, cache hits %d→%d: want a cache hit", before.TextCalls, after.TextCalls, before.CacheHits, after.CacheHits)
	}
}

func TestTextCache(t *testing.T) {
	s, ts := newTest(t, nil, Options{})
	img := b64(readKit(t, "chelsea.png"))
	req := map[string]any{"image": img, "labels": []string{"cat", "dog", "bird"}}
	for i := 0; i < 3; i++ {
		if r := postJSON(t, ts.URL+"/v1/classify", req); r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	st := s.Stats()
	if st.TextCalls != 1 || st.CacheMisses != 3 || st.CacheHits != 6 {
		t.Errorf("text calls %d, misses %d, hits %d; want 1, 3, 6", st.TextCalls, st.CacheMisses, st.CacheHits)
	}
	m := do(t, "GET", ts.URL+"/metrics", "", nil)
	for _, line := range []string{"goclip_text_cache_hits_total 6", "goclip_text_cache_misses_total 3", "goclip_text_cache_entries 3",
		`goclip_encoder_calls_total{tower="text"} 1`} {
		if !bytes.Contains(m.body, []byte(line+"\n")) {
			t.Errorf("metrics lack %q", line)
		}
	}
}

func TestHealthAndReady(t *testing.T) {
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if r := do(t, "GET", ts.URL+"/healthz", "", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"ok"`)) {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	r := do(t, "GET", ts.URL+"/readyz", "", nil)
	if r.status != 503 || r.errorCode() != CodeNotReady || r.header.Get("Retry-After") == "" {
		t.Errorf("readyz before the model: %d %s", r.status, r.body)
	}
	body, ct := multipartBody(t, "image", "x", "labels", "a")
	if r := do(t, "POST", ts.URL+"/v1/classify", ct, body); r.status != 503 || r.errorCode() != CodeNotReady {
		t.Errorf("classify before the model: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.URL+"/metrics", "", nil); !bytes.Contains(r.body, []byte("goclip_ready 0\n")) {
		t.Errorf("metrics before the model: %s", r.body)
	}
	if err := s.SetModel(loadTiny(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetModel(loadTiny(t)); err == nil {
		t.Error("a second SetModel succeeded")
	}
	r = do(t, "GET", ts.URL+"/readyz", "", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(loadTiny(t).Fingerprint())) {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	if r := do(t, "HEAD", ts.URL+"/healthz", "", nil); r.status != 200 {
		t.Errorf("HEAD healthz: %d", r.status)
	}
	s.Close(context.Background())
	if r := do(t, "GET", ts.URL+"/readyz", "", nil); r.status != 503 || r.errorCode() != CodeShuttingDown {
		t.Errorf("readyz after Close: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", ts.URL+"/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz after Close: %d", r.status)
	}
}

func TestPage(t *testing.T) {
	_, ts := newTest(t, nil, Options{APIKey: "secret"})
	r := do(t, "GET", ts.URL+"/", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / (no key needed): %d %s", r.status, r.header)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	html := string(r.body)
	for _, s := range []string{`<button type="submit"`, `aria-live="polite"`, `<label for="image">`, `<label for="labels">`,
		`<label for="prompts">`, `<label for="ensemble">`, `type="file"`, ":focus-visible"} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	// Self-contained: nothing is loaded from elsewhere.
	for _, s := range []string{"http://", "https://", "<link", " src=\"", "@import"} {
		if strings.Contains(html, s) {
			t.Errorf("page refers to an external resource (%q)", s)
		}
	}
	if r := do(t, "HEAD", ts.URL+"/", "", nil); r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD /: %d, %d bytes", r.status, len(r.body))
	}
}

func TestMetricsFormat(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	body, ct := multipartBody(t, "image", string(readKit(t, "chelsea.png")), "labels", "cat,dog")
	do(t, "POST", ts.URL+"/v1/classify", ct, body)
	do(t, "GET", ts.URL+"/nope", "", nil)
	r := do(t, "GET", ts.URL+"/metrics", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %s", r.status, r.header)
	}
	text := string(r.body)
	for _, want := range []string{
		`goclip_http_requests_total{route="classify",code="200"} 1`,
		`goclip_http_requests_total{route="other",code="404"} 1`,
		`goclip_http_request_duration_seconds_count{route="classify"} 1`,
		`goclip_batch_size_bucket{le="1"} 1`,
		`goclip_batch_size_bucket{le="+Inf"} 1`,
		`goclip_batch_size_sum 1`,
		`goclip_batch_size_count 1`,
		`goclip_encoder_calls_total{tower="image"} 1`,
		`goclip_queue_depth 0`,
		`goclip_inflight_requests 0`,
		`goclip_ready 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	checkExposition(t, text)
}

// checkExposition checks every line is a comment or "name{labels} value",
// every series has a TYPE, and histogram buckets are cumulative.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	typed := map[string]string{}
	last := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			typed[f[2]] = f[3]
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			t.Fatalf("bad line %q", line)
		}
		series, value := line[:sp], line[sp+1:]
		var v float64
		if _, err := fmtSscan(value, &v); err != nil {
			t.Errorf("line %q: value: %v", line, err)
		}
		name := series
		if i := strings.IndexByte(series, '{'); i >= 0 {
			if !strings.HasSuffix(series, "}") {
				t.Errorf("line %q: unclosed labels", line)
			}
			name = series[:i]
		}
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && typed[b] == "histogram" {
				base = b
			}
		}
		if typed[base] == "" {
			t.Errorf("line %q: no TYPE for %s", line, base)
		}
		if strings.HasSuffix(name, "_bucket") {
			key := series[:strings.Index(series, "le=")]
			if v < last[key] {
				t.Errorf("line %q: buckets not cumulative", line)
			}
			last[key] = v
		}
	}
}

// textProbe counts text-encoder calls and can slow them down.
type textProbe struct {
	clip.Encoder
	calls atomic.Int64
	texts atomic.Int64
	delay time.Duration
}

func (p *textProbe) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	p.calls.Add(1)
	p.texts.Add(int64(len(texts)))
	time.Sleep(p.delay)
	return p.Encoder.EncodeTexts(ctx, texts)
}

// TestTextCacheConcurrent checks a burst of requests with a new label set
// encodes each prompt once: later requests wait for the first one's call.
func TestTextCacheConcurrent(t *testing.T) {
	probe := &textProbe{Encoder: loadTiny(t), delay: 100 * time.Millisecond}
	_, ts := newTest(t, probe, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			labels := []string{"cat", "dog", "bird"}
			if i%2 == 1 {
				labels = append(labels, "fish") // overlapping sets
			}
			body, _ := json.Marshal(map[string]any{"texts": labels})
			r, err := tryDo("POST", ts.URL+"/v1/embeddings", "application/json", bytes.NewReader(body))
			if err != nil || r.status != 200 {
				t.Errorf("status %d: %s (%v)", r.status, r.body, err)
			}
		}(i)
	}
	wg.Wait()
	if n := probe.texts.Load(); n != 4 {
		t.Errorf("%d texts encoded in %d calls, want each of the 4 once", n, probe.calls.Load())
	}
}
