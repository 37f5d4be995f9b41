package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
)

// classifyJSON is the JSON form of a classify request.
type classifyJSON struct {
	Image     string   `json:"image"`     // base64 or a data: URL
	Labels    []string `json:"labels"`    // each becomes a prompt through the templates
	Templates []string `json:"templates"` // default "a photo of a {}."
	// Prompts is {"label": ["prompt", ...]} (key order kept) or a string in
	// the prompts-file form ("label: prompt" lines).
	Prompts  json.RawMessage `json:"prompts"`
	Ensemble string          `json:"ensemble"` // "max" (default) or "mean"
}

// classifyInput is a parsed classify request, from either body form.
type classifyInput struct {
	image    []byte
	classes  []clip.Class
	ensemble clip.Ensemble
}

type classProb struct {
	Label       string  `json:"label"`
	Probability float64 `json:"probability"`
}

type promptProb struct {
	Label       string  `json:"label"`
	Prompt      string  `json:"prompt"`
	Probability float64 `json:"probability"`
}

// classifyResponse is the answer to /v1/classify.
type classifyResponse struct {
	Label         string             `json:"label"`
	Score         float64            `json:"score"`
	Probabilities map[string]float64 `json:"probabilities"`
	Classes       []classProb        `json:"classes"` // in the request's order
	Prompts       []promptProb       `json:"prompts"`
	Ensemble      string             `json:"ensemble"`
	BatchSize     int                `json:"batch_size"` // images in the encoder call this image went through
	Timing        map[string]float64 `json:"timing_ms"`  // decode, text, queue, encode, total
}

func (s *Server) handleClassify(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	b, r, done, err := s.admitRequest(w, r)
	if err != nil {
		return err
	}
	defer done()
	ctx := r.Context()

	kind, err := contentKind(r, true)
	if err != nil {
		return err
	}
	var in classifyInput
	if kind == bodyMultipart {
		in, err = s.parseClassifyMultipart(r)
	} else {
		in, err = s.parseClassifyJSON(r)
	}
	if err != nil {
		return err
	}

	t0 := time.Now()
	px, err := s.preprocess(ctx, b, "image", in.image)
	if err != nil {
		return err
	}
	in.image = nil
	decoded := time.Now()
	j, err := s.submitImages(ctx, b, [][]float32{px})
	if err != nil {
		return err
	}
	// The prompts are embedded while the image waits for its batch.
	var texts []string
	for _, c := range in.classes {
		texts = append(texts, c.Prompts...)
	}
	temb, err := s.embedTexts(ctx, b, texts)
	if err != nil {
		return err
	}
	textDone := time.Now()
	cl, err := clip.NewClassifierFromEmbeddings(in.classes, temb, b.model.LogitScale(), in.ensemble)
	if err != nil {
		return err
	}
	res, err := wait(ctx, j)
	if err != nil {
		return err
	}
	p, err := cl.Classify(res.emb[0])
	if err != nil {
		return err
	}

	out := classifyResponse{
		Label: p.Label, Score: p.Score, Probabilities: map[string]float64{},
		Ensemble: in.ensemble.String(), BatchSize: res.batch,
		Timing: map[string]float64{
			"parse":  ms(t0.Sub(start)),
			"decode": ms(decoded.Sub(t0)),
			"text":   ms(textDone.Sub(decoded)),
			"queue":  ms(res.queued),
			"encode": ms(res.encode),
		},
	}
	classes := cl.Classes()
	for k, c := range classes {
		out.Probabilities[c.Label] = p.ClassProbs[k]
		out.Classes = append(out.Classes, classProb{c.Label, p.ClassProbs[k]})
	}
	for i, pr := range cl.Prompts() {
		out.Prompts = append(out.Prompts, promptProb{classes[pr.Class].Label, pr.Text, p.PromptProbs[i]})
	}
	out.Timing["total"] = ms(time.Since(start))
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) parseClassifyJSON(r *http.Request) (classifyInput, error) {
	var req classifyJSON
	if err := s.decodeJSON(r, &req); err != nil {
		return classifyInput{}, err
	}
	if strings.TrimSpace(req.Image) == "" {
		return classifyInput{}, errorf(http.StatusBadRequest, CodeMissingImage, "no image: send \"image\" as base64")
	}
	img, err := decodeBase64("image", req.Image)
	if err != nil {
		return classifyInput{}, err
	}
	var prompts []byte
	if p := strings.TrimSpace(string(req.Prompts)); p != "" && p != "null" {
		prompts = req.Prompts
		if p[0] == '"' { // the prompts-file form, as a JSON string
			var text string
			if err := json.Unmarshal(req.Prompts, &text); err != nil {
				return classifyInput{}, errorf(http.StatusBadRequest, CodeInvalidJSON, "prompts: %v", err)
			}
			prompts = []byte(text)
		} else if p[0] != '{' {
			return classifyInput{}, errorf(http.StatusBadRequest, CodeInvalidLabels, "prompts: want an object {\"label\": [\"prompt\", ...]} or a string of \"label: prompt\" lines")
		}
	}
	return s.classifyInput(img, req.Labels, req.Templates, prompts, req.Ensemble)
}

