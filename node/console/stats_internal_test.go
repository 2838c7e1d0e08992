package console

import (
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/oprec"
)

func TestStatsDaysAndCharts(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 3)
	per := []oprec.MemberStats{{Day: "2026-12-01", Member: "A", Made: 8, Served: 2, Errors: 1}, {Day: "2026-12-01", Member: "B", Made: 0, Served: 10, Errors: 1},
		{Day: "2026-12-03", Member: "A", Made: 4}, {Day: "2026-11-30", Member: "A", Made: 99}}
	var recs []oprec.Record
	for i := 1; i <= 100; i++ {
		recs = append(recs, oprec.Record{Start: from.Add(time.Hour), Duration: time.Duration(i) * time.Millisecond})
	}
	ds := days(from, to, per, recs)
	if len(ds) != 3 || ds[0].Made != 8 || ds[0].Served != 12 || ds[0].Errors != 2 || ds[1].Calls != 0 || ds[2].Made != 4 {
		t.Fatalf("days %+v", ds)
	}
	if ds[0].ErrorRate != 0.1 || ds[0].P50 != 50*time.Millisecond || ds[0].P95 != 95*time.Millisecond || ds[0].P99 != 99*time.Millisecond || ds[1].P99 != 0 {
		t.Fatalf("rate %v, percentiles %v %v %v", ds[0].ErrorRate, ds[0].P50, ds[0].P95, ds[0].P99)
	}
	for _, ch := range []Chart{callsChart(ds, "en"), errorChart(ds), latencyChart(ds)} {
		if len(ch.Bars) == 0 || len(ch.YTicks) != 5 {
			t.Fatalf("%s: %d bars, %d ticks", ch.ID, len(ch.Bars), len(ch.YTicks))
		}
		for _, b := range ch.Bars {
			if b.X < padL || b.X+b.W > chartW || b.Y < padT-0.1 || b.H < 0 || b.Y+b.H > chartH-padB+0.1 {
				t.Fatalf("%s: bar %+v outside the plot", ch.ID, b)
			}
		}
	}
	// The tallest bar of the calls chart is the day's served count, under the top.
	calls := callsChart(ds, "en")
	var tallest Bar
	for _, b := range calls.Bars {
		if b.H > tallest.H {
			tallest = b
		}
	}
	if tallest.Class != "served" || tallest.Label != "2026-12-01: 12" {
		t.Fatalf("tallest bar %+v", tallest)
	}
}
