package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
)

// bodyKind is how a request body is encoded.
type bodyKind int

const (
	bodyJSON bodyKind = iota
	bodyMultipart
)

// contentKind reads the Content-Type of an API request: JSON (also when the
// header is missing) or, where allowed, multipart/form-data.
func contentKind(r *http.Request, multipartOK bool) (bodyKind, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return bodyJSON, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "bad Content-Type %q", ct)
	}
	switch {
	case mt == "application/json":
		return bodyJSON, nil
	case mt == "multipart/form-data" && multipartOK:
		return bodyMultipart, nil
	}
	want := "application/json"
	if multipartOK {
		want += " or multipart/form-data"
	}
	return 0, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type %s is not accepted: send %s", mt, want)
}

// bodyError maps an error met while reading the body: the size limit is 413,
// anything else the given fallback.
func (s *Server) bodyError(err error, fallback *apiError) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body larger than %d bytes", mbe.Limit)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ctxError(err)
	}
	return fallback
}

// decodeJSON decodes the whole body into v, refusing unknown fields and
// trailing data.
func (s *Server) decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if errors.Is(err, io.EOF) {
			msg = "empty body"
		}
		return s.bodyError(err, errorf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON: %s", msg))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return s.bodyError(err, errorf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON: data after the object"))
	}
	return nil
}

// decodeBase64 reads an image sent as base64 (standard or URL alphabet,
// padded or not), optionally as a data: URL. Only data: URLs are
// understood: the server never fetches anything.
func decodeBase64(field, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "data:") {
		_, payload, ok := strings.Cut(s, ",")
		if !ok || !strings.Contains(s[:len(s)-len(payload)], ";base64") {
			return nil, errorf(http.StatusBadRequest, CodeInvalidBase64, "%s: a data: URL must be base64 (data:image/png;base64,...)", field)
		}
		s = payload
	} else if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return nil, errorf(http.StatusBadRequest, CodeInvalidBase64, "%s: URLs are not fetched; send the image bytes as base64", field)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) == 0 {
				return nil, errorf(http.StatusBadRequest, CodeMissingImage, "%s: empty image", field)
			}
			return b, nil
		}
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return nil, errorf(http.StatusBadRequest, CodeInvalidBase64, "%s: not valid base64: %v", field, err)
}

// labelClasses makes classes from labels and templates, with the limits.
// A blank label is refused, as clip.LabelClasses refuses it everywhere.
func (s *Server) labelClasses(labels, templates []string) ([]clip.Class, error) {
	if len(labels) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeMissingLabels, "no labels: give labels (e.g. cat,dog) or prompts")
	}
	ls := make([]string, len(labels))
	for i, l := range labels {
		if ls[i] = strings.TrimSpace(l); ls[i] == "" {
			return nil, errorf(http.StatusBadRequest, CodeInvalidLabels, "label %d is empty", i+1)
		}
	}
	if len(ls) > s.opt.MaxLabels {
		return nil, errorf(http.StatusBadRequest, CodeTooManyLabels, "%d labels; at most %d are allowed", len(ls), s.opt.MaxLabels)
	}
	ts := make([]string, len(templates))
	for i, t := range templates {
		ts[i] = strings.TrimSpace(t)
		if err := clip.ValidateTemplate(ts[i]); err != nil {
			return nil, errorf(http.StatusBadRequest, CodeInvalidTemplate, "%v", err)
		}
		if len(ts[i]) > s.opt.MaxPromptLen {
			return nil, errorf(http.StatusBadRequest, CodePromptTooLong, "a template is %d bytes long; at most %d are allowed", len(ts[i]), s.opt.MaxPromptLen)
		}
	}
	if n := len(ls) * max(len(ts), 1); n > s.opt.MaxPrompts {
		return nil, errorf(http.StatusBadRequest, CodeTooManyPrompts, "%d labels × %d templates make %d prompts; at most %d are allowed", len(ls), len(ts), n, s.opt.MaxPrompts)
	}
	for _, l := range ls {
		if len(l) > s.opt.MaxPromptLen {
			return nil, errorf(http.StatusBadRequest, CodePromptTooLong, "label %.40q… is %d bytes long; at most %d are allowed", l, len(l), s.opt.MaxPromptLen)
		}
	}
	classes, err := clip.LabelClasses(ls, ts...)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidLabels, "%v", err)
	}
	return classes, s.checkClasses(classes)
}

// promptClasses parses prompts in the prompts-file form ("label: prompt"
// lines, or a JSON object of lists), with the limits.
func (s *Server) promptClasses(text []byte) ([]clip.Class, error) {
	classes, err := clip.ParsePrompts(bytes.NewReader(text))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidLabels, "prompts: %v", err)
	}
	return classes, s.checkClasses(classes)
}

// checkClasses applies the count and length limits and clip's own checks.
func (s *Server) checkClasses(classes []clip.Class) error {
	if len(classes) > s.opt.MaxLabels {
		return errorf(http.StatusBadRequest, CodeTooManyLabels, "%d classes; at most %d are allowed", len(classes), s.opt.MaxLabels)
	}
	n := 0
	for _, c := range classes {
		if len(c.Label) > s.opt.MaxPromptLen {
			return errorf(http.StatusBadRequest, CodePromptTooLong, "label %.40q… is %d bytes long; at most %d are allowed", c.Label, len(c.Label), s.opt.MaxPromptLen)
		}
		for _, p := range c.Prompts {
			if len(p) > s.opt.MaxPromptLen {
				return errorf(http.StatusBadRequest, CodePromptTooLong, "a prompt of %q is %d bytes long; at most %d are allowed", c.Label, len(p), s.opt.MaxPromptLen)
			}
		}
		n += len(c.Prompts)
	}
	if n > s.opt.MaxPrompts {
		return errorf(http.StatusBadRequest, CodeTooManyPrompts, "%d prompts; at most %d are allowed", n, s.opt.MaxPrompts)
	}
	if err := clip.ValidateClasses(classes); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidLabels, "%v", err)
	}
	return nil
}

