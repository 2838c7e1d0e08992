package oprec

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"time"
)

var (
	bucketRecords = []byte("records")
	bucketStats   = []byte("stats")
	bucketHealth  = []byte("health")
	bucketMeta    = []byte("meta")
	keySchema     = []byte("schema")
)

const (
	schemaVersion = "1"
	valueVersion  = 1
	cursorVersion = 1
	maxCursorLen  = 1024 // encoded characters
	timeLen       = 8
)

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos returns t as Unix nanoseconds, clamped to the int64 range.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// putTime appends ns so that byte order is numeric order.
func putTime(b []byte, ns int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(ns)^(1<<63))
}

func getTime(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// recordKey is start | request ID | 0x00 | role, and for a delivery
// record 0x01 | event | 0x01 | service (one key per recipient's event).
func recordKey(b []byte, r *Record) []byte {
	b = putTime(b, nanos(r.Start))
	b = append(b, r.RequestID...)
	b = append(b, 0)
	b = append(b, r.Role...)
	if r.Event != "" {
		b = append(append(append(b, 1), r.Event...), 1)
		b = append(b, r.Service...)
	}
	return b
}

func parseRecordKey(k []byte) (ns int64, id, role string, err error) {
	if len(k) < timeLen+1 {
		return 0, "", "", fmt.Errorf("%w: record key of %d bytes", ErrCorrupt, len(k))
	}
	rest := k[timeLen:]
	i := bytes.LastIndexByte(rest, 0)
	if i < 0 {
		return 0, "", "", fmt.Errorf("%w: record key without separator", ErrCorrupt)
	}
	return getTime(k), string(rest[:i]), string(rest[i+1:]), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeRecord appends the value of r (everything not in its key).
func encodeRecord(b []byte, r *Record) []byte {
	b = append(b, valueVersion)
	b = binary.AppendVarint(b, int64(r.Duration))
	b = appendString(b, r.Client)
	b = appendString(b, r.Service)
	b = appendString(b, r.CallerIP)
	b = binary.AppendVarint(b, int64(r.Status))
	b = appendString(b, r.ErrorCode)
	b = binary.AppendVarint(b, r.RequestBytes)
	b = binary.AppendVarint(b, r.ResponseBytes)
	b = appendString(b, r.ConsumerPeer)
	return appendString(b, r.ProviderPeer)
}

// decoder reads a value; the first failure sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or invalid %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) varint(what string) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(what string) string {
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.fail(what)
		return ""
	}
	s := string(d.b[n : n+int(l)])
	d.b = d.b[n+int(l):]
	return s
}

func (d *decoder) version() {
	if len(d.b) == 0 || d.b[0] != valueVersion {
		d.fail("version")
		return
	}
	d.b = d.b[1:]
}

func decodeRecord(k, v []byte) (Record, error) {
	ns, id, role, err := parseRecordKey(k)
	if err != nil {
		return Record{}, err
	}
	r := Record{RequestID: id, Start: time.Unix(0, ns).UTC(), Role: role}
	if strings.IndexByte(role, 1) >= 0 {
		r.Role, r.Event, _ = strings.Cut(role, "\x01")
		r.Event, _, _ = strings.Cut(r.Event, "\x01")
	}
	d := decoder{b: v}
	d.version()
	r.Duration = time.Duration(d.varint("duration"))
	r.Client = d.string("client")
	r.Service = d.string("service")
	r.CallerIP = d.string("caller_ip")
	r.Status = int(d.varint("status"))
	r.ErrorCode = d.string("error_code")
	r.RequestBytes = d.varint("request_bytes")
	r.ResponseBytes = d.varint("response_bytes")
	r.ConsumerPeer = d.string("consumer_peer")
	r.ProviderPeer = d.string("provider_peer")
	if d.err != nil {
		return Record{}, d.err
	}
	return r, nil
}

