// Package server is goclip's HTTP service: zero-shot classification and
// embeddings over a JSON API, plus a one-page web UI, for a CLIP model
// loaded once.
//
// Endpoints:
//
//	POST /v1/classify    multipart/form-data (image, labels | prompts, ensemble, template)
//	                     or JSON {"image": "<base64>", "labels": [...]} / {"image", "prompts", "ensemble"}
//	POST /v1/embeddings  JSON {"images": ["<base64>", ...], "texts": [...], "normalize": true}
//	GET  /healthz        the process is up
//	GET  /readyz         the model is loaded and the server is not shutting down
//	GET  /metrics        Prometheus text format
//	GET  /               the web page
//
// Errors are JSON, {"error": {"code": "...", "message": "...", "request_id": "..."}},
// with a stable code (see the Code constants) and the matching HTTP status.
//
// Concurrent image requests are grouped by a batcher into one encoder call
// (up to Options.MaxBatch images, waiting at most Options.BatchWait for more),
// and prompt embeddings are kept in an LRU cache, so a repeated label set
// costs no text encoding. Every request is bounded: body size, image pixels
// (checked from the file header before decoding), label and prompt counts and
// lengths, a timeout, and an admission limit (Options.MaxQueue) that answers
// 429 with Retry-After instead of letting a queue grow. The server never
// fetches URLs on anyone's behalf: images come in the request body.
package server
