package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/synth"
	"github.com/goclip/goclip/tensor"
)

// writeupPrompts are the 8 prompts of the user's write-up (the kit's
// seed8 set), with the class each stands for.
var writeupPrompts = []struct{ label, prompt string }{
	{"dog", "a photo of a dog"},
	{"cat", "a photo of a cat"},
	{"wild", "a photo of a wild animal"},
	{"wild", "a photo of a wolf"},
	{"wild", "a photo of a tiger"},
	{"wild", "a photo of a lion"},
	{"wild", "a photo of a fox"},
	{"wild", "a photo of a leopard"},
}

// benchParts are the measurements goclip bench can take, in the order it takes them.
var benchParts = []string{"image", "text", "preprocess", "e2e"}

// benchTiming is one measured point: per-item times over repeated runs.
type benchTiming struct {
	Runs     int     `json:"runs"`
	Items    int     `json:"items_per_run"`
	MedianMs float64 `json:"median_ms_per_item"`
	MinMs    float64 `json:"min_ms_per_item"`
}

// benchImagePoint is the image tower at one batch size.
type benchImagePoint struct {
	Batch int `json:"batch"`
	benchTiming
	GFLOPS float64 `json:"gflops"` // at the median
}

// benchEndToEnd is one eval.Run over a generated dataset.
type benchEndToEnd struct {
	Images       int     `json:"images"`
	Workers      int     `json:"workers"`
	Batch        int     `json:"batch"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_s"`
	EncodeShare  float64 `json:"image_tower_share"` // of the run's wall time
}

// benchMachine describes where the numbers were taken.
type benchMachine struct {
	CPU          string   `json:"cpu"`
	Cores        int      `json:"cores"`
	GOMAXPROCS   int      `json:"gomaxprocs"`
	OS           string   `json:"os"`
	Arch         string   `json:"arch"`
	Go           string   `json:"go"`
	CPUFeatures  []string `json:"cpu_features"`
	Kernels      string   `json:"kernels"`      // the GEMM kernel set in use (tensor.KernelName)
	Int8Kernels  string   `json:"int8_kernels"` // the kernel of --precision int8 (tensor.Int8KernelName)
	LoadAvgStart string   `json:"loadavg_start"`
	LoadAvgEnd   string   `json:"loadavg_end"`
}

