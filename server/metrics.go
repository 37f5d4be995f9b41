package server

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metrics holds the server's counters and histograms and writes them in the
// Prometheus text exposition format (version 0.0.4). It is written by hand:
// a dozen series do not justify a client library.
type metrics struct {
	mu          sync.Mutex
	requests    map[[2]string]uint64 // route, status code
	latency     map[string]*histogram
	batchSize   *histogram
	batchTime   *histogram
	batchExact  map[int]uint64 // exact batch-size distribution, for Stats
	encodeCalls map[string]uint64
	encoded     map[string]uint64
	cacheHits   uint64
	cacheMisses uint64
}

// Histogram buckets: request latency in seconds, batch sizes in images.
var (
	latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	batchBuckets   = []float64{1, 2, 4, 8, 16, 32, 64, 128}
)

func newMetrics() *metrics {
	return &metrics{
		requests:    map[[2]string]uint64{},
		latency:     map[string]*histogram{},
		batchSize:   newHistogram(batchBuckets),
		batchTime:   newHistogram(latencyBuckets),
		batchExact:  map[int]uint64{},
		encodeCalls: map[string]uint64{},
		encoded:     map[string]uint64{},
	}
}

// histogram is a cumulative-bucket histogram (guarded by metrics.mu).
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; last is +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v) // first bound >= v
	h.counts[i]++
	h.sum += v
	h.count++
}

func (m *metrics) request(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	h := m.latency[route]
	if h == nil {
		h = newHistogram(latencyBuckets)
		m.latency[route] = h
	}
	h.observe(d.Seconds())
}

func (m *metrics) batch(images int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batchSize.observe(float64(images))
	m.batchTime.observe(d.Seconds())
	m.batchExact[images]++
	m.encodeCalls["image"]++
	m.encoded["image"] += uint64(images)
}

func (m *metrics) textEncode(texts int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.encodeCalls["text"]++
	m.encoded["text"] += uint64(texts)
}

func (m *metrics) cache(hits, misses int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cacheHits += uint64(hits)
	m.cacheMisses += uint64(misses)
}

// gauges are the values read at scrape time.
type gauges struct {
	ready, queueDepth, inflight, cacheEntries float64
}

// write renders every series in the Prometheus text format.
func (m *metrics) write(w io.Writer, g gauges) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := bufio.NewWriter(w)
	header := func(name, typ, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}

	header("goclip_http_requests_total", "counter", "HTTP requests by route and status code.")
	keys := slices.SortedFunc(maps.Keys(m.requests), func(a, b [2]string) int {
		return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1])
	})
	for _, k := range keys {
		fmt.Fprintf(b, "goclip_http_requests_total{route=%s,code=%s} %d\n", quote(k[0]), quote(k[1]), m.requests[k])
	}

	header("goclip_http_request_duration_seconds", "histogram", "HTTP request latency by route.")
	for _, route := range slices.Sorted(maps.Keys(m.latency)) {
		writeHistogram(b, "goclip_http_request_duration_seconds", "route="+quote(route), m.latency[route])
	}

	header("goclip_batch_size", "histogram", "Images per image-encoder call (dynamic batching).")
	writeHistogram(b, "goclip_batch_size", "", m.batchSize)
	header("goclip_batch_duration_seconds", "histogram", "Time of one image-encoder call.")
	writeHistogram(b, "goclip_batch_duration_seconds", "", m.batchTime)

	header("goclip_encoder_calls_total", "counter", "Encoder calls by tower.")
	for _, t := range []string{"image", "text"} {
		fmt.Fprintf(b, "goclip_encoder_calls_total{tower=%q} %d\n", t, m.encodeCalls[t])
	}
	header("goclip_encoded_inputs_total", "counter", "Images and texts encoded, by tower.")
	for _, t := range []string{"image", "text"} {
		fmt.Fprintf(b, "goclip_encoded_inputs_total{tower=%q} %d\n", t, m.encoded[t])
	}

	header("goclip_text_cache_hits_total", "counter", "Prompt embeddings served from the LRU cache.")
	fmt.Fprintf(b, "goclip_text_cache_hits_total %d\n", m.cacheHits)
	header("goclip_text_cache_misses_total", "counter", "Prompt embeddings that had to be computed.")
	fmt.Fprintf(b, "goclip_text_cache_misses_total %d\n", m.cacheMisses)
	header("goclip_text_cache_entries", "gauge", "Prompt embeddings in the LRU cache.")
	fmt.Fprintf(b, "goclip_text_cache_entries %s\n", num(g.cacheEntries))

	header("goclip_queue_depth", "gauge", "Images waiting for the image encoder.")
	fmt.Fprintf(b, "goclip_queue_depth %s\n", num(g.queueDepth))
	header("goclip_inflight_requests", "gauge", "Classify and embeddings requests admitted and not yet answered.")
	fmt.Fprintf(b, "goclip_inflight_requests %s\n", num(g.inflight))
	header("goclip_ready", "gauge", "1 when the model is loaded and the server is not shutting down.")
	fmt.Fprintf(b, "goclip_ready %s\n", num(g.ready))
	return b.Flush()
}

func writeHistogram(b *bufio.Writer, name, labels string, h *histogram) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, bound := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{%s%sle=%q} %d\n", name, labels, sep, num(bound), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, cum)
	braces := ""
	if labels != "" {
		braces = "{" + labels + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %s\n", name, braces, num(h.sum))
	fmt.Fprintf(b, "%s_count%s %d\n", name, braces, h.count)
}

// quote renders a label value: backslash, double quote and newline escaped.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func num(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Stats is a snapshot of the server's work, for load tests and monitoring
// that want exact numbers rather than histogram buckets.
type Stats struct {
	// BatchSizes maps a batch size (images per encoder call) to the number
	// of encoder calls of that size.
	BatchSizes map[int]uint64
	// Requests maps "route status" (e.g. "classify 200") to a count.
	Requests    map[string]uint64
	CacheHits   uint64
	CacheMisses uint64
	TextCalls   uint64
}

func (m *metrics) stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Stats{
		BatchSizes:  maps.Clone(m.batchExact),
		Requests:    map[string]uint64{},
		CacheHits:   m.cacheHits,
		CacheMisses: m.cacheMisses,
		TextCalls:   m.encodeCalls["text"],
	}
	for k, v := range m.requests {
		st.Requests[k[0]+" "+k[1]] = v
	}
	return st
}
