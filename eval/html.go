package eval

import (
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/goclip/goclip/imageproc"
)

// MaxGallery bounds how many misclassified images report.html shows
// (the most confident mistakes first), to keep the page light.
const MaxGallery = 500

// thumbSide is the longest side of a gallery thumbnail, in pixels.
const thumbSide = 192

type galleryItem struct {
	Path       string
	True, Pred string
	Confidence float64
	Thumb      template.URL // data: URL, or empty if the image could not be re-read
}

type heatCell struct {
	Count int
	Style template.CSS
}

type htmlPage struct {
	J         JSONReport
	Report    string
	Confusion [][]heatCell
	Classes   []string
	Gallery   []galleryItem
	Mistakes  int
	Truncated bool
	Accuracy  string
}

// WriteHTML writes report.html: one self-contained page (no external
// assets, thumbnails embedded as data URLs) with the classification
// report, a confusion-matrix heat map, and a gallery of the misclassified
// images with their true and predicted labels and the confidence.
func (r *Result) WriteHTML(ctx context.Context, w io.Writer, j JSONReport) error {
	p := htmlPage{J: j}
	if r.Metrics != nil {
		p.Classes = r.Metrics.Labels
		p.Report = r.Metrics.ClassificationReport(2)
		p.Accuracy = fmt.Sprintf("%.2f%%", 100*r.Metrics.Accuracy)
		for i, row := range r.Metrics.Confusion {
			total := 0
			for _, v := range row {
				total += v
			}
			var cells []heatCell
			for k, v := range row {
				frac := 0.0
				if total > 0 {
					frac = float64(v) / float64(total)
				}
				hue := 210.0 // blue on the diagonal, red off it
				if i != k {
					hue = 0
				}
				cells = append(cells, heatCell{v, heatStyle(hue, 0.70, 1-0.55*frac)})
			}
			p.Confusion = append(p.Confusion, cells)
		}
	}
	var wrong []Row
	for _, row := range r.Rows {
		if row.Pred != row.True {
			wrong = append(wrong, row)
		}
	}
	sort.SliceStable(wrong, func(a, b int) bool { return wrong[a].Score > wrong[b].Score })
	p.Mistakes = len(wrong)
	if len(wrong) > MaxGallery {
		wrong, p.Truncated = wrong[:MaxGallery], true
	}
	p.Gallery = make([]galleryItem, len(wrong))
	for i, row := range wrong {
		p.Gallery[i] = galleryItem{
			Path: row.Path, True: r.Classes[row.True], Pred: r.Classes[row.Pred],
			Confidence: row.Score,
		}
	}
	// Thumbnails decode the images again: spread them over the cores.
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p.Gallery[i].Thumb = r.thumbnail(ctx, p.Gallery[i].Path)
			}
		}()
	}
	for i := range p.Gallery {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return pageTemplate.Execute(w, p)
}

// heatStyle returns the CSS of a heat-map cell with the background
// hsl(hue, sat, light) (sat and light in [0, 1]) and whichever of black
// and white text contrasts more with it: at least 4.58:1 for any
// background, above WCAG AA's 4.5:1 for normal text.
func heatStyle(hue, sat, light float64) template.CSS {
	// HSL to sRGB, as CSS Color 4 defines it.
	c := func(n float64) float64 {
		k := math.Mod(n+hue/30, 12)
		return light - sat*min(light, 1-light)*max(-1, min(k-3, 9-k, 1))
	}
	r, g, b := c(0), c(8), c(4)
	// Relative luminance (WCAG 2).
	lin := func(v float64) float64 {
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	lum := 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
	fg := "#000"
	if (1+0.05)/(lum+0.05) > (lum+0.05)/0.05 {
		fg = "#fff"
	}
	to8 := func(v float64) int { return int(math.Round(255 * v)) }
	return template.CSS(fmt.Sprintf("background:#%02x%02x%02x;color:%s", to8(r), to8(g), to8(b), fg))
}

// thumbnail returns a small JPEG of the image as a data URL, or "" when
// it cannot be read (again) within the run's limits.
func (r *Result) thumbnail(ctx context.Context, path string) template.URL {
	p := r.pipeline
	if p == nil {
		var err error
		if p, err = imageproc.NewPipeline(imageproc.DefaultConfig(), imageproc.Limits{}); err != nil {
			return ""
		}
	}
	b, err := p.Thumbnail(ctx, path, thumbSide)
	if err != nil {
		return ""
	}
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b))
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":  func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
	"base": filepath.Base,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>goclip eval: {{.J.Dataset}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header,main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}
