package console

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node/oprec"
)

// The statistics page draws its charts on the server as SVG elements
// whose geometry is in attributes and whose colours are classes of the
// console's style sheet: the CSP allows no script and no inline style.

// dayStats is one day of the statistics.
type dayStats struct {
	Day                    string
	Made, Served, Errors   int64
	ErrorRate              float64 // errors per call, 0..1
	P50, P95, P99          time.Duration
	latencies              []time.Duration
	ErrorPct, P50ms, P95ms string
	P99ms                  string
	Calls                  int64
}

// Bar is one rectangle of a chart.
type Bar struct {
	X, Y, W, H float64
	Class      string
	Label      string // the value, for the bar's title
}

// Tick is a label on an axis.
type Tick struct {
	X, Y float64
	Line float64 // a value tick's grid line (Y is its label's baseline)
	Text string
}

// Chart is a server-rendered SVG chart of one series per class.
type Chart struct {
	ID, Title string // Title is a catalogue key
	W, H      float64
	Bars      []Bar
	XTicks    []Tick
	YTicks    []Tick
	Legend    []Legend
}

// Legend is one series of a chart: its swatch's position, class and name
// (a catalogue key).
type Legend struct {
	X          float64
	Class, Key string
}

type statsData struct {
	From, To string
	Days     []dayStats
	Charts   []Chart
	Sampled  bool // the latencies come from the first MaxLimit records only
}

// Chart geometry.
const (
	chartW, chartH = 720.0, 240.0
	padL, padB     = 56.0, 28.0
	padT           = 12.0
)

