// Command loadtest measures goclip's HTTP server under concurrent load. It
// starts the server in process on 127.0.0.1 (loopback only: it never sends
// a request anywhere else), runs N clients that post classify requests for
// T seconds (or until a request count is reached), stops by itself, and
// reports throughput, latency percentiles, the batch-size distribution of
// the image encoder, and answers by status.
//
// Run it from the repository root:
//
//	go run ./server/internal/loadtest -model testdata/kit/models/tiny-synth -clients 8 -duration 10s
//	go run ./server/internal/loadtest -synth testdata/kit/models/vit-b-32-synth/config.json -clients 8 -queue 16
//
// -synth builds the reference kit's full-size synthetic weights in memory
// from a config.json (no download, no model file). Clients that get 429
// wait -retry-wait and go on, as a client honouring Retry-After would
// (only faster). The exit status is 1 when any answer other than 200 or
// 429, or any transport error, was seen.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/synth"
	"github.com/goclip/goclip/server"
)

// Bounds on what one run may ask for.
const (
	maxClients  = 512
	maxDuration = 10 * time.Minute
)

func main() {
	model := flag.String("model", "", "model folder")
	synthCfg := flag.String("synth", "", "build synthetic weights in memory for this config.json instead of loading -model")
	clients := flag.Int("clients", 8, fmt.Sprintf("concurrent clients (at most %d)", maxClients))
	duration := flag.Duration("duration", 10*time.Second, fmt.Sprintf("how long the clients send requests (at most %v)", maxDuration))
	maxRequests := flag.Int("requests", 100_000, "stop after this many requests in all")
	imagesFlag := flag.String("images", "testdata/kit/images/chelsea.png,testdata/kit/images/coffee.png,testdata/kit/images/horse.png,testdata/kit/images/rocket.jpg",
		"comma-separated image files the clients send, in turn")
	labels := flag.String("labels", "cat,dog,horse,rocket,cup of coffee", "labels of every request")
	queue := flag.Int("queue", 64, "server: requests admitted at once (MaxQueue); more get 429")
	maxBatch := flag.Int("max-batch", 16, "server: most images per encoder call")
	batchWait := flag.Duration("batch-wait", 5*time.Millisecond, "server: how long a batch waits for more images")
	timeout := flag.Duration("timeout", 60*time.Second, "server: request timeout")
	retryWait := flag.Duration("retry-wait", 20*time.Millisecond, "client: pause after a 429")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Parse()
	if (*model == "") == (*synthCfg == "") || *clients < 1 || *clients > maxClients || *duration <= 0 || *duration > maxDuration || *maxRequests < 1 {
		flag.Usage()
		os.Exit(2)
	}
	rep, err := run(config{
		model: *model, synth: *synthCfg, clients: *clients, duration: *duration, maxRequests: *maxRequests,
		images: strings.Split(*imagesFlag, ","), labels: *labels, retryWait: *retryWait,
		opt: server.Options{MaxQueue: *queue, MaxBatch: *maxBatch, BatchWait: *batchWait, RequestTimeout: *timeout},
	})
	if err != nil {
		log.Fatal(err)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if rep.Failures > 0 {
		os.Exit(1)
	}
}

type config struct {
	model, synth string
	clients      int
	duration     time.Duration
	maxRequests  int
	images       []string
	labels       string
	retryWait    time.Duration
	opt          server.Options
}

// report is what a run measured.
type report struct {
	Model        string            `json:"model"`
	Clients      int               `json:"clients"`
	Queue        int               `json:"queue"`
	MaxBatch     int               `json:"max_batch"`
	Seconds      float64           `json:"seconds"`
	Requests     int               `json:"requests"`
	OK           int               `json:"ok"`
	Throughput   float64           `json:"ok_per_second"`
	P50          float64           `json:"p50_ms"` // latency of 200 answers
	P99          float64           `json:"p99_ms"`
	Max          float64           `json:"max_ms"`
	Statuses     map[string]int    `json:"statuses"` // "200", "429", "transport error", ...
	Failures     int               `json:"failures"` // answers other than 200 and 429
	BatchSizes   map[int]uint64    `json:"batch_sizes"`
	MeanBatch    float64           `json:"mean_batch"`
	EncoderCalls uint64            `json:"encoder_calls"`
	CacheHitRate float64           `json:"cache_hit_rate"`
	PeakRSSMiB   float64           `json:"peak_rss_mib"` // of this process (server and clients), from /proc
	Setup        map[string]string `json:"setup"`
}

func run(c config) (*report, error) {
	m, name, err := loadModel(c)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var images [][]byte
	for _, p := range c.images {
		data, err := os.ReadFile(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		images = append(images, data)
	}

	c.opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s := server.New(c.opt)
	if err := s.SetModel(m); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // loopback only
	if err != nil {
		return nil, err
	}
	url := "http://" + l.Addr().String() + "/v1/classify"
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx, l) }()

	client := &http.Client{
		Timeout:   c.opt.RequestTimeout + 10*time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: c.clients, MaxConnsPerHost: c.clients},
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		statuses  = map[string]int{}
		sent      int
	)
	deadline := time.Now().Add(c.duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < c.clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := i; time.Now().Before(deadline); k += c.clients {
				mu.Lock()
				if sent >= c.maxRequests {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				status, d := classify(client, url, images[k%len(images)], c.labels)
				mu.Lock()
				statuses[status]++
				if status == "200" {
					latencies = append(latencies, d)
				}
				mu.Unlock()
				if status == "429" {
					time.Sleep(c.retryWait)
				}
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	if err := <-served; err != nil {
		return nil, fmt.Errorf("server shutdown: %w", err)
	}

	st := s.Stats()
	rep := &report{
		Model: name, Clients: c.clients, Queue: c.opt.MaxQueue, MaxBatch: c.opt.MaxBatch,
		Seconds: elapsed.Seconds(), Requests: sent, OK: statuses["200"], Statuses: statuses,
		BatchSizes: st.BatchSizes, CacheHitRate: float64(st.CacheHits) / max(1, float64(st.CacheHits+st.CacheMisses)),
		PeakRSSMiB: peakRSS(),
		Setup: map[string]string{"batch_wait": c.opt.BatchWait.String(), "gomaxprocs": fmt.Sprint(runtime.GOMAXPROCS(0)),
			"images": fmt.Sprint(len(images)), "labels": c.labels},
	}
	rep.Throughput = float64(rep.OK) / elapsed.Seconds()
	for status, n := range statuses {
		if status != "200" && status != "429" {
			rep.Failures += n
		}
	}
	var imgs uint64
	for size, n := range st.BatchSizes {
		rep.EncoderCalls += n
		imgs += uint64(size) * n
	}
	rep.MeanBatch = float64(imgs) / max(1, float64(rep.EncoderCalls))
	slices.Sort(latencies)
	rep.P50, rep.P99, rep.Max = pct(latencies, 0.50), pct(latencies, 0.99), pct(latencies, 1)
	return rep, nil
}

// classify sends one multipart classify request and returns the status
// ("200", "429", ..., or "transport error") and the latency.
func classify(client *http.Client, url string, img []byte, labels string) (string, time.Duration) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "image")
	fw.Write(img)
	mw.WriteField("labels", labels)
	mw.Close()
	req, err := http.NewRequest("POST", url, &buf)
	if err != nil {
		return "request error", 0
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "client timeout", time.Since(t0)
		}
		return "transport error", time.Since(t0)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode), time.Since(t0)
}

