package jsonerr

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestExplain(t *testing.T) {
	type tower struct {
		HiddenSize int     `json:"hidden_size"`
		Eps        float64 `json:"layer_norm_eps"`
		Act        string  `json:"hidden_act"`
		Resize     *bool   `json:"do_resize"`
		Mean       []float64
	}
	for _, c := range []struct {
		in, want string
	}{
		{`{"hidden_size": "32"}`, "text_config.hidden_size is a string, want a whole number"},
		{`{"hidden_size": 1.5}`, "text_config.hidden_size is a number 1.5, want a whole number"},
		{`{"layer_norm_eps": "x"}`, "text_config.layer_norm_eps is a string, want a number"},
		{`{"hidden_act": 3}`, "text_config.hidden_act is a number, want a string"},
		{`{"do_resize": "yes"}`, "text_config.do_resize is a string, want true or false"},
		{`{"Mean": {}}`, "text_config.Mean is an object, want a list"},
		{`{"hidden_size": }`, "not valid JSON (at byte 17): invalid character '}' looking for beginning of value"},
		{`{"hidden_size": 3`, "not valid JSON: it ends before it is complete"},
	} {
		var v tower
		got := Explain(json.Unmarshal([]byte(c.in), &v), "text_config")
		if got == nil || got.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.in, got, c.want)
		}
	}
	var top struct{}
	if got := Explain(json.Unmarshal([]byte(`[1]`), &top), ""); got == nil || got.Error() != "the JSON is an array, want an object" {
		t.Errorf("top-level array: %v", got)
	}
	other := errors.New("other")
	if Explain(other, "x") != other || Explain(nil, "x") != nil {
		t.Error("other errors are not passed through")
	}
}