// benchReport is everything goclip bench measured; --json prints it.
type benchReport struct {
	Machine      benchMachine      `json:"machine"`
	Model        string            `json:"model"`
	Synthetic    bool              `json:"synthetic"`
	LoadMs       float64           `json:"load_ms"`
	GenerateMs   float64           `json:"generate_ms,omitempty"` // synthetic weights, before load
	Threads      int               `json:"threads"`
	Precision    string            `json:"precision"`
	GFLOPPerImg  float64           `json:"gflop_per_image"`
	Image        []benchImagePoint `json:"image_tower,omitempty"`
	Text         *benchTiming      `json:"text_tower,omitempty"`
	Preprocess   *benchTiming      `json:"preprocess,omitempty"`
	EndToEnd     *benchEndToEnd    `json:"end_to_end,omitempty"`
	LoadRSSBytes *int64            `json:"load_peak_rss_bytes"` // peak RSS right after loading; null where not available
	PeakRSSBytes *int64            `json:"peak_rss_bytes"`      // over the whole bench; null where not available
}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", "[--model DIR|ID | --synthetic] [--batch N]... [--threads N] [--duration D] [--json]")
	model := fs.String("model", defaultModel, modelFlagHelp)
	synthetic := fs.Bool("synthetic", false, "build the full-size ViT-B/32 with the kit's synthetic weights in memory instead of loading a model")
	var batchFlags listFlag
	fs.Var(&batchFlags, "batch", "image tower batch size (repeatable or comma-separated; default 1,8,32)")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "kernel goroutines, and eval workers for the end-to-end run")
	duration := fs.Duration("duration", 3*time.Second, "time spent on each measured point (at least 3 runs each, after one warm-up run)")
	images := fs.Int("images", 96, "images in the generated end-to-end dataset")
	parts := fs.String("parts", strings.Join(benchParts, ","), "what to measure: any of "+strings.Join(benchParts, ","))
	precision := fs.String("precision", "fp32", precisionFlagHelp)
	jsonOut := fs.Bool("json", false, "print one JSON object instead of a table")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	modelSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "model" {
			modelSet = true
		}
	})
	bad := func(format string, a ...any) error {
		fmt.Fprintf(e.stderr, "goclip bench: "+format+"\n", a...)
		return errUsage
	}
	switch {
	case len(rest) > 0:
		return bad("unexpected arguments %q", rest)
	case *synthetic && modelSet:
		return bad("give --model or --synthetic, not both")
	case *threads < 1:
		return bad("--threads must be at least 1")
	case *duration < 0:
		return bad("--duration must not be negative")
	case *images < 1:
		return bad("--images must be at least 1")
	}
	batches, err := parseBatches(batchFlags)
	if err != nil {
		return bad("%v", err)
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(benchParts, p) {
			return bad("unknown part %q in --parts (want %s)", p, strings.Join(benchParts, ","))
		}
		want[p] = true
	}

	r := &benchReport{Threads: *threads, Synthetic: *synthetic}
	r.Machine = benchMachine{
		CPU: cpuModelName(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version(), CPUFeatures: cpuFeatures(),
		Kernels: tensor.KernelName(), Int8Kernels: tensor.Int8KernelName(), LoadAvgStart: loadAverage(),
	}
	opt, err := withPrecision(e, "bench", *precision, clip.Options{Threads: *threads, MaxBatch: max(32, slices.Max(batches)), HashMemo: hashMemo("")})
	if err != nil {
		return err
	}
	r.Precision = string(opt.Precision)
	m, err := benchModel(ctx, e, r, *model, *synthetic, opt)
	if err != nil {
		return err
	}
	defer m.Close()
	if rss, ok := peakRSS(); ok {
		r.LoadRSSBytes = &rss
	}
	r.GFLOPPerImg = visionGFLOP(m.Config)

	if want["image"] {
		for _, b := range batches {
			p, err := benchImageTower(ctx, m, b, *duration)
			if err != nil {
				return err
			}
			r.Image = append(r.Image, p)
		}
	}
	if want["text"] {
		t, err := benchTextTower(ctx, m, *duration)
		if err != nil {
			return err
		}
		r.Text = &t
	}
	var jpegs [][]byte
	if want["preprocess"] || want["e2e"] {
		if jpegs, err = benchJPEGs(min(*images, 16)); err != nil {
			return err
		}
	}
	if want["preprocess"] {
		t, err := benchPreprocess(ctx, m.ImageConfig(), jpegs, *duration)
		if err != nil {
			return err
		}
		r.Preprocess = &t
	}
	if want["e2e"] {
		t, err := benchEndToEndRun(ctx, m, jpegs, *images, *threads)
		if err != nil {
			return err
		}
		r.EndToEnd = &t
	}
	if rss, ok := peakRSS(); ok {
		r.PeakRSSBytes = &rss
	}
	r.Machine.LoadAvgEnd = loadAverage()
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	r.print(e.stdout)
	return nil
}

// benchModel loads the model (timing clip.Load alone, after any download)
// or builds the synthetic ViT-B/32 in memory.
func benchModel(ctx context.Context, e *env, r *benchReport, ref string, synthetic bool, opt clip.Options) (*clip.Model, error) {
	if synthetic {
		cfg := clip.DefaultConfig() // exactly ViT-B/32's config
		t0 := time.Now()
		w, err := synth.Generate(cfg)
		if err != nil {
			return nil, fmt.Errorf("synthetic weights: %w", err)
		}
		r.GenerateMs = ms(time.Since(t0))
		t0 = time.Now()
		m, err := clip.New(cfg, w, opt)
		if err != nil {
			return nil, fmt.Errorf("synthetic model: %w", err)
		}
		r.LoadMs = ms(time.Since(t0))
		r.Model = "synthetic ViT-B/32 (clip.DefaultConfig, internal/synth weights)"
		// The generated tensors were copied into packed form (w is dead
		// from here on): give their memory back to the system so it does
		// not weigh on the runs. The peak RSS keeps it.
		debug.FreeOSMemory()
		return m, nil
	}
	dir, err := resolveModel(ctx, e, ref)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	m, err := clip.Load(dir, opt)
	if err != nil {
		return nil, err
	}
	r.LoadMs = ms(time.Since(t0))
	r.Model = dir
	return m, nil
}

