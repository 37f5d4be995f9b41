package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Code is a stable, machine-readable error code, returned in the "code" field
// of every error response. Clients should switch on it, not on the message.
type Code string

// The error codes and the HTTP status each comes with.
const (
	CodeBadRequest       Code = "bad_request"            // 400: malformed multipart, unknown field, …
	CodeInvalidJSON      Code = "invalid_json"           // 400
	CodeInvalidBase64    Code = "invalid_base64"         // 400
	CodeMissingImage     Code = "missing_image"          // 400
	CodeInvalidImage     Code = "invalid_image"          // 400: not an image, corrupt, truncated
	CodeImageTooLarge    Code = "image_too_large"        // 413: more pixels than Options.MaxPixels
	CodeBodyTooLarge     Code = "body_too_large"         // 413: more bytes than Options.MaxBodyBytes
	CodeMissingLabels    Code = "missing_labels"         // 400: neither labels nor prompts
	CodeInvalidLabels    Code = "invalid_labels"         // 400: empty or duplicate labels, bad prompts text
	CodeTooManyLabels    Code = "too_many_labels"        // 400: more classes than Options.MaxLabels
	CodeTooManyPrompts   Code = "too_many_prompts"       // 400: more prompts than Options.MaxPrompts
	CodePromptTooLong    Code = "prompt_too_long"        // 400: a label, prompt or text longer than Options.MaxPromptLen bytes, or than the model's 77 tokens
	CodeTooManyInputs    Code = "too_many_inputs"        // 400: embeddings request over MaxImages or MaxTexts
	CodeInvalidEnsemble  Code = "invalid_ensemble"       // 400
	CodeInvalidTemplate  Code = "invalid_template"       // 400: a template without "{}"
	CodeUnsupportedMedia Code = "unsupported_media_type" // 415
	CodeUnauthorized     Code = "unauthorized"           // 401: API key missing or wrong
	CodeNotFound         Code = "not_found"              // 404
	CodeMethodNotAllowed Code = "method_not_allowed"     // 405
	CodeBodyTimeout      Code = "body_timeout"           // 408: the body did not arrive within Options.RequestTimeout
	CodeQueueFull        Code = "queue_full"             // 429, with Retry-After
	CodeTimeout          Code = "timeout"                // 503: the request took longer than Options.RequestTimeout
	CodeNotReady         Code = "not_ready"              // 503: the model is still loading
	CodeShuttingDown     Code = "shutting_down"          // 503
	CodeClientClosed     Code = "client_closed"          // 499 (logs only): the client went away
	CodeInternal         Code = "internal"               // 500
)

// apiError is an error with its HTTP status and code; handlers return it and
// writeError renders it.
type apiError struct {
	status  int
	code    Code
	message string
}

func (e *apiError) Error() string { return string(e.code) + ": " + e.message }

func errorf(status int, code Code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error struct {
		Code      Code   `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

// writeError renders err as a JSON error response. Errors that are not
// *apiError become 500 internal, without their text (it may hold paths or
// other details a client has no business seeing); the log keeps the text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("internal error", "request_id", requestID(r.Context()), "err", err)
		ae = errorf(http.StatusInternalServerError, CodeInternal, "internal error")
	}
	switch ae.status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(s.opt.RetryAfterSeconds))
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="goclip"`)
	}
	var b errorBody
	b.Error.Code = ae.code
	b.Error.Message = ae.message
	b.Error.RequestID = requestID(r.Context())
	writeJSON(w, ae.status, b)
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"internal","message":"cannot encode the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}
