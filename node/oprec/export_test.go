package oprec

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteCSV(t *testing.T) {
	recs := fixture()[:3]
	recs[0].Start = recs[0].Start.In(time.FixedZone("ICT", 7*3600)) // written in UTC
	recs[1].Client = `VN/GOV/B/app,"quoted"`                        // needs CSV quoting
	var buf bytes.Buffer
	if err := WriteCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != strings.Join(CSVHeader, ",") {
		t.Fatalf("header %q", first)
	}
	if want := "req-0000,2026-03-10T08:00:00Z,1.500,consumer,VN/GOV/A/app,VN/COM/C/reg/getPerson,10.0.0.1,200,,100,1000,12D3KooWConsumer,12D3KooWProvider\n"; !strings.Contains(buf.String(), want) {
		t.Fatalf("CSV lacks row %q:\n%s", want, buf.String())
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(recs) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, row := range rows[1:] {
		r := recs[i]
		start, err := time.Parse(time.RFC3339, row[1])
		if err != nil || !start.Equal(r.Start) {
			t.Fatalf("row %d start %q: %v", i, row[1], err)
		}
		ms, err := strconv.ParseFloat(row[2], 64)
		if err != nil || time.Duration(ms*float64(time.Millisecond)).Round(time.Microsecond) != r.Duration {
			t.Fatalf("row %d duration %q, want %v", i, row[2], r.Duration)
		}
		want := []string{r.RequestID, r.Role, r.Client, r.Service, r.CallerIP, strconv.Itoa(r.Status), r.ErrorCode,
			strconv.FormatInt(r.RequestBytes, 10), strconv.FormatInt(r.ResponseBytes, 10), r.ConsumerPeer, r.ProviderPeer}
		got := append([]string{row[0]}, row[3:]...)
		if !slices.Equal(got, want) {
			t.Fatalf("row %d: %q, want %q", i, got, want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	for _, n := range []int{0, 1, 4} {
		recs := fixture()[:n]
		var buf bytes.Buffer
		if err := WriteJSON(&buf, recs); err != nil {
			t.Fatal(err)
		}
		var back []Record
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("n=%d: %v\n%s", n, err, buf.String())
		}
		if back == nil || len(back) != n {
			t.Fatalf("n=%d: parsed %d records", n, len(back))
		}
		for i := range back {
			if !back[i].Start.Equal(recs[i].Start) {
				t.Fatalf("start %v, want %v", back[i].Start, recs[i].Start)
			}
			back[i].Start = recs[i].Start
			if back[i] != recs[i] {
				t.Fatalf("record %d:\n got %+v\nwant %+v", i, back[i], recs[i])
			}
		}
		if n > 0 {
			var raw []map[string]any
			_ = json.Unmarshal(buf.Bytes(), &raw)
			if raw[0]["start"] != "2026-03-10T08:00:00Z" || raw[0]["duration_ns"] != float64(1500000) {
				t.Fatalf("JSON fields: %v", raw[0])
			}
			if _, ok := raw[0]["error_code"]; ok {
				t.Fatalf("empty error_code not omitted: %v", raw[0])
			}
		}
	}
}