// parseBatches reads --batch values ("8", "1,8,32"); none means 1, 8, 32.
func parseBatches(flags []string) ([]int, error) {
	var out []int
	for _, f := range flags {
		for _, s := range strings.Split(f, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 || n > 1024 {
				return nil, fmt.Errorf("--batch %q: want a whole number from 1 to 1024", s)
			}
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []int{1, 8, 32}
	}
	return out, nil
}

// measure runs f once to warm up, then again until d has passed and at
// least three runs were timed; it returns the run times.
func measure(ctx context.Context, d time.Duration, f func() error) ([]time.Duration, error) {
	runtime.GC()
	if err := f(); err != nil {
		return nil, err
	}
	var times []time.Duration
	var total time.Duration
	for len(times) < 3 || total < d {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		dt := time.Since(t0)
		times = append(times, dt)
		total += dt
	}
	return times, nil
}

// summarise turns run times of items items each into per-item figures.
func summarise(times []time.Duration, items int) benchTiming {
	s := slices.Clone(times)
	slices.Sort(s)
	var med time.Duration
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return benchTiming{Runs: len(s), Items: items, MedianMs: ms(med) / float64(items), MinMs: ms(s[0]) / float64(items)}
}

func benchImageTower(ctx context.Context, m *clip.Model, batch int, d time.Duration) (benchImagePoint, error) {
	n := m.Config.Vision.NumChannels * m.Config.Vision.ImageSize * m.Config.Vision.ImageSize
	rng := rand.New(rand.NewPCG(1, uint64(batch)))
	pixels := make([][]float32, batch)
	for i := range pixels {
		pixels[i] = make([]float32, n)
		for j := range pixels[i] {
			pixels[i][j] = float32(rng.NormFloat64())
		}
	}
	times, err := measure(ctx, d, func() error {
		_, err := m.EncodeImages(ctx, pixels)
		return err
	})
	if err != nil {
		return benchImagePoint{}, fmt.Errorf("image tower, batch %d: %w", batch, err)
	}
	p := benchImagePoint{Batch: batch, benchTiming: summarise(times, batch)}
	p.GFLOPS = visionGFLOP(m.Config) / (p.MedianMs / 1000)
	return p, nil
}

func benchTextTower(ctx context.Context, m *clip.Model, d time.Duration) (benchTiming, error) {
	tok, err := m.Tokenizer()
	if err != nil {
		return benchTiming{}, err
	}
	ids := make([][]int, len(writeupPrompts))
	for i, p := range writeupPrompts {
		ids[i] = tok.Encode(p.prompt)
	}
	times, err := measure(ctx, d, func() error {
		_, err := m.EncodeTokens(ctx, ids)
		return err
	})
	if err != nil {
		return benchTiming{}, fmt.Errorf("text tower: %w", err)
	}
	return summarise(times, len(ids)), nil
}

// benchPreprocess times decoding and preprocessing one JPEG at a time, on
// one goroutine: the cost per image per core.
func benchPreprocess(ctx context.Context, cfg imageproc.Config, jpegs [][]byte, d time.Duration) (benchTiming, error) {
	times, err := measure(ctx, d, func() error {
		for _, b := range jpegs {
			img, err := imageproc.DecodeBytes(b, imageproc.Limits{})
			if err != nil {
				return err
			}
			if _, err := cfg.Preprocess(img); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return benchTiming{}, fmt.Errorf("preprocessing: %w", err)
	}
	return summarise(times, len(jpegs)), nil
}

// benchEndToEndRun writes n JPEGs into cat/dog/wild folders of a temporary
// dataset and runs the eval pipeline over it once, without a cache, with
// the write-up's 8 prompts.
func benchEndToEndRun(ctx context.Context, m *clip.Model, jpegs [][]byte, n, workers int) (benchEndToEnd, error) {
	root, err := os.MkdirTemp("", "goclip-bench-")
	if err != nil {
		return benchEndToEnd{}, err
	}
	defer os.RemoveAll(root)
	labels := []string{"cat", "dog", "wild"}
	for _, l := range labels {
		if err := os.Mkdir(filepath.Join(root, l), 0o755); err != nil {
			return benchEndToEnd{}, err
		}
	}
	for i := 0; i < n; i++ {
		path := filepath.Join(root, labels[i%3], fmt.Sprintf("img%05d.jpg", i))
		if err := os.WriteFile(path, jpegs[i%len(jpegs)], 0o644); err != nil {
			return benchEndToEnd{}, err
		}
	}
	ds, err := eval.Scan(root)
	if err != nil {
		return benchEndToEnd{}, err
	}
	classes := make([]clip.Class, len(ds.Classes))
	for i, l := range ds.Classes {
		classes[i].Label = l
		for _, p := range writeupPrompts {
			if p.label == l {
				classes[i].Prompts = append(classes[i].Prompts, p.prompt)
			}
		}
	}
	const batch = 16
	runtime.GC()
	res, err := eval.Run(ctx, eval.Config{
		Model: m, Dataset: ds, Classes: classes, Ensemble: clip.EnsembleMax,
		Workers: workers, Batch: batch,
	})
	if err != nil {
		return benchEndToEnd{}, fmt.Errorf("end to end: %w", err)
	}
	if len(res.Failures) > 0 {
		return benchEndToEnd{}, fmt.Errorf("end to end: %s: %s", res.Failures[0].Path, res.Failures[0].Reason)
	}
	st := res.Stats
	secs := st.TotalTime.Seconds()
	return benchEndToEnd{
		Images: st.Images, Workers: workers, Batch: batch, Seconds: secs,
		ImagesPerSec: float64(st.Images) / secs, EncodeShare: st.EncodeTime.Seconds() / secs,
	}, nil
}

// benchJPEGs makes n different 512×512 JPEGs (quality 90, 4:2:0, as Go's
// encoder writes colour images): soft gradients, discs and noise, so
// decoding costs about what a photo costs.
func benchJPEGs(n int) ([][]byte, error) {
	const side = 512
	out := make([][]byte, n)
	for k := range out {
		rng := rand.New(rand.NewPCG(7, uint64(k)))
		img := image.NewRGBA(image.Rect(0, 0, side, side))
		type disc struct {
			x, y, r2 int
			c        [3]float64
		}
		discs := make([]disc, 6)
		for i := range discs {
			r := 20 + rng.IntN(100)
			discs[i] = disc{rng.IntN(side), rng.IntN(side), r * r, [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}}
		}
		phase := rng.Float64() * 2 * math.Pi
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				c := [3]float64{
					127 + 100*math.Sin(float64(x)/61+phase),
					127 + 100*math.Cos(float64(y)/47+phase),
					127 + 100*math.Sin(float64(x+y)/89),
				}
				for _, d := range discs {
					if dx, dy := x-d.x, y-d.y; dx*dx+dy*dy < d.r2 {
						c = d.c
					}
				}
				noise := rng.NormFloat64() * 10
				img.SetRGBA(x, y, color.RGBA{clamp8(c[0] + noise), clamp8(c[1] + noise), clamp8(c[2] + noise), 255})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, fmt.Errorf("generating test JPEG: %w", err)
		}
		out[k] = buf.Bytes()
	}
	return out, nil
}

func clamp8(v float64) uint8 {
	return uint8(min(255, max(0, math.Round(v))))
}

// visionGFLOP counts the multiply-adds (×2) of one image through the image
// tower: patch embedding, per layer the q/k/v/out and MLP GEMMs plus the
// two attention products, and the projection. 8.82 for ViT-B/32.
func visionGFLOP(c clip.Config) float64 {
	v := c.Vision
	p := (v.ImageSize / v.PatchSize) * (v.ImageSize / v.PatchSize)
	t, d := float64(p+1), float64(v.HiddenSize)
	patch := float64(p) * d * float64(v.NumChannels*v.PatchSize*v.PatchSize)
	layer := t*(4*d*d+2*d*float64(v.IntermediateSize)) + 2*t*t*d
	proj := d * float64(c.ProjectionDim)
	return 2 * (patch + float64(v.NumHiddenLayers)*layer + proj) / 1e9
}

// cpuModelName is /proc/cpuinfo's "model name", or the architecture.
func cpuModelName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH + " (model name not available)"
}

// cpuFeatures lists the SIMD features that matter to the kernels.
func cpuFeatures() []string {
	var f []string
	add := func(name string, ok bool) {
		if ok {
			f = append(f, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64", "386":
		add("avx2", cpu.X86.HasAVX2)
		add("fma", cpu.X86.HasFMA)
		add("avx512f", cpu.X86.HasAVX512F)
		add("avx512vnni", cpu.X86.HasAVX512VNNI)
		add("avx512bf16", cpu.X86.HasAVX512BF16)
	case "arm64":
		add("asimd", cpu.ARM64.HasASIMD)
		add("sve", cpu.ARM64.HasSVE)
	}
	return f
}

// loadAverage is the first three fields of /proc/loadavg, or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *benchReport) print(w io.Writer) {
	mc := r.Machine
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cpu\t%s, %d cores, GOMAXPROCS %d, %s/%s, %s\n", mc.CPU, mc.Cores, mc.GOMAXPROCS, mc.OS, mc.Arch, mc.Go)
	feat := strings.Join(mc.CPUFeatures, " ")
	if feat == "" {
		feat = "none of avx2 fma avx512f avx512vnni avx512bf16 asimd sve"
	}
	fmt.Fprintf(tw, "cpu features\t%s\n", feat)
	fmt.Fprintf(tw, "kernels\t%s; int8: %s (GOCLIP_KERNELS=avx2 or go chooses a slower set)\n", mc.Kernels, mc.Int8Kernels)
	fmt.Fprintf(tw, "load average\t%s at start, %s at end (1, 5, 15 min)\n", mc.LoadAvgStart, mc.LoadAvgEnd)
	fmt.Fprintf(tw, "model\t%s\n", r.Model)
	if r.Synthetic {
		fmt.Fprintf(tw, "load\t%.0f ms to pack (after %.0f ms generating the weights)\n", r.LoadMs, r.GenerateMs)
	} else {
		fmt.Fprintf(tw, "load\t%.0f ms (clip.Load; safetensors is memory-mapped, so this includes reading it unless the page cache has it)\n", r.LoadMs)
	}
	fmt.Fprintf(tw, "threads\t%d\n", r.Threads)
	fmt.Fprintf(tw, "precision\t%s\n", r.Precision)
	rss := "n/a"
	if r.PeakRSSBytes != nil {
		rss = fmt.Sprintf("%.0f MB over the whole bench", float64(*r.PeakRSSBytes)/1e6)
		if r.LoadRSSBytes != nil {
			rss += fmt.Sprintf(", %.0f MB right after loading (--parts e2e for eval's own)", float64(*r.LoadRSSBytes)/1e6)
		}
		if r.Synthetic {
			rss += " (includes generating the synthetic weights; measure with --model for the real figure)"
		}
	}
	fmt.Fprintf(tw, "peak RSS\t%s\n", rss)
	tw.Flush()

	if len(r.Image) > 0 || r.Text != nil || r.Preprocess != nil {
		r.printTable(w)
	}
	if x := r.EndToEnd; x != nil {
		fmt.Fprintf(w, "\nend to end (eval pipeline, %d generated 512² JPEGs, no cache, %d workers, batch %d, 8 prompts): %.1f images/s (%.2f s, image tower %.0f%% of it)\n",
			x.Images, x.Workers, x.Batch, x.ImagesPerSec, x.Seconds, 100*x.EncodeShare)
	}
}

// printTable prints the timed points, one row each.
func (r *benchReport) printTable(w io.Writer) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tbatch\truns\tmedian ms/item\tmin ms/item\titems/s\tGFLOP/s\n")
	for _, p := range r.Image {
		fmt.Fprintf(tw, "image tower\t%d\t%d\t%.2f\t%.2f\t%.1f\t%.1f\n", p.Batch, p.Runs, p.MedianMs, p.MinMs, 1000/p.MedianMs, p.GFLOPS)
	}
	if t := r.Text; t != nil {
		fmt.Fprintf(tw, "text tower (write-up's prompts)\t%d\t%d\t%.2f\t%.2f\t%.1f\t\n", t.Items, t.Runs, t.MedianMs, t.MinMs, 1000/t.MedianMs)
	}
	if t := r.Preprocess; t != nil {
		fmt.Fprintf(tw, "preprocess 512² JPEG (1 goroutine)\t1\t%d\t%.2f\t%.2f\t%.1f\t\n", t.Runs, t.MedianMs, t.MinMs, 1000/t.MedianMs)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nms/item is per image (per prompt for the text tower); median over the runs, one warm-up run first; image tower: %.2f GFLOP per image.\n", r.GFLOPPerImg)
}
