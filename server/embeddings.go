package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/goclip/goclip/clip"
)

// embeddingsJSON is the body of /v1/embeddings.
type embeddingsJSON struct {
	Images    []string `json:"images"` // base64 or data: URLs
	Texts     []string `json:"texts"`
	Normalize bool     `json:"normalize"` // L2-normalise; default: CLIPModel's projected embeddings as they are
}

type embedding struct {
	Kind      string    `json:"kind"` // "image" or "text"
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// embeddingsResponse is the answer to /v1/embeddings: images first, then
// texts, each in request order.
type embeddingsResponse struct {
	Model  string             `json:"model"` // the model's fingerprint: same value, same embeddings
	Data   []embedding        `json:"data"`
	Timing map[string]float64 `json:"timing_ms"`
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	b, r, done, err := s.admitRequest(w, r)
	if err != nil {
		return err
	}
	defer done()
	ctx := r.Context()
	if _, err := contentKind(r, false); err != nil {
		return err
	}
	var req embeddingsJSON
	if err := s.decodeJSON(r, &req); err != nil {
		return err
	}
	switch {
	case len(req.Images) == 0 && len(req.Texts) == 0:
		return errorf(http.StatusBadRequest, CodeBadRequest, "nothing to embed: give \"images\" (base64) and/or \"texts\"")
	case len(req.Images) > s.opt.MaxImages:
		return errorf(http.StatusBadRequest, CodeTooManyInputs, "%d images; at most %d are allowed per request", len(req.Images), s.opt.MaxImages)
	case len(req.Texts) > s.opt.MaxTexts:
		return errorf(http.StatusBadRequest, CodeTooManyInputs, "%d texts; at most %d are allowed per request", len(req.Texts), s.opt.MaxTexts)
	}
	for i, t := range req.Texts {
		if len(t) > s.opt.MaxPromptLen {
			return errorf(http.StatusBadRequest, CodePromptTooLong, "texts[%d] is %d bytes long; at most %d are allowed", i, len(t), s.opt.MaxPromptLen)
		}
	}

	t0 := time.Now()
	pixels := make([][]float32, len(req.Images))
	for i, im := range req.Images {
		field := fmt.Sprintf("images[%d]", i)
		data, err := decodeBase64(field, im)
		if err != nil {
			return err
		}
		req.Images[i] = "" // let the base64 text go
		if pixels[i], err = s.preprocess(ctx, b, field, data); err != nil {
			return err
		}
	}
	decoded := time.Now()
	var j *job
	if len(pixels) > 0 {
		if j, err = s.submitImages(ctx, b, pixels); err != nil {
			return err
		}
	}
	var temb [][]float32
	if len(req.Texts) > 0 {
		if temb, err = s.embedTexts(ctx, b, req.Texts); err != nil {
			return err
		}
	}
	textDone := time.Now()
	out := embeddingsResponse{Model: b.model.Fingerprint(), Data: []embedding{}, Timing: map[string]float64{
		"decode": ms(decoded.Sub(t0)),
		"text":   ms(textDone.Sub(decoded)),
	}}
	vec := func(v []float32) []float32 {
		if req.Normalize {
			return clip.Normalize(v)
		}
		return v
	}
	if j != nil {
		res, err := wait(ctx, j)
		if err != nil {
			return err
		}
		out.Timing["queue"], out.Timing["encode"] = ms(res.queued), ms(res.encode)
		for i, e := range res.emb {
			out.Data = append(out.Data, embedding{"image", i, vec(e)})
		}
	}
	for i, e := range temb {
		out.Data = append(out.Data, embedding{"text", i, vec(e)})
	}
	out.Timing["total"] = ms(time.Since(start))
	writeJSON(w, http.StatusOK, out)
	return nil
}
