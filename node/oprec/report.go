package oprec

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReportRow is one line of a periodic report (R-M3): the calls of one UTC
// day, role and service, how many succeeded and failed, and the failures'
// causes (the exchange error code, or http_NNN for a 5xx without one).
type ReportRow struct {
	Day       string           `json:"day"`
	Role      string           `json:"role"`
	Service   string           `json:"service"`
	Calls     int64            `json:"calls"`
	Succeeded int64            `json:"succeeded"`
	Failed    int64            `json:"failed"`
	Causes    map[string]int64 `json:"causes,omitempty"`
}

// Report sums the records of [from, to) by day, role and service.
func (s *Store) Report(from, to time.Time) ([]ReportRow, error) {
	type key struct{ day, role, service string }
	rows := map[key]*ReportRow{}
	f := Filter{From: from, To: to, Limit: MaxLimit}
	for {
		recs, next, err := s.Query(f)
		if err != nil {
			return nil, err
		}
		for i := range recs {
			r := &recs[i]
			k := key{day(r.Start), r.Kind(), r.Service}
			row := rows[k]
			if row == nil {
				row = &ReportRow{Day: k.day, Role: k.role, Service: k.service}
				rows[k] = row
			}
			row.Calls++
			if !r.Failed() {
				row.Succeeded++
				continue
			}
			row.Failed++
			cause := r.ErrorCode
			if cause == "" {
				cause = "http_" + strconv.Itoa(r.Status)
			}
			if row.Causes == nil {
				row.Causes = map[string]int64{}
			}
			row.Causes[cause]++
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	out := make([]ReportRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ReportRow) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Role, b.Role), cmp.Compare(a.Service, b.Service))
	})
	return out, nil
}

// ReportCSVHeader is the first line of WriteReportCSV.
var ReportCSVHeader = []string{"day", "role", "service", "calls", "succeeded", "failed", "causes"}

// WriteReportCSV writes rows as CSV; causes are "code=count" joined by
// ";", most frequent first.
func WriteReportCSV(w io.Writer, rows []ReportRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReportCSVHeader); err != nil {
		return err
	}
	for _, r := range rows {
		codes := slices.SortedFunc(maps.Keys(r.Causes), func(a, b string) int {
			return cmp.Or(cmp.Compare(r.Causes[b], r.Causes[a]), cmp.Compare(a, b))
		})
		causes := make([]string, len(codes))
		for i, c := range codes {
			causes[i] = fmt.Sprintf("%s=%d", c, r.Causes[c])
		}
		if err := cw.Write([]string{r.Day, r.Role, r.Service, strconv.FormatInt(r.Calls, 10), strconv.FormatInt(r.Succeeded, 10),
			strconv.FormatInt(r.Failed, 10), strings.Join(causes, ";")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