header{border-bottom:1px solid #ddd;background:#fff;max-width:none}
h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
.meta{color:#555;font-size:.9rem}
.meta code{background:#f0f0f0;padding:0 .25rem;border-radius:3px}
pre{background:#fff;border:1px solid #ddd;padding:.8rem 1rem;overflow:auto;font-size:.9rem}
table.cm{border-collapse:collapse;background:#fff}
table.cm th,table.cm td{border:1px solid #ccc;padding:.35rem .7rem;text-align:right;min-width:3.5rem}
table.cm th{background:#f3f3f3}
.axis{color:#666;font-size:.85rem}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.8rem;padding:0;list-style:none}
.gallery li{background:#fff;border:1px solid #ddd;border-radius:6px;overflow:hidden}
.gallery img{display:block;width:100%;height:180px;object-fit:contain;background:#222}
.gallery .noimg{height:180px;display:flex;align-items:center;justify-content:center;background:#eee;color:#555}
.gallery .cap{padding:.4rem .6rem;font-size:.85rem}
.gallery .path{color:#666;font-size:.75rem;word-break:break-all}
.true{color:#0a6b2a;font-weight:600}.pred{color:#b3261e;font-weight:600}
ul.bad{font-size:.9rem}
</style>
</head>
<body>
<header>
<h1>goclip eval: {{.J.Dataset}}</h1>
<div class="meta">model <code>{{.J.Model}}</code> · ensemble <code>{{.J.Ensemble}}</code> ·
{{.J.Evaluated}} images evaluated{{if .J.Unreadable}}, {{len .J.Unreadable}} unreadable{{end}}{{if .Accuracy}} · accuracy <strong>{{.Accuracy}}</strong>{{end}}</div>
</header>
<main>
<h2 id="report">Classification report</h2>
<pre>{{.Report}}</pre>
<h2 id="confusion">Confusion matrix</h2>
<p class="axis" id="cm-axes">Rows: true class · columns: predicted class · colour: share of the row</p>
<table class="cm" aria-labelledby="confusion" aria-describedby="cm-axes">
<tr><th scope="col">true \ predicted</th>{{range .Classes}}<th scope="col">{{.}}</th>{{end}}</tr>
{{range $i, $row := .Confusion}}<tr><th scope="row">{{index $.Classes $i}}</th>{{range $row}}<td style="{{.Style}}">{{.Count}}</td>{{end}}</tr>
{{end}}</table>
<h2 id="prompts">Prompts</h2>
<ul>{{range $label, $ps := .J.Prompts}}<li><strong>{{$label}}</strong>: {{range $k, $p := $ps}}{{if $k}} · {{end}}“{{$p}}”{{end}}</li>{{end}}</ul>
<h2 id="mistakes">Misclassified images ({{.Mistakes}})</h2>
{{if .Truncated}}<p class="meta">Showing the {{len .Gallery}} most confident mistakes; predictions.csv has them all.</p>{{end}}
{{if .Gallery}}<ul class="gallery" role="list">
{{range .Gallery}}<li>{{if .Thumb}}<img src="{{.Thumb}}" alt="thumbnail of {{base .Path}}" loading="lazy">{{else}}<div class="noimg">no preview</div>{{end}}
<div class="cap">true <span class="true">{{.True}}</span> · predicted <span class="pred">{{.Pred}}</span> ({{pct .Confidence}})
<div class="path">{{.Path}}</div></div></li>
{{end}}</ul>{{else}}<p>None: every image was classified correctly.</p>{{end}}
{{if .J.Unreadable}}<h2 id="unreadable">Unreadable files ({{len .J.Unreadable}})</h2>
<ul class="bad">{{range .J.Unreadable}}<li><code>{{.Path}}</code>: {{.Reason}}</li>{{end}}</ul>{{end}}
</main>
</body>
</html>
`))
