package clip_test

import (
	"bytes"
	"testing"

	"github.com/goclip/goclip/clip"
)

// FuzzParsePrompts checks that any prompts file either parses into valid
// classes or fails with an error, never panicking.
func FuzzParsePrompts(f *testing.F) {
	for _, s := range []string{"dog: a photo of a dog\n# c\n\nwild: a wolf\n", `{"a": ["x", "y"], "b": ["z"]}`, "\ufeffa: b", "{", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		classes, err := clip.ParsePrompts(bytes.NewReader([]byte(s)))
		if err == nil {
			if verr := clip.ValidateClasses(classes); verr != nil {
				t.Fatalf("parsed classes are invalid: %v", verr)
			}
		}
	})
}

// FuzzParseConfig checks that any config.json either gives a valid config
// or an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"vision_config": {"image_size": 336, "patch_size": 14}}`, `{"text_config_dict": {"hidden_size": 768}}`, `[]`, `{"projection_dim": -1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := clip.ParseConfig([]byte(s))
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("accepted an invalid config: %v", verr)
			}
		}
	})
}
