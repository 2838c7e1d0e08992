package oprec

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// CSVHeader is the header row WriteCSV writes.
var CSVHeader = []string{
	"request_id", "start", "duration_ms", "role", "client", "service", "caller_ip",
	"status", "error_code", "request_bytes", "response_bytes", "consumer_peer", "provider_peer",
}

// WriteCSV writes recs as CSV with a header row (CSVHeader): start as RFC
// 3339 UTC with nanoseconds, duration in milliseconds with microsecond
// precision.
func WriteCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	row := make([]string, len(CSVHeader))
	for i := range recs {
		r := &recs[i]
		row[0] = r.RequestID
		row[1] = r.Start.UTC().Format(time.RFC3339Nano)
		row[2] = strconv.FormatFloat(float64(r.Duration)/float64(time.Millisecond), 'f', 3, 64)
		row[3] = r.Kind()
		row[4] = r.Client
		row[5] = r.Service
		row[6] = r.CallerIP
		row[7] = strconv.Itoa(r.Status)
		row[8] = r.ErrorCode
		row[9] = strconv.FormatInt(r.RequestBytes, 10)
		row[10] = strconv.FormatInt(r.ResponseBytes, 10)
		row[11] = r.ConsumerPeer
		row[12] = r.ProviderPeer
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes recs as one JSON array, one record per line, with the
// Record field names (start in RFC 3339, duration_ns in nanoseconds).
func WriteJSON(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i := range recs {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		r := recs[i]
		r.Start = r.Start.UTC()
		b, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	if len(recs) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}