func (c *Console) stats(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	now := c.cfg.Now().UTC()
	q := r.URL.Query()
	d := statsData{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	if d.From == "" {
		d.From = now.AddDate(0, 0, -13).Format(time.DateOnly)
	}
	if d.To == "" {
		d.To = now.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	from, err1 := parseTime(d.From)
	to, err2 := parseTime(d.To)
	if err1 != nil || err2 != nil || !from.Before(to) {
		p := c.site.Page(r, s, "st.title", d)
		p.Error, p.FieldErrors = p.T("err.fields"), map[string]string{"from": p.T("st.bad_period"), "to": p.T("st.bad_period")}
		c.site.Pages.Render(w, http.StatusBadRequest, "stats", p)
		return
	}
	period := url.Values{"from": {d.From}, "to": {d.To}}
	var per []oprec.MemberStats
	if e := c.getJSON(r, s, "/v1/stats", period, &per); e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	lim := url.Values{"from": {d.From}, "to": {d.To}, "limit": {strconv.Itoa(oprec.MaxLimit)}}
	rec, e := c.call(r, s, http.MethodGet, "/v1/records", lim, nil)
	if e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	var recs []oprec.Record
	if err := json.Unmarshal(rec.body.Bytes(), &recs); err != nil {
		c.site.Fail(w, r, s, http.StatusInternalServerError, "err.internal")
		return
	}
	d.Sampled = rec.header.Get("X-Next-Cursor") != ""
	d.Days = days(from, to, per, recs)
	lang := webui.RequestLang(r, s)
	d.Charts = []Chart{callsChart(d.Days, lang), errorChart(d.Days), latencyChart(d.Days)}
	c.show(w, r, s, "stats", "st.title", d)
}

// days sums the statistics and the latencies per day of [from, to) (at
// most 92 days are drawn, the newest).
func days(from, to time.Time, per []oprec.MemberStats, recs []oprec.Record) []dayStats {
	idx := map[string]int{}
	var out []dayStats
	for t := from.UTC().Truncate(24 * time.Hour); t.Before(to); t = t.AddDate(0, 0, 1) {
		idx[t.Format(time.DateOnly)] = len(out)
		out = append(out, dayStats{Day: t.Format(time.DateOnly)})
	}
	for _, m := range per {
		if i, ok := idx[m.Day]; ok {
			out[i].Made += m.Made
			out[i].Served += m.Served
			out[i].Errors += m.Errors
		}
	}
	for _, rc := range recs {
		if i, ok := idx[rc.Start.UTC().Format(time.DateOnly)]; ok {
			out[i].latencies = append(out[i].latencies, rc.Duration)
		}
	}
	for i := range out {
		d := &out[i]
		d.Calls = d.Made + d.Served
		if d.Calls > 0 {
			d.ErrorRate = float64(d.Errors) / float64(d.Calls)
		}
		slices.Sort(d.latencies)
		d.P50, d.P95, d.P99 = percentile(d.latencies, 50), percentile(d.latencies, 95), percentile(d.latencies, 99)
		d.ErrorPct = fmt.Sprintf("%.1f %%", 100*d.ErrorRate)
		d.P50ms, d.P95ms, d.P99ms = ms(d.P50), ms(d.P95), ms(d.P99)
	}
	if len(out) > 92 {
		out = out[len(out)-92:]
	}
	return out
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// percentile is the nearest-rank p-th percentile of sorted (0 if empty).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(float64(p)/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// frame returns a chart with its axes for n days and a maximum of top.
func frame(id, title string, ds []dayStats, top float64, unit func(float64) string) Chart {
	ch := Chart{ID: id, Title: title, W: chartW, H: chartH}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		ch.YTicks = append(ch.YTicks, Tick{X: padL - 6, Y: round(yOf(v, top) + 4), Line: round(yOf(v, top)), Text: unit(v)})
	}
	step := max(1, len(ds)/7)
	for i := 0; i < len(ds); i += step {
		ch.XTicks = append(ch.XTicks, Tick{X: xOf(i, len(ds)) + slot(len(ds))/2, Y: chartH - 8, Text: ds[i].Day[5:]})
	}
	return ch
}

func slot(n int) float64         { return (chartW - padL - 8) / float64(max(n, 1)) }
func xOf(i, n int) float64       { return padL + float64(i)*slot(n) }
func yOf(v, top float64) float64 { return chartH - padB - (chartH-padB-padT)*v/math.Max(top, 1e-9) }
func hOf(v, top float64) float64 { return (chartH - padB - padT) * v / math.Max(top, 1e-9) }
func round(v float64) float64    { return math.Round(v*10) / 10 }
func count(v float64) string     { return strconv.FormatInt(int64(math.Round(v)), 10) }
func niceTop(v float64) float64  { return 4 * math.Max(1, math.Ceil(v*1.1/4)) } // ticks at whole numbers
func pct(v float64) string       { return strconv.FormatFloat(100*v, 'f', 0, 64) + "%" }
func millis(v float64) string    { return strconv.FormatFloat(v, 'f', 0, 64) }
func bar(x, v, w, top float64, class, label string) Bar {
	return Bar{X: round(x), Y: round(yOf(v, top)), W: round(w), H: round(hOf(v, top)), Class: class, Label: label}
}

// callsChart draws the calls made and served per day, side by side.
func callsChart(ds []dayStats, lang string) Chart {
	var top float64
	for _, d := range ds {
		top = math.Max(top, float64(max(d.Made, d.Served)))
	}
	top = niceTop(top)
	ch := frame("chart-calls", "st.calls", ds, top, count)
	w := slot(len(ds)) * 0.4
	for i, d := range ds {
		x := xOf(i, len(ds)) + slot(len(ds))*0.1
		ch.Bars = append(ch.Bars, bar(x, float64(d.Made), w, top, "made", d.Day+": "+webui.FormatInt(lang, d.Made)),
			bar(x+w, float64(d.Served), w, top, "served", d.Day+": "+webui.FormatInt(lang, d.Served)))
	}
	ch.Legend = []Legend{{padL, "made", "st.made"}, {padL + 200, "served", "st.served"}}
	return ch
}

// errorChart draws the error rate per day.
func errorChart(ds []dayStats) Chart {
	top := 0.0
	for _, d := range ds {
		top = math.Max(top, d.ErrorRate)
	}
	top = math.Max(0.05, math.Min(1, math.Ceil(top*20)/20))
	ch := frame("chart-errors", "st.errors", ds, top, pct)
	for i, d := range ds {
		ch.Bars = append(ch.Bars, bar(xOf(i, len(ds))+slot(len(ds))*0.15, d.ErrorRate, slot(len(ds))*0.7, top, "errors", d.Day+": "+d.ErrorPct))
	}
	return ch
}

// latencyChart draws the 50th, 95th and 99th latency percentiles per day.
func latencyChart(ds []dayStats) Chart {
	top := 0.0
	for _, d := range ds {
		top = math.Max(top, float64(d.P99)/float64(time.Millisecond))
	}
	top = niceTop(top)
	ch := frame("chart-latency", "st.latency", ds, top, millis)
	w := slot(len(ds)) * 0.27
	for i, d := range ds {
		x := xOf(i, len(ds)) + slot(len(ds))*0.1
		for j, p := range []struct {
			v     time.Duration
			class string
			text  string
		}{{d.P50, "p50", d.P50ms}, {d.P95, "p95", d.P95ms}, {d.P99, "p99", d.P99ms}} {
			ch.Bars = append(ch.Bars, bar(x+float64(j)*w, float64(p.v)/float64(time.Millisecond), w, top, p.class, d.Day+": "+p.text+" ms"))
		}
	}
	ch.Legend = []Legend{{padL, "p50", "st.p50"}, {padL + 200, "p95", "st.p95"}, {padL + 400, "p99", "st.p99"}}
	return ch
}
