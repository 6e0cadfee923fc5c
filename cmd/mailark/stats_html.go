package main

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/mailark/mailark/archive"
)

// chart is one horizontal or vertical bar chart, drawn as inline SVG so
// the report needs nothing but a browser, offline.
type chart struct {
	Title string
	Bars  []bar2
	W, H  int
	Vert  bool // columns (time series) instead of rows
}

type bar2 struct {
	Label      string
	Value      int64
	X, Y, W, H float64
	Tip        string
}

func rowsChart(title string, counts []archive.Count, value func(archive.Count) int64, unit func(int64) string) chart {
	c := chart{Title: title, W: 760, H: 24*len(counts) + 10}
	var maxV int64 = 1
	for _, x := range counts {
		maxV = max(maxV, value(x))
	}
	for i, x := range counts {
		v := value(x)
		c.Bars = append(c.Bars, bar2{Label: x.Label, Value: v, X: 260, Y: float64(24*i + 5), W: math.Max(1, 420*float64(v)/float64(maxV)), H: 18, Tip: unit(v)})
	}
	return c
}

func columnsChart(title string, counts []archive.Count) chart {
	c := chart{Title: title, W: 760, H: 240, Vert: true}
	var maxV int64 = 1
	for _, x := range counts {
		maxV = max(maxV, x.Messages)
	}
	n := max(len(counts), 1)
	w := 700.0 / float64(n)
	for i, x := range counts {
		h := 190 * float64(x.Messages) / float64(maxV)
		c.Bars = append(c.Bars, bar2{Label: x.Label, Value: x.Messages, X: 40 + w*float64(i), Y: 200 - h, W: math.Max(w*0.8, 1), H: math.Max(h, 1), Tip: fmt.Sprintf("%s: %d messages", x.Label, x.Messages)})
	}
	return c
}

// reportTmpl is parsed on first use: only stats --html needs it, and
// every other command would pay for the parse at start-up.
var reportTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"dec": func(n int) int { return n - 1 },
		"add": func(a, b float64) float64 { return a + b },
	}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mailark archive report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 800px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; } td:first-child, th:first-child { text-align: left; }
svg text { font-size: 11px; fill: #333; } rect.bar { fill: #3b7dd8; }
</style></head><body>
<h1>mailark archive report</h1>
<p>{{.Dir}} — generated {{.When}}</p>
<table>
<tr><td>messages</td><td>{{.S.Messages}}</td></tr>
<tr><td>unique messages</td><td>{{.S.Unique}}</td></tr>
<tr><td>near-duplicates</td><td>{{.S.NearDups}}</td></tr>
<tr><td>bytes received</td><td>{{.Received}}</td></tr>
<tr><td>bytes stored</td><td>{{.Stored}} (dedup saved {{.Saved}})</td></tr>
<tr><td>indexed</td><td>{{.S.Indexed}} of {{.S.Unique}}</td></tr>
</table>
{{range .Charts}}
<h2>{{.Title}}</h2>
<svg class="chart" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}">
{{- if .Vert}}
<line x1="38" y1="200" x2="740" y2="200" stroke="#999"/>
{{- range $i, $b := .Bars}}
<rect class="bar" x="{{printf "%.1f" $b.X}}" y="{{printf "%.1f" $b.Y}}" width="{{printf "%.1f" $b.W}}" height="{{printf "%.1f" $b.H}}"><title>{{$b.Tip}}</title></rect>
{{- end}}
{{- with .Bars}}<text x="40" y="216">{{(index . 0).Label}}</text><text x="740" y="216" text-anchor="end">{{(index . (len . | dec)).Label}}</text>{{end}}
{{- else}}
{{- range .Bars}}
<text x="250" y="{{printf "%.1f" .Y}}" dy="13" text-anchor="end">{{.Label}}</text>
<rect class="bar" x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .H}}"><title>{{.Tip}}</title></rect>
<text x="{{printf "%.1f" (add .X .W)}}" y="{{printf "%.1f" .Y}}" dx="4" dy="13">{{.Tip}}</text>
{{- end}}
{{- end}}
</svg>
{{end}}
</body></html>
`))
})

// writeHTMLReport writes the self-contained statistics report.
func writeHTMLReport(w io.Writer, dir string, s *archive.Stats, o *archive.Overview) error {
	var folders []archive.Count
	for _, a := range s.Accounts {
		for _, f := range a.Folders {
			folders = append(folders, archive.Count{Label: a.Name + "/" + f.Name, Messages: f.Messages, Bytes: f.Bytes})
		}
	}
	msgs := func(c archive.Count) int64 { return c.Messages }
	count := func(v int64) string { return fmt.Sprintf("%d", v) }
	charts := []chart{
		columnsChart("Messages per month", o.Months),
		rowsChart("Top senders", o.Senders, msgs, count),
		rowsChart("Message sizes (unique messages)", o.Sizes, msgs, count),
		rowsChart("Folders", folders, msgs, count),
	}
	for i := range charts {
		for j := range charts[i].Bars {
			charts[i].Bars[j].Label = clip(strings.TrimSpace(charts[i].Bars[j].Label), 34)
		}
	}
	return reportTmpl().Execute(w, map[string]any{
		"Dir": dir, "When": time.Now().UTC().Format("2006-01-02 15:04 UTC"), "S": s,
		"Received": humanBytes(s.BytesReceived), "Stored": humanBytes(s.BytesStored), "Saved": humanBytes(s.Saved()),
		"Charts": charts,
	})
}