// preprocess decodes an image through the model's pipeline (refusing it
// from its header when it has more than MaxPixels pixels) into the model's
// pixel tensor. At most DecodeWorkers images are decoded at once, and the
// pipeline's pixel budget bounds their memory.
func (s *Server) preprocess(ctx context.Context, b *backend, field string, data []byte) ([]float32, error) {
	release, err := slot(ctx, s.decode)
	if err != nil {
		return nil, err
	}
	defer release()
	in, err := b.pipeline.FromBytes(field, data)
	if err != nil {
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "%v", err)
	}
	px, err := b.pipeline.Pixels(ctx, in)
	switch {
	case ctx.Err() != nil:
		return nil, ctxError(ctx.Err())
	case errors.Is(err, imageproc.ErrTooLarge):
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeImageTooLarge, "%v", err)
	case err != nil:
		return nil, errorf(http.StatusBadRequest, CodeInvalidImage, "%v", err)
	}
	return px, nil
}

// submitImages queues pixels for the batcher.
func (s *Server) submitImages(ctx context.Context, b *backend, pixels [][]float32) (*job, error) {
	j := &job{ctx: ctx, pixels: pixels}
	switch err := b.batcher.submit(j); {
	case errors.Is(err, errQueueFull):
		return nil, errorf(http.StatusTooManyRequests, CodeQueueFull, "the image queue is full; retry later")
	case errors.Is(err, errClosed):
		return nil, errorf(http.StatusServiceUnavailable, CodeShuttingDown, "the server is shutting down")
	case err != nil:
		return nil, err
	}
	return j, nil
}

// wait returns j's result, or the request's context error.
func wait(ctx context.Context, j *job) (jobResult, error) {
	select {
	case r := <-j.done:
		if r.err != nil {
			if ctx.Err() != nil {
				return r, ctxError(ctx.Err())
			}
			return r, fmt.Errorf("image encoder: %w", r.err)
		}
		return r, nil
	case <-ctx.Done():
		return jobResult{}, ctxError(ctx.Err())
	}
}

// embedTexts returns the embeddings of texts: from the LRU cache where it
// can, from another request that is already encoding the same text (so a
// burst of requests with a new label set encodes it once), and from one
// text-encoder call for the rest.
func (s *Server) embedTexts(ctx context.Context, b *backend, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	where := map[string][]int{} // missing text -> its positions in texts
	var mine []string           // texts this request encodes
	theirs := map[string]*flight{}
	misses := 0
	s.flightMu.Lock()
	for i, t := range texts {
		if e, ok := s.cache.get(t); ok {
			out[i] = e
			continue
		}
		misses++
		if _, seen := where[t]; !seen {
			if f := s.flights[t]; f != nil {
				theirs[t] = f
			} else {
				s.flights[t] = &flight{done: make(chan struct{})}
				mine = append(mine, t)
			}
		}
		where[t] = append(where[t], i)
	}
	s.flightMu.Unlock()
	s.metrics.cache(len(texts)-misses, misses)

	fill := func(t string, e []float32) {
		for _, i := range where[t] {
			out[i] = e
		}
	}
	if len(mine) > 0 {
		emb, err := s.encodeTexts(ctx, b, mine)
		s.flightMu.Lock()
		for k, t := range mine {
			f := s.flights[t]
			delete(s.flights, t)
			if err != nil {
				f.err = err
			} else {
				f.emb = emb[k]
				s.cache.add(t, emb[k])
				fill(t, emb[k])
			}
			close(f.done)
		}
		s.flightMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	var retry []string // texts whose other request failed (e.g. timed out)
	for t, f := range theirs {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctxError(ctx.Err())
		}
		if f.err != nil {
			retry = append(retry, t)
			continue
		}
		fill(t, f.emb)
	}
	if len(retry) > 0 {
		emb, err := s.encodeTexts(ctx, b, retry)
		if err != nil {
			return nil, err
		}
		for k, t := range retry {
			s.cache.add(t, emb[k])
			fill(t, emb[k])
		}
	}
	return out, nil
}

// flight is a text being encoded by one request, which others wait for.
type flight struct {
	done chan struct{} // closed when emb or err is set
	emb  []float32
	err  error
}

// encodeTexts runs one text-encoder call, at most TextWorkers at a time.
func (s *Server) encodeTexts(ctx context.Context, b *backend, texts []string) ([][]float32, error) {
	release, err := slot(ctx, s.textSlot)
	if err != nil {
		return nil, err
	}
	emb, err := b.model.EncodeTexts(ctx, texts)
	release()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx.Err())
		}
		if errors.Is(err, clip.ErrTextTooLong) {
			return nil, errorf(http.StatusBadRequest, CodePromptTooLong, "%v", err)
		}
		return nil, fmt.Errorf("text encoder: %w", err)
	}
	if len(emb) != len(texts) {
		return nil, fmt.Errorf("text encoder returned %d embeddings for %d texts", len(emb), len(texts))
	}
	s.metrics.textEncode(len(texts))
	return emb, nil
}

// ms converts a duration to milliseconds for timing_ms.
func ms[D ~int64](d D) float64 { return float64(d) / 1e6 }
