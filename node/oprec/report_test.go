package oprec

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	svc := memB + "/SVC/data"
	for i, c := range []struct {
		role   string
		status int
		code   string
	}{{RoleProvider, 200, ""}, {RoleProvider, 404, ""}, {RoleProvider, 502, "backend_unreachable"}, {RoleProvider, 503, ""},
		{RoleProvider, 502, "backend_unreachable"}, {RoleConsumer, 200, ""}} {
		s.Add(rec(i, c.role, memA+"/IS", svc, c.status, c.code))
	}
	next := rec(100, RoleProvider, memA+"/IS", svc, 200, "")
	next.Start = t0.Add(24 * time.Hour)
	s.Add(next)
	flush(t, s)
	rows, err := s.Report(t0.Add(-time.Hour), t0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	p := rows[1] // 2026-03-10 provider, after the consumer's row
	if p.Role != RoleProvider || p.Calls != 5 || p.Succeeded != 2 || p.Failed != 3 || p.Causes["backend_unreachable"] != 2 || p.Causes["http_503"] != 1 {
		t.Fatalf("provider row %+v", p)
	}
	var buf bytes.Buffer
	if err := WriteReportCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "2026-03-10,provider,"+svc+",5,2,3,backend_unreachable=2;http_503=1\n") {
		t.Fatalf("CSV:\n%s", buf.String())
	}
}

// TestDeliveryRecords: a delivery's events are records of their own (two
// recipients' events at one instant both kept), found by role, counted
// by kind in reports and CSV, and not in the call statistics.
func TestDeliveryRecords(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	doc := "0b8e6f9c-2f4b-4c2e-9d55-1b1e1f0c3a77"
	ev := func(event, recipient, code string) Record {
		return Record{RequestID: doc, Start: t0, Role: RoleSender, Event: event, Client: memA + "/IS", Service: recipient,
			ErrorCode: code, RequestBytes: 1234}
	}
	s.Add(ev("submitted", "", ""))
	s.Add(ev("stored", memB+"/INBOX", ""))
	s.Add(ev("stored", memB+"/OTHER", ""))
	s.Add(ev("undeliverable", memB+"/THIRD", "document_undeliverable"))
	s.Add(rec(1, RoleConsumer, memA+"/IS", memB+"/SVC/data", 200, ""))
	flush(t, s)
	recs, _, err := s.Query(Filter{Role: RoleSender})
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d sender records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.RequestID != doc || r.Event == "" || r.RequestBytes != 1234 {
			t.Fatalf("record %+v", r)
		}
	}
	rows, err := s.Report(t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteReportCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{",sender/stored," + memB + "/INBOX,1,1,0,\n", ",sender/undeliverable," + memB + "/THIRD,1,0,1,document_undeliverable=1\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := WriteCSV(&buf, recs); err != nil || !strings.Contains(buf.String(), ",sender/submitted,") {
		t.Fatalf("CSV %v:\n%s", err, buf.String())
	}
	st, err := s.Stats(t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || len(st) != 1 || st[0].Made != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
}
