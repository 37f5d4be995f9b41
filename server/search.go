package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/index"
)

// maxTop bounds the results one search returns.
const maxTop = 1000

// searchJSON is the body of /v1/search: a query (a text, or terms joined
// by + and -, as goclip search takes them; image:PATH terms are not
// allowed over HTTP), an image (base64), or both; or a raw vector.
type searchJSON struct {
	Query  string    `json:"query"`
	Image  string    `json:"image"`
	Vector []float32 `json:"vector"`
	Top    int       `json:"top"` // default 10
	// Thumbnails asks for each hit's image as a small JPEG data URL
	// (longest side 192 pixels), as the page shows them.
	Thumbnails bool `json:"thumbnails"`
}

type searchHit struct {
	Rank      int     `json:"rank"`
	Path      string  `json:"path"`
	Score     float32 `json:"score"`
	Thumbnail string  `json:"thumbnail,omitempty"` // data:image/jpeg;base64,…; absent if the file cannot be read now
}

// thumbSide is the longest side of a hit's thumbnail, in pixels.
const thumbSide = 192

type searchResponse struct {
	Model   string             `json:"model"`
	Images  int                `json:"images"` // in the index
	Results []searchHit        `json:"results"`
	Timing  map[string]float64 `json:"timing_ms"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	x := s.opt.Index
	if x == nil {
		return errorf(http.StatusNotFound, CodeNotFound, "this server has no search index (start it with goclip serve --index FILE)")
	}
	b, r, done, err := s.admitRequest(w, r)
	if err != nil {
		return err
	}
	defer done()
	ctx := r.Context()
	if _, err := contentKind(r, false); err != nil {
		return err
	}
	var req searchJSON
	if err := s.decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Top == 0 {
		req.Top = 10
	}
	switch {
	case req.Top < 1 || req.Top > maxTop:
		return errorf(http.StatusBadRequest, CodeBadRequest, "top %d: want 1 to %d", req.Top, maxTop)
	case req.Vector != nil && (req.Query != "" || req.Image != ""):
		return errorf(http.StatusBadRequest, CodeBadRequest, "give a query and/or an image, or a vector alone")
	case req.Vector == nil && req.Query == "" && req.Image == "":
		return errorf(http.StatusBadRequest, CodeBadRequest, "nothing to search for: give \"query\", \"image\" (base64) or \"vector\"")
	case req.Vector != nil && len(req.Vector) != x.Dim():
		return errorf(http.StatusBadRequest, CodeBadRequest, "vector of %d values; the index holds %d", len(req.Vector), x.Dim())
	case len(req.Query) > s.opt.MaxPromptLen*8:
		return errorf(http.StatusBadRequest, CodePromptTooLong, "query is %d bytes long; at most %d are allowed", len(req.Query), s.opt.MaxPromptLen*8)
	}

	t0 := time.Now()
	q := req.Vector
	if q == nil {
		if q, err = s.queryVector(r, b, req); err != nil {
			return err
		}
	}
	embedded := time.Now()
	hits, err := x.Search(ctx, q, req.Top, 0)
	if err != nil {
		return err
	}
	out := searchResponse{Model: x.Model(), Images: x.Len(), Results: make([]searchHit, len(hits)), Timing: map[string]float64{
		"embed": ms(embedded.Sub(t0)), "search": ms(time.Since(embedded)),
	}}
	for i, h := range hits {
		out.Results[i] = searchHit{Rank: i + 1, Path: h.Path, Score: h.Score}
		if req.Thumbnails {
			if jpg, err := b.pipeline.Thumbnail(ctx, h.Path, thumbSide); err == nil {
				out.Results[i].Thumbnail = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpg)
			}
		}
	}
	if req.Thumbnails {
		out.Timing["thumbnails"] = ms(time.Since(embedded)) - out.Timing["search"]
	}
	out.Timing["total"] = ms(time.Since(start))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryVector embeds a request's query terms and image and combines them
// as goclip search does (index.Combine).
func (s *Server) queryVector(r *http.Request, b *backend, req searchJSON) ([]float32, error) {
	ctx := r.Context()
	var terms []index.Term
	if req.Query != "" {
		var err error
		if terms, err = index.ParseQuery(req.Query); err != nil {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "%v", err)
		}
	}
	var texts []string
	for _, t := range terms {
		if t.Image != "" {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "query term image:%s: files are not read over HTTP; send the image in \"image\"", t.Image)
		}
		if len(t.Text) > s.opt.MaxPromptLen {
			return nil, errorf(http.StatusBadRequest, CodePromptTooLong, "query text is %d bytes long; at most %d are allowed", len(t.Text), s.opt.MaxPromptLen)
		}
		texts = append(texts, t.Text)
	}
	var embs [][]float32
	if len(texts) > 0 {
		var err error
		if embs, err = s.embedTexts(ctx, b, texts); err != nil {
			return nil, err
		}
	}
	if req.Image != "" {
		data, err := decodeBase64("image", req.Image)
		if err != nil {
			return nil, err
		}
		px, err := s.preprocess(ctx, b, "image", data)
		if err != nil {
			return nil, err
		}
		j, err := s.submitImages(ctx, b, [][]float32{px})
		if err != nil {
			return nil, err
		}
		res, err := wait(ctx, j)
		if err != nil {
			return nil, err
		}
		terms = append(terms, index.Term{Weight: 1, Image: "image"})
		embs = append(embs, res.emb[0])
	}
	v, err := index.Combine(terms, embs)
	if errors.Is(err, index.ErrTermsCancel) {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "%v", err)
	}
	return v, err
}

// checkIndex refuses an index made by another model than m.
func checkIndex(x *index.Index, m clip.Encoder) error {
	if x == nil {
		return nil
	}
	if err := x.CheckModel(m.Fingerprint()); err != nil {
		return err
	}
	if x.Dim() != m.EmbedDim() {
		return fmt.Errorf("index %s: vectors of %d values, the model makes %d", x.Path(), x.Dim(), m.EmbedDim())
	}
	return nil
}