// classifyInput checks the parts common to both body forms.
func (s *Server) classifyInput(img []byte, labels, templates []string, prompts []byte, ensemble string) (classifyInput, error) {
	in := classifyInput{image: img}
	if len(img) == 0 {
		return in, errorf(http.StatusBadRequest, CodeMissingImage, "no image")
	}
	var err error
	if in.ensemble, err = clip.ParseEnsemble(ensemble); err != nil {
		return in, errorf(http.StatusBadRequest, CodeInvalidEnsemble, "%v", err)
	}
	switch {
	case len(labels) > 0 && len(prompts) > 0:
		return in, errorf(http.StatusBadRequest, CodeBadRequest, "give labels or prompts, not both")
	case len(prompts) > 0:
		if len(templates) > 0 {
			return in, errorf(http.StatusBadRequest, CodeBadRequest, "templates apply to labels, not to prompts")
		}
		in.classes, err = s.promptClasses(prompts)
	default:
		in.classes, err = s.labelClasses(labels, templates)
	}
	return in, err
}

// multipart field limits: a text field is small; the image is bounded by
// the body limit.
const maxTextField = 1 << 20

func (s *Server) parseClassifyMultipart(r *http.Request) (classifyInput, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return classifyInput{}, errorf(http.StatusBadRequest, CodeBadRequest, "multipart: %v", err)
	}
	var (
		img       []byte
		prompts   string
		ensemble  string
		labels    []string
		templates []string
		seenImage bool
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return classifyInput{}, s.bodyError(err, errorf(http.StatusBadRequest, CodeBadRequest, "multipart: %v", err))
		}
		name := part.FormName()
		limit := int64(maxTextField)
		if name == "image" {
			limit = s.opt.MaxBodyBytes
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		part.Close()
		if err != nil {
			return classifyInput{}, s.bodyError(err, errorf(http.StatusBadRequest, CodeBadRequest, "multipart field %q: %v", name, err))
		}
		if int64(len(data)) > limit {
			return classifyInput{}, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "multipart field %q is larger than %d bytes", name, limit)
		}
		switch name {
		case "image":
			if seenImage {
				return classifyInput{}, errorf(http.StatusBadRequest, CodeBadRequest, "more than one image; /v1/classify takes one")
			}
			seenImage, img = true, data
		case "labels":
			ls, err := clip.SplitLabels(string(data))
			if err != nil {
				return classifyInput{}, errorf(http.StatusBadRequest, CodeInvalidLabels, "labels: %v", err)
			}
			labels = append(labels, ls...)
		case "prompts":
			prompts += string(data) + "\n"
		case "ensemble":
			ensemble = string(data)
		case "templates", "template": // "templates" as in JSON; "template" is the older name
			templates = append(templates, string(data))
		default:
			return classifyInput{}, errorf(http.StatusBadRequest, CodeBadRequest, "unknown multipart field %q (want image, labels, prompts, ensemble, templates)", name)
		}
	}
	if !seenImage {
		return classifyInput{}, errorf(http.StatusBadRequest, CodeMissingImage, "no image: send the file in the \"image\" field")
	}
	var p []byte
	if strings.TrimSpace(prompts) != "" {
		p = []byte(prompts)
	}
	return s.classifyInput(img, labels, templates, p, ensemble)
}