// loadModel loads the model folder, or builds synthetic weights for a config.
func loadModel(c config) (*clip.Model, string, error) {
	if c.model != "" {
		m, err := clip.Load(c.model, clip.Options{})
		return m, c.model, err
	}
	cfg, err := clip.LoadConfig(c.synth)
	if err != nil {
		return nil, "", err
	}
	t0 := time.Now()
	w, err := synth.Generate(cfg)
	if err != nil {
		return nil, "", err
	}
	m, err := clip.New(cfg, w, clip.Options{})
	if err != nil {
		return nil, "", err
	}
	name := fmt.Sprintf("synthetic %s (vision %d×%d layers, patch %d; built in %.1fs)", filepath.Base(filepath.Dir(c.synth)),
		cfg.Vision.NumHiddenLayers, cfg.Vision.HiddenSize, cfg.Vision.PatchSize, time.Since(t0).Seconds())
	return m, name, nil
}

// pct returns the q-quantile (nearest rank) of sorted durations, in ms.
func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

// peakRSS reads VmHWM from /proc/self/status (0 where there is none).
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "model        %s\n", r.Model)
	fmt.Fprintf(w, "setup        %d clients, queue %d, max batch %d, batch wait %s, GOMAXPROCS %s\n",
		r.Clients, r.Queue, r.MaxBatch, r.Setup["batch_wait"], r.Setup["gomaxprocs"])
	fmt.Fprintf(w, "requests     %d in %.1f s; %d OK: %.1f classifications/s\n", r.Requests, r.Seconds, r.OK, r.Throughput)
	fmt.Fprintf(w, "latency      p50 %.1f ms, p99 %.1f ms, max %.1f ms (200 answers)\n", r.P50, r.P99, r.Max)
	var sts []string
	for _, k := range slices.Sorted(maps.Keys(r.Statuses)) {
		sts = append(sts, fmt.Sprintf("%s: %d", k, r.Statuses[k]))
	}
	fmt.Fprintf(w, "statuses     %s (failures, i.e. not 200/429: %d)\n", strings.Join(sts, ", "), r.Failures)
	var bs []string
	for _, k := range slices.Sorted(maps.Keys(r.BatchSizes)) {
		bs = append(bs, fmt.Sprintf("%d×%d", k, r.BatchSizes[k]))
	}
	fmt.Fprintf(w, "batches      %d encoder calls, mean %.2f images; size×calls: %s\n", r.EncoderCalls, r.MeanBatch, strings.Join(bs, " "))
	fmt.Fprintf(w, "text cache   %.1f%% hits\n", 100*r.CacheHitRate)
	fmt.Fprintf(w, "peak RSS     %.0f MiB (server, model and clients)\n", r.PeakRSSMiB)
}