// healthKey is service | 0x00 | time.
func healthKey(b []byte, service string, ns int64) []byte {
	b = append(b, service...)
	b = append(b, 0)
	return putTime(b, ns)
}

func parseHealthKey(k []byte) (service []byte, ns int64, err error) {
	if len(k) < timeLen+1 || k[len(k)-timeLen-1] != 0 {
		return nil, 0, fmt.Errorf("%w: health key of %d bytes", ErrCorrupt, len(k))
	}
	return k[:len(k)-timeLen-1], getTime(k[len(k)-timeLen:]), nil
}

func encodeHealth(b []byte, h *HealthSample) []byte {
	b = append(b, valueVersion)
	b = appendString(b, h.Status)
	b = binary.AppendVarint(b, int64(h.HTTPStatus))
	b = binary.AppendVarint(b, h.LatencyMS)
	return appendString(b, h.Error)
}

func decodeHealth(k, v []byte) (HealthSample, error) {
	svc, ns, err := parseHealthKey(k)
	if err != nil {
		return HealthSample{}, err
	}
	h := HealthSample{Service: string(svc), Time: time.Unix(0, ns).UTC()}
	d := decoder{b: v}
	d.version()
	h.Status = d.string("status")
	h.HTTPStatus = int(d.varint("http_status"))
	h.LatencyMS = d.varint("latency_ms")
	h.Error = d.string("error")
	if d.err != nil {
		return HealthSample{}, d.err
	}
	return h, nil
}

// statsKey is day | 0x00 | member.
func statsKey(day, member string) []byte {
	b := make([]byte, 0, len(day)+1+len(member))
	b = append(b, day...)
	b = append(b, 0)
	return append(b, member...)
}

type counts struct{ made, served, errors int64 }

func decodeCounts(v []byte) (counts, error) {
	if len(v) != 24 {
		return counts{}, fmt.Errorf("%w: stats value of %d bytes", ErrCorrupt, len(v))
	}
	return counts{
		made:   int64(binary.BigEndian.Uint64(v)),
		served: int64(binary.BigEndian.Uint64(v[8:])),
		errors: int64(binary.BigEndian.Uint64(v[16:])),
	}, nil
}

func (c counts) encode() []byte {
	b := make([]byte, 0, 24)
	b = binary.BigEndian.AppendUint64(b, uint64(c.made))
	b = binary.BigEndian.AppendUint64(b, uint64(c.served))
	return binary.BigEndian.AppendUint64(b, uint64(c.errors))
}

var cursorEncoding = base64.RawURLEncoding.Strict()

// encodeCursor makes the opaque cursor for the record key k: base64url of
// version | k | CRC-32 of both.
func encodeCursor(k []byte) string {
	b := make([]byte, 0, 1+len(k)+4)
	b = append(b, cursorVersion)
	b = append(b, k...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return cursorEncoding.EncodeToString(b)
}

// decodeCursor returns the record key in c; every failure wraps
// ErrBadFilter.
func decodeCursor(c string) ([]byte, error) {
	if len(c) > maxCursorLen {
		return nil, fmt.Errorf("%w: cursor longer than %d characters", ErrBadFilter, maxCursorLen)
	}
	b, err := cursorEncoding.DecodeString(c)
	// The decoder skips CR and LF; a cursor is only ever its canonical form.
	if err != nil || cursorEncoding.EncodeToString(b) != c {
		return nil, fmt.Errorf("%w: cursor is not base64url", ErrBadFilter)
	}
	if len(b) < 1+timeLen+1+4 {
		return nil, fmt.Errorf("%w: cursor too short", ErrBadFilter)
	}
	if b[0] != cursorVersion {
		return nil, fmt.Errorf("%w: cursor version %d", ErrBadFilter, b[0])
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: cursor checksum mismatch", ErrBadFilter)
	}
	k := body[1:]
	if _, _, _, err := parseRecordKey(k); err != nil {
		return nil, fmt.Errorf("%w: cursor does not name a record", ErrBadFilter)
	}
	return k, nil
}
