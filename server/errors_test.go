package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
)

// TestErrors runs every error path of the API and checks the status, the
// stable code, the JSON shape and the request id.
func TestErrors(t *testing.T) {
	_, ts := newTest(t, nil, Options{MaxBodyBytes: 2 << 20, MaxLabels: 5, MaxPrompts: 8, MaxPromptLen: 40, MaxImages: 2, MaxTexts: 3})
	chelsea := readKit(t, "chelsea.png")
	img := b64(chelsea)
	many := strings.Split("a,b,c,d,e,f", ",")
	long := strings.Repeat("x", 41)
	mp := func(fields ...string) (io.Reader, string) { return multipartBody(t, fields...) }
	type req struct {
		method, path, ct string
		body             func() io.Reader
	}
	jsonReq := func(path, body string) req {
		return req{"POST", path, "application/json", func() io.Reader { return strings.NewReader(body) }}
	}
	mpReq := func(fields ...string) req {
		body, ct := mp(fields...)
		data, _ := io.ReadAll(body)
		return req{"POST", "/v1/classify", ct, func() io.Reader { return bytes.NewReader(data) }}
	}
	quoted := func(ss []string) string { return `"` + strings.Join(ss, `","`) + `"` }

	for _, tc := range []struct {
		name   string
		req    req
		status int
		code   Code
	}{
		{"bad JSON", jsonReq("/v1/classify", `{"image": "abc", "labels": [`), 400, CodeInvalidJSON},
		{"empty JSON body", jsonReq("/v1/classify", ``), 400, CodeInvalidJSON},
		{"JSON trailing data", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["a"]} {}`), 400, CodeInvalidJSON},
		{"JSON unknown field", jsonReq("/v1/classify", `{"image":"`+img+`","label":["a"]}`), 400, CodeInvalidJSON},
		{"JSON wrong type", jsonReq("/v1/classify", `{"image":"`+img+`","labels":"a,b"}`), 400, CodeInvalidJSON},
		{"bad base64", jsonReq("/v1/classify", `{"image":"not base64!!","labels":["a"]}`), 400, CodeInvalidBase64},
		{"URL refused", jsonReq("/v1/classify", `{"image":"https://example.com/cat.jpg","labels":["a"]}`), 400, CodeInvalidBase64},
		{"missing image JSON", jsonReq("/v1/classify", `{"labels":["a"]}`), 400, CodeMissingImage},
		{"missing image multipart", mpReq("labels", "a,b"), 400, CodeMissingImage},
		{"bad image text", mpReq("image", string(readKit(t, "bad-text.png")), "labels", "a,b"), 400, CodeInvalidImage},
		{"bad image empty", jsonReq("/v1/classify", `{"image":"`+b64(readKit(t, "bad-empty.jpg"))+`","labels":["a"]}`), 400, CodeMissingImage},
		{"bad image truncated", mpReq("image", string(readKit(t, "bad-truncated.jpg")), "labels", "a,b"), 400, CodeInvalidImage},
		{"bad image cut", mpReq("image", string(readKit(t, "bad-cut.jpg")), "labels", "a,b"), 400, CodeInvalidImage},
		{"bomb image", mpReq("image", string(readKit(t, "bad-bomb.png")), "labels", "a,b"), 413, CodeImageTooLarge},
		{"bomb image JSON", jsonReq("/v1/classify", `{"image":"`+b64(readKit(t, "bad-bomb.png"))+`","labels":["a"]}`), 413, CodeImageTooLarge},
		{"no labels", jsonReq("/v1/classify", `{"image":"`+img+`"}`), 400, CodeMissingLabels},
		{"blank labels", mpReq("image", string(chelsea), "labels", " , ,"), 400, CodeInvalidLabels},
		{"blank label in JSON", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["cat"," "]}`), 400, CodeInvalidLabels},
		{"blank prompt label in JSON", jsonReq("/v1/classify", `{"image":"`+img+`","prompts":{"cat":["a cat"],"":["a dog"]}}`), 400, CodeInvalidLabels},
		{"prompt not a list", jsonReq("/v1/classify", `{"image":"`+img+`","prompts":{"cat":1}}`), 400, CodeInvalidLabels},
		{"trailing comma", mpReq("image", string(chelsea), "labels", "cat,dog,"), 400, CodeInvalidLabels},
		{"no labels in JSON", jsonReq("/v1/classify", `{"image":"`+img+`","labels":[]}`), 400, CodeMissingLabels},
		{"too many labels", jsonReq("/v1/classify", `{"image":"`+img+`","labels":[`+quoted(many)+`]}`), 400, CodeTooManyLabels},
		{"too many labels multipart", mpReq("image", string(chelsea), "labels", strings.Join(many, ",")), 400, CodeTooManyLabels},
		{"too many prompt classes", mpReq("image", string(chelsea), "prompts", "a:1\nb:2\nc:3\nd:4\ne:5\nf:6"), 400, CodeTooManyLabels},
		{"too many prompts", mpReq("image", string(chelsea), "prompts", strings.Repeat("a: a photo\n", 9)), 400, CodeTooManyPrompts},
		{"too many templated prompts", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["a","b","c"],"templates":["{} 1","{} 2","{} 3"]}`), 400, CodeTooManyPrompts},
		{"too-long label", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["`+long+`"]}`), 400, CodePromptTooLong},
		{"too-long prompt", mpReq("image", string(chelsea), "prompts", "cat: "+long), 400, CodePromptTooLong},
		{"too-long template", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["a"],"templates":["{}`+long+`"]}`), 400, CodePromptTooLong},
		{"duplicate labels", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["a","a"]}`), 400, CodeInvalidLabels},
		{"bad prompts text", mpReq("image", string(chelsea), "prompts", "no colon here"), 400, CodeInvalidLabels},
		{"bad prompts type", jsonReq("/v1/classify", `{"image":"`+img+`","prompts":[1,2]}`), 400, CodeInvalidLabels},
		{"labels and prompts", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["a"],"prompts":{"b":["c"]}}`), 400, CodeBadRequest},
		{"template without {}", jsonReq("/v1/classify", `{"image":"`+img+`","labels":["a"],"templates":["a photo"]}`), 400, CodeInvalidTemplate},
		{"bad ensemble", mpReq("image", string(chelsea), "labels", "a,b", "ensemble", "median"), 400, CodeInvalidEnsemble},
		{"unknown multipart field", mpReq("image", string(chelsea), "labels", "a,b", "colour", "red"), 400, CodeBadRequest},
		{"two images", mpReq("image", string(chelsea), "image", string(chelsea), "labels", "a,b"), 400, CodeBadRequest},
		{"bad multipart", req{"POST", "/v1/classify", "multipart/form-data; boundary=xyz", func() io.Reader {
			return strings.NewReader("--xyz\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc") // no closing boundary
		}}, 400, CodeBadRequest},
		{"oversize body JSON", jsonReq("/v1/classify", `{"image":"`+strings.Repeat("A", 3<<20)+`","labels":["a"]}`), 413, CodeBodyTooLarge},
		{"oversize body multipart", mpReq("image", strings.Repeat("x", 3<<20), "labels", "a"), 413, CodeBodyTooLarge},
		{"oversize embeddings", jsonReq("/v1/embeddings", `{"texts":["`+strings.Repeat("A", 3<<20)+`"]}`), 413, CodeBodyTooLarge},
		{"form encoding", req{"POST", "/v1/classify", "application/x-www-form-urlencoded", func() io.Reader { return strings.NewReader("a=b") }}, 415, CodeUnsupportedMedia},
		{"multipart embeddings", req{"POST", "/v1/embeddings", "multipart/form-data; boundary=x", func() io.Reader { return strings.NewReader("--x--") }}, 415, CodeUnsupportedMedia},
		{"wrong method classify", req{"GET", "/v1/classify", "", func() io.Reader { return nil }}, 405, CodeMethodNotAllowed},
		{"wrong method embeddings", req{"PUT", "/v1/embeddings", "", func() io.Reader { return nil }}, 405, CodeMethodNotAllowed},
		{"wrong method healthz", req{"POST", "/healthz", "", func() io.Reader { return nil }}, 405, CodeMethodNotAllowed},
		{"wrong method page", req{"DELETE", "/", "", func() io.Reader { return nil }}, 405, CodeMethodNotAllowed},
		{"not found", req{"GET", "/v2/classify", "", func() io.Reader { return nil }}, 404, CodeNotFound},
		{"embeddings nothing", jsonReq("/v1/embeddings", `{}`), 400, CodeBadRequest},
		{"embeddings bad JSON", jsonReq("/v1/embeddings", `{"texts": [1]}`), 400, CodeInvalidJSON},
		{"embeddings too many images", jsonReq("/v1/embeddings", `{"images":["`+img+`","`+img+`","`+img+`"]}`), 400, CodeTooManyInputs},
		{"embeddings too many texts", jsonReq("/v1/embeddings", `{"texts":["a","b","c","d"]}`), 400, CodeTooManyInputs},
		{"embeddings too-long text", jsonReq("/v1/embeddings", `{"texts":["`+long+`"]}`), 400, CodePromptTooLong},
		{"embeddings bad base64", jsonReq("/v1/embeddings", `{"images":["`+img+`","%%%"]}`), 400, CodeInvalidBase64},
		{"embeddings bad image", jsonReq("/v1/embeddings", `{"images":["`+b64([]byte("hello"))+`"]}`), 400, CodeInvalidImage},
		{"embeddings bomb", jsonReq("/v1/embeddings", `{"images":["`+b64(readKit(t, "bad-bomb.png"))+`"]}`), 413, CodeImageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.req.method, ts.URL+tc.req.path, tc.req.ct, tc.req.body())
			var e errorBody
			r.json(t, &e)
			if r.status != tc.status || e.Error.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, e.Error.Code, tc.status, tc.code, r.body)
			}
			if e.Error.Message == "" || e.Error.RequestID == "" || e.Error.RequestID != r.header.Get("X-Request-ID") {
				t.Errorf("error body %+v, X-Request-ID %q", e.Error, r.header.Get("X-Request-ID"))
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestAPIKey(t *testing.T) {
	_, ts := newTest(t, nil, Options{APIKey: "s3cret"})
	body := func() io.Reader { return strings.NewReader(`{"texts":["a cat"]}`) }
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"missing", nil, 401},
		{"wrong bearer", []string{"Authorization", "Bearer nope"}, 401},
		{"wrong scheme", []string{"Authorization", "Basic czNjcmV0"}, 401},
		{"prefix", []string{"X-API-Key", "s3cre"}, 401},
		{"bearer", []string{"Authorization", "Bearer s3cret"}, 200},
		{"bearer lower-case", []string{"Authorization", "bearer s3cret"}, 200},
		{"x-api-key", []string{"X-API-Key", "s3cret"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", ts.URL+"/v1/embeddings", "application/json", body(), tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 401 && (r.errorCode() != CodeUnauthorized || r.header.Get("WWW-Authenticate") == "") {
				t.Errorf("401 answer: %s %v", r.body, r.header)
			}
		})
	}
	if r := do(t, "GET", ts.URL+"/metrics", "", nil); r.status != 401 {
		t.Errorf("metrics without key: %d", r.status)
	}
	if r := do(t, "GET", ts.URL+"/metrics", "", nil, "X-API-Key", "s3cret"); r.status != 200 {
		t.Errorf("metrics with key: %d", r.status)
	}
	for _, p := range []string{"/", "/healthz", "/readyz"} {
		if r := do(t, "GET", ts.URL+p, "", nil); r.status != 200 {
			t.Errorf("%s without key: %d (want open)", p, r.status)
		}
	}
}

func TestRequestID(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	ids := map[string]bool{}
	for _, sent := range []string{"", "has space", strings.Repeat("x", 200), "ok-id_1.2"} {
		r := do(t, "GET", ts.URL+"/healthz", "", nil, "X-Request-ID", sent)
		got := r.header.Get("X-Request-ID")
		if sent == "ok-id_1.2" {
			if got != sent {
				t.Errorf("sent %q, echoed %q", sent, got)
			}
			continue
		}
		if got == "" || got == sent || ids[got] {
			t.Errorf("sent %q, got %q (want a fresh id)", sent, got)
		}
		ids[got] = true
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, key string
		ok        bool
	}{
		{"127.0.0.1:8080", "", true},
		{"127.5.5.5:8080", "", true},
		{"[::1]:8080", "", true},
		{"localhost:8080", "", true},
		{":8080", "", false},
		{"0.0.0.0:8080", "", false},
		{"[::]:8080", "", false},
		{"192.168.1.2:8080", "", false},
		{"example.com:80", "", false},
		{"0.0.0.0:8080", "k", true},
	} {
		if err := CheckAddr(tc.addr, tc.key); (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %q) = %v", tc.addr, tc.key, err)
		}
	}
}

func TestLRU(t *testing.T) {
	c := newLRU(2)
	v := func(x float32) []float32 { return []float32{x} }
	c.add("a", v(1))
	c.add("b", v(2))
	c.get("a") // b is now the oldest
	c.add("c", v(3))
	if _, ok := c.get("b"); ok {
		t.Error("b was not evicted")
	}
	for k, want := range map[string]float32{"a": 1, "c": 3} {
		if got, ok := c.get(k); !ok || got[0] != want {
			t.Errorf("get(%q) = %v, %v", k, got, ok)
		}
	}
	c.add("a", v(4))
	if got, _ := c.get("a"); got[0] != 4 || c.len() != 2 {
		t.Errorf("update: %v, len %d", got, c.len())
	}
	off := newLRU(-1)
	off.add("a", v(1))
	if _, ok := off.get("a"); ok || off.len() != 0 {
		t.Error("a disabled cache stored an entry")
	}
}

// TestPanicIsJSON checks a handler panic becomes a 500 JSON answer.
func TestPanicIsJSON(t *testing.T) {
	_, ts := newTest(t, panicModel{loadTiny(t)}, Options{})
	r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"texts": []string{"boom"}})
	if r.status != http.StatusInternalServerError || r.errorCode() != CodeInternal {
		t.Errorf("got %d %s", r.status, r.body)
	}
}

type panicModel struct{ clip.Encoder }

func (panicModel) EncodeTexts(_ context.Context, texts []string) ([][]float32, error) {
	panic(fmt.Sprintf("encoder bug on %q", texts))
}

// A text of more tokens than the model's context is refused as too long
// (not cut silently), unless the model truncates; a short one goes through.
func TestTextTooManyTokens(t *testing.T) {
	_, ts := newTest(t, nil, Options{})
	long := strings.Repeat("a ", 80) // 160 bytes, 82 tokens
	r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"texts": []string{long}})
	if r.status != http.StatusBadRequest || r.errorCode() != CodePromptTooLong || !strings.Contains(string(r.body), "77 tokens") {
		t.Errorf("embeddings: %d %s", r.status, r.body)
	}
	r = postJSON(t, ts.URL+"/v1/classify", map[string]any{"image": b64(readKit(t, "chelsea.png")), "labels": []string{"cat", long}})
	if r.status != http.StatusBadRequest || r.errorCode() != CodePromptTooLong {
		t.Errorf("classify: %d %s", r.status, r.body)
	}
	if r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"texts": []string{"a cat"}}); r.status != 200 {
		t.Errorf("a short text after the refusal: %d %s", r.status, r.body)
	}
}

// slowUpload opens a connection that sends the headers of a POST with a
// body of declared bytes, then only the first few bytes of it, and stalls.
func slowUpload(t *testing.T, addr string, declared int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"texts\": [\"", declared)
	return c
}

// Slow request bodies hold no admission slot: 70 connections trickling a
// 1 MB body do not keep honest requests out (the red-team case: every
// honest request got 429 for 60 s), a declared length over the limit is
// answered 413 before any of the body is read, and a body that does not
// arrive within the request timeout is cut off with 408.
func TestSlowBodies(t *testing.T) {
	_, ts := newTest(t, nil, Options{MaxQueue: 64, RequestTimeout: 2 * time.Second})
	addr := strings.TrimPrefix(ts.URL, "http://")
	var conns []net.Conn
	for range 70 {
		conns = append(conns, slowUpload(t, addr, 1<<20))
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the server take them in
	for i := range 3 {
		r := postJSON(t, ts.URL+"/v1/embeddings", map[string]any{"texts": []string{"a photo of a cat"}})
		if r.status != 200 {
			t.Fatalf("honest request %d while 70 bodies trickle: %d %s", i, r.status, r.body)
		}
	}

	// Over the limit by its header: 413 at once, the body never sent.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 30<<20)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(body), string(CodeBodyTooLarge)) || time.Since(start) > time.Second {
		t.Errorf("declared 30 MiB: %d %s after %v", resp.StatusCode, body, time.Since(start))
	}

	// A trickle is cut off after the request timeout.
	slow := slowUpload(t, addr, 1<<20)
	defer slow.Close()
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), string(CodeBodyTimeout)) {
		t.Errorf("trickling body: %d %s", resp.StatusCode, body)
	}
}
