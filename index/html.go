package index

import (
	"context"
	"encoding/base64"
	"html/template"
	"io"
	"path/filepath"

	"github.com/goclip/goclip/imageproc"
)

// thumbSide is the longest side of a result's thumbnail, in pixels.
const thumbSide = 192

// WriteHTML writes a self-contained page of the hits of query: rank,
// score, path and a thumbnail (embedded; "no preview" for a file that
// cannot be read now).
func WriteHTML(ctx context.Context, w io.Writer, query string, hits []Hit, p *imageproc.Pipeline) error {
	type item struct {
		Hit
		Rank  int
		Thumb template.URL
	}
	items := make([]item, len(hits))
	for i, h := range hits {
		items[i] = item{Hit: h, Rank: i + 1}
		if b, err := p.Thumbnail(ctx, h.Path, thumbSide); err == nil {
			items[i].Thumb = template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b))
		}
	}
	return resultsPage.Execute(w, struct {
		Query string
		Items []item
	}{query, items})
}

var resultsPage = template.Must(template.New("search").Funcs(template.FuncMap{"base": filepath.Base}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>goclip search: {{.Query}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;padding:1rem 1.5rem;max-width:1100px;color:#1b1b1b;background:#fafafa}
h1{font-size:1.3rem}
ol{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
li{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px;font-size:13px;overflow-wrap:anywhere}
img{display:block;max-width:100%;height:auto;margin:0 auto 4px}
.noimg{height:120px;display:flex;align-items:center;justify-content:center;color:#888;background:#eee}
</style>
</head>
<body>
<h1>goclip search: {{.Query}}</h1>
{{if .Items}}<ol>
{{range .Items}}<li>{{if .Thumb}}<img src="{{.Thumb}}" alt="{{base .Path}}" loading="lazy">{{else}}<div class="noimg">no preview</div>{{end}}
<b>{{.Rank}}.</b> {{printf "%.4f" .Score}}<br><span title="{{.Path}}">{{.Path}}</span></li>
{{end}}</ol>{{else}}<p>No results.</p>{{end}}
</body>
</html>
`))
