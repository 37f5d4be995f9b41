// Package bench measures goclip where it runs: the image tower per batch
// size, the text tower, preprocessing per image, the eval pipeline end to
// end, model load time and peak memory, with the machine they were taken
// on (CPU, SIMD features, kernel set, load average), so that every figure
// says where it came from. goclip bench prints its Report; compare.sh in
// this folder puts goclip next to ONNX Runtime and PyTorch.
package bench

import (
	"bytes"
	"context"
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
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/eval"
	"github.com/goclip/goclip/imageproc"
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

// parts are the measurements Run can take, in the order it takes them.
var parts = []string{"image", "text", "preprocess", "e2e"}

// Timing is one measured point: per-item times over repeated runs.
type Timing struct {
	Runs     int     `json:"runs"`
	Items    int     `json:"items_per_run"`
	MedianMs float64 `json:"median_ms_per_item"`
	MinMs    float64 `json:"min_ms_per_item"`
}

// ImagePoint is the image tower at one batch size.
type ImagePoint struct {
	Batch int `json:"batch"`
	Timing
	GFLOPS float64 `json:"gflops"` // at the median
}

// EndToEnd is one eval.Run over a generated dataset.
type EndToEnd struct {
	Images       int     `json:"images"`
	Workers      int     `json:"workers"`
	Batch        int     `json:"batch"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_s"`
	EncodeShare  float64 `json:"image_tower_share"` // of the run's wall time
}

// Machine describes where the numbers were taken.
type Machine struct {
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

// Report is everything a bench run measured; goclip bench --json prints it.
type Report struct {
	Machine    Machine `json:"machine"`
	Model      string  `json:"model"`
	Synthetic  bool    `json:"synthetic"`
	LoadMs     float64 `json:"load_ms"`
	GenerateMs float64 `json:"generate_ms,omitempty"` // synthetic weights, before load
	// PackCacheHits is how many towers the timed load mapped from the
	// pack cache (clip.Options.PackCache); PackLoadMs, when set, is an
	// earlier load that packed them (and saved them for the timed one).
	PackCacheHits int     `json:"pack_cache_hits"`
	PackLoadMs    float64 `json:"pack_load_ms,omitempty"`
	Threads       int     `json:"threads"`
	Precision     string  `json:"precision"`
	GFLOPPerImg   float64 `json:"gflop_per_image"`
	// FMAPeak is tensor.FMAPeak on Threads threads (GFLOP/s): the most
	// the image tower could reach here. 0 where not measured.
	FMAPeak      float64      `json:"fma_peak_gflops,omitempty"`
	Image        []ImagePoint `json:"image_tower,omitempty"`
	Text         *Timing      `json:"text_tower,omitempty"`
	Preprocess   *Timing      `json:"preprocess,omitempty"`
	EndToEnd     *EndToEnd    `json:"end_to_end,omitempty"`
	LoadRSSBytes *int64       `json:"load_peak_rss_bytes"` // peak RSS right after loading; null where not available
	PeakRSSBytes *int64       `json:"peak_rss_bytes"`      // over the whole bench; null where not available
}

// Options say what Run measures.
type Options struct {
	Parts    []string      // of Parts(); nil means all
	Batches  []int         // image tower batch sizes
	Duration time.Duration // per measured point (at least 3 runs after a warm-up)
	Images   int           // JPEGs in the end-to-end dataset
	Threads  int           // eval workers end to end
}

// Parts lists what Run can measure, in the order it measures them.
func Parts() []string { return slices.Clone(parts) }

// NewReport starts a report: the machine as it is now.
func NewReport() *Report {
	return &Report{Machine: Machine{
		CPU: cpuModelName(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version(), CPUFeatures: cpuFeatures(),
		Kernels: tensor.KernelName(), Int8Kernels: tensor.Int8KernelName(), LoadAvgStart: loadAverage(),
	}}
}

// Run measures the loaded model m as opt says, into r, and ends r with the
// peak memory and the load average.
func Run(ctx context.Context, m *clip.Model, opt Options, r *Report) error {
	want := map[string]bool{}
	for _, p := range opt.Parts {
		if !slices.Contains(parts, p) {
			return fmt.Errorf("unknown part %q (want %s)", p, strings.Join(parts, ","))
		}
		want[p] = true
	}
	if len(opt.Parts) == 0 {
		for _, p := range parts {
			want[p] = true
		}
	}
	if rss, ok := PeakRSS(); ok {
		r.LoadRSSBytes = &rss
	}
	r.GFLOPPerImg = VisionGFLOP(m.Config())
	if want["image"] {
		peak, err := tensor.FMAPeak(ctx, r.Threads, min(max(opt.Duration, 200*time.Millisecond), time.Second))
		if err != nil {
			return err
		}
		r.FMAPeak = peak
		for _, b := range opt.Batches {
			p, err := imageTower(ctx, m, b, opt.Duration)
			if err != nil {
				return err
			}
			r.Image = append(r.Image, p)
		}
	}
	if want["text"] {
		t, err := textTower(ctx, m, opt.Duration)
		if err != nil {
			return err
		}
		r.Text = &t
	}
	var jpegs [][]byte
	if want["preprocess"] || want["e2e"] {
		var err error
		if jpegs, err = JPEGs(min(opt.Images, PreprocessImages)); err != nil {
			return err
		}
	}
	if want["preprocess"] {
		t, err := preprocess(ctx, m.ImageConfig(), jpegs, opt.Duration)
		if err != nil {
			return err
		}
		r.Preprocess = &t
	}
	if want["e2e"] {
		t, err := endToEnd(ctx, m, jpegs, opt.Images, opt.Threads)
		if err != nil {
			return err
		}
		r.EndToEnd = &t
	}
	if rss, ok := PeakRSS(); ok {
		r.PeakRSSBytes = &rss
	}
	r.Machine.LoadAvgEnd = loadAverage()
	return nil
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
func summarise(times []time.Duration, items int) Timing {
	s := slices.Clone(times)
	slices.Sort(s)
	var med time.Duration
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Timing{Runs: len(s), Items: items, MedianMs: ms(med) / float64(items), MinMs: ms(s[0]) / float64(items)}
}

func imageTower(ctx context.Context, m *clip.Model, batch int, d time.Duration) (ImagePoint, error) {
	n := m.Config().Vision.NumChannels * m.Config().Vision.ImageSize * m.Config().Vision.ImageSize
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
		return ImagePoint{}, fmt.Errorf("image tower, batch %d: %w", batch, err)
	}
	p := ImagePoint{Batch: batch, Timing: summarise(times, batch)}
	p.GFLOPS = VisionGFLOP(m.Config()) / (p.MedianMs / 1000)
	return p, nil
}

func textTower(ctx context.Context, m *clip.Model, d time.Duration) (Timing, error) {
	tok, err := m.Tokenizer()
	if err != nil {
		return Timing{}, err
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
		return Timing{}, fmt.Errorf("text tower: %w", err)
	}
	return summarise(times, len(ids)), nil
}

// preprocess times decoding and preprocessing one JPEG at a time (through
// imageproc.Pipeline, as every front end, into a recycled tensor as package
// batch does), on one goroutine: the cost per image per core.
func preprocess(ctx context.Context, cfg imageproc.Config, jpegs [][]byte, d time.Duration) (Timing, error) {
	p, err := imageproc.NewPipeline(cfg, imageproc.Limits{})
	if err != nil {
		return Timing{}, err
	}
	var px []float32
	times, err := measure(ctx, d, func() error {
		for _, b := range jpegs {
			in, err := p.FromBytes("generated.jpg", b)
			if err != nil {
				return err
			}
			if px, err = p.PixelsInto(ctx, in, px); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Timing{}, fmt.Errorf("preprocessing: %w", err)
	}
	return summarise(times, len(jpegs)), nil
}

// endToEnd writes n JPEGs into cat/dog/wild folders of a temporary
// dataset and runs the eval pipeline over it once, without a cache, with
// the write-up's 8 prompts.
func endToEnd(ctx context.Context, m *clip.Model, jpegs [][]byte, n, workers int) (EndToEnd, error) {
	root, err := os.MkdirTemp("", "goclip-bench-")
	if err != nil {
		return EndToEnd{}, err
	}
	defer os.RemoveAll(root)
	labels := []string{"cat", "dog", "wild"}
	for _, l := range labels {
		if err := os.Mkdir(filepath.Join(root, l), 0o755); err != nil {
			return EndToEnd{}, err
		}
	}
	for i := 0; i < n; i++ {
		path := filepath.Join(root, labels[i%3], fmt.Sprintf("img%05d.jpg", i))
		if err := os.WriteFile(path, jpegs[i%len(jpegs)], 0o644); err != nil {
			return EndToEnd{}, err
		}
	}
	ds, err := eval.Scan(root)
	if err != nil {
		return EndToEnd{}, err
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
		return EndToEnd{}, fmt.Errorf("end to end: %w", err)
	}
	if len(res.Failures) > 0 {
		return EndToEnd{}, fmt.Errorf("end to end: %s: %s", res.Failures[0].Path, res.Failures[0].Reason)
	}
	st := res.Stats
	secs := st.TotalTime.Seconds()
	return EndToEnd{
		Images: st.Images, Workers: workers, Batch: batch, Seconds: secs,
		ImagesPerSec: float64(st.Images) / secs, EncodeShare: st.EncodeTime.Seconds() / secs,
	}, nil
}

// PreprocessImages is how many different JPEGs the preprocessing
// measurement decodes (and the end-to-end dataset repeats).
const PreprocessImages = 16

// JPEGs makes n different 512×512 JPEGs (quality 90, 4:2:0, as Go's
// encoder writes colour images): soft gradients, discs and noise, so
// decoding costs about what a photo costs.
func JPEGs(n int) ([][]byte, error) {
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

// VisionGFLOP counts the multiply-adds (×2) of one image through the image
// tower: patch embedding, per layer the q/k/v/out and MLP GEMMs plus the
// two attention products, and the projection. 8.82 for ViT-B/32.
func VisionGFLOP(c clip.Config) float64 {
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
		add("avxvnni", cpu.X86.HasAVXVNNI)
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

// WriteText prints the report as goclip bench shows it.
func (r *Report) WriteText(w io.Writer) {
	mc := r.Machine
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cpu\t%s, %d cores, GOMAXPROCS %d, %s/%s, %s\n", mc.CPU, mc.Cores, mc.GOMAXPROCS, mc.OS, mc.Arch, mc.Go)
	feat := strings.Join(mc.CPUFeatures, " ")
	if feat == "" {
		feat = "none of avx2 fma avx512f avx512vnni avxvnni avx512bf16 asimd sve"
	}
	fmt.Fprintf(tw, "cpu features\t%s\n", feat)
	fmt.Fprintf(tw, "kernels\t%s; int8: %s (GOCLIP_KERNELS and GOCLIP_INT8_KERNEL choose others)\n", mc.Kernels, mc.Int8Kernels)
	fmt.Fprintf(tw, "load average\t%s at start, %s at end (1, 5, 15 min)\n", mc.LoadAvgStart, mc.LoadAvgEnd)
	fmt.Fprintf(tw, "model\t%s\n", r.Model)
	if r.Synthetic {
		fmt.Fprintf(tw, "load\t%.0f ms to pack (after %.0f ms generating the weights)\n", r.LoadMs, r.GenerateMs)
	} else {
		how := "packing the towers"
		if r.PackCacheHits > 0 {
			how = fmt.Sprintf("%d of 2 towers mapped from the pack cache", r.PackCacheHits)
		}
		if r.PackLoadMs > 0 {
			how += fmt.Sprintf("; %.0f ms for the load that packed and saved them", r.PackLoadMs)
		}
		fmt.Fprintf(tw, "load\t%.0f ms (clip.Load, %s; files are memory-mapped, so this includes reading them unless the page cache has them)\n", r.LoadMs, how)
	}
	fmt.Fprintf(tw, "threads\t%d\n", r.Threads)
	if r.FMAPeak > 0 {
		fmt.Fprintf(tw, "fma peak\t%.0f GFLOP/s on %d threads (%s kernels' loop of independent FMAs: the most any GEMM can reach here)\n", r.FMAPeak, r.Threads, mc.Kernels)
	}
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
func (r *Report) printTable(w io.Writer) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tbatch\truns\tmedian ms/item\tmin ms/item\titems/s\tGFLOP/s\n")
	for _, p := range r.Image {
		of := ""
		if r.FMAPeak > 0 && r.Precision == string(clip.FP32) {
			of = fmt.Sprintf(" (%.0f%% of peak)", 100*p.GFLOPS/r.FMAPeak)
		}
		fmt.Fprintf(tw, "image tower\t%d\t%d\t%.2f\t%.2f\t%.1f\t%.1f%s\n", p.Batch, p.Runs, p.MedianMs, p.MinMs, 1000/p.MedianMs, p.GFLOPS, of)
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
