package clip

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// ParsePrompts reads a prompts file in either of its two forms:
//
//	# lines of "label: prompt"; '#' starts a comment line, blank lines are ignored
//	dog: a photo of a dog
//	wild: a photo of a wolf
//
// or JSON, {"label": ["prompt", ...], ...}. Classes come in the order their
// label first appears (JSON: the order of the keys in the file). Errors give
// the line number.
func ParsePrompts(r io.Reader) ([]Class, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return parsePromptsJSON(t)
	}
	var classes []Class
	index := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, prompt, ok := strings.Cut(line, ":")
		label, prompt = strings.TrimSpace(label), strings.TrimSpace(prompt)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want \"label: prompt\", got %q", n, line)
		case label == "":
			return nil, fmt.Errorf("line %d: empty label", n)
		case prompt == "":
			return nil, fmt.Errorf("line %d: empty prompt for %q", n, label)
		}
		i, seen := index[label]
		if !seen {
			i = len(classes)
			index[label] = i
			classes = append(classes, Class{Label: label})
		}
		classes[i].Prompts = append(classes[i].Prompts, prompt)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("no prompts")
	}
	return classes, ValidateClasses(classes)
}

func parsePromptsJSON(data []byte) ([]Class, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, fmt.Errorf("json: %w", err)
	}
	var classes []Class
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		label, _ := tok.(string)
		var prompts []string
		if err := dec.Decode(&prompts); err != nil {
			return nil, fmt.Errorf("json: class %q: want a list of prompt strings: %w", label, err)
		}
		for i := range prompts {
			prompts[i] = strings.TrimSpace(prompts[i])
		}
		for _, c := range classes {
			if c.Label == label {
				return nil, fmt.Errorf("json: class %q appears twice", label)
			}
		}
		classes = append(classes, Class{Label: strings.TrimSpace(label), Prompts: prompts})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("json: data after the object")
	}
	return classes, ValidateClasses(classes)
}

// LoadPrompts reads a prompts file (see ParsePrompts); errors name the file.
func LoadPrompts(path string) ([]Class, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	classes, err := ParsePrompts(f)
	if err != nil {
		return nil, fmt.Errorf("prompts %s: %w", path, err)
	}
	return classes, nil
}

// DefaultTemplate is the prompt template labels get when none is given,
// CLIP's own.
const DefaultTemplate = "a photo of a {}."

// ValidateTemplate checks a prompt template: it must hold {}, where the
// label goes. (A template without it gives every class the same prompt,
// and so the same score: a run that looks fine and means nothing.)
func ValidateTemplate(t string) error {
	if strings.TrimSpace(t) == "" {
		return fmt.Errorf("empty template")
	}
	if !strings.Contains(t, "{}") {
		return fmt.Errorf("template %q has no {} for the label (e.g. %q)", t, DefaultTemplate)
	}
	return nil
}

// SplitLabels reads a comma-separated list of labels ("cat,dog, wild
// animal"), trimming the spaces around each. An empty item ("cat,,dog", a
// trailing comma) is an error rather than a label silently lost.
func SplitLabels(s string) ([]string, error) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, fmt.Errorf("label %d of %q is empty", i+1, s)
		}
	}
	return parts, nil
}

// LabelClasses makes one class per label, each with the prompt template
// filled with the label ("a photo of a {}." → "a photo of a dog."); with
// no template, DefaultTemplate. With several templates, each class gets
// one prompt per template. A blank label, a repeated one, or a template
// without {} is an error naming it.
func LabelClasses(labels []string, templates ...string) ([]Class, error) {
	if len(templates) == 0 {
		templates = []string{DefaultTemplate}
	}
	for _, t := range templates {
		if err := ValidateTemplate(t); err != nil {
			return nil, err
		}
	}
	classes := make([]Class, 0, len(labels))
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("label %d is empty", i+1)
		}
		c := Class{Label: l}
		for _, t := range templates {
			c.Prompts = append(c.Prompts, strings.ReplaceAll(t, "{}", l))
		}
		classes = append(classes, c)
	}
	return classes, ValidateClasses(classes)
}
