package eval

import (
	_ "embed"
	"fmt"
	"strings"
)

// imagenetTemplates are the 80 prompt templates of OpenAI's ImageNet
// prompt-engineering notebook (CLIP, MIT licence: tokenizer/LICENSE-openai-clip).
//
//go:embed imagenet_templates.txt
var imagenetTemplates string

// Templates returns a named template set: "imagenet80" (OpenAI's 80
// ImageNet templates) or "default" ("a photo of a {}.").
func Templates(name string) ([]string, error) {
	switch name {
	case "imagenet80":
		var out []string
		for _, l := range strings.Split(imagenetTemplates, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out, nil
	case "default":
		return []string{"a photo of a {}."}, nil
	}
	return nil, fmt.Errorf("unknown template set %q (want imagenet80 or default)", name)
}
