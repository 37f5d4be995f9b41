package server

import (
	_ "embed"
	"net/http"
	"strconv"
)

// page is the web UI: one self-contained HTML file (inline CSS and script,
// no external assets, no build step) that posts to /v1/classify.
//
//go:embed page.html
var page []byte

// pageCSP allows the page's inline style and script, images from the
// user's own file (blob:), and requests to this server only.
const pageCSP = "default-src 'none'; img-src blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(page)
	}
	return nil
}
