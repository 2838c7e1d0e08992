package delivery

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func validMeta() Meta {
	return Meta{ID: "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f", Sender: sender, Recipients: []string{rcptB}, Title: "Quyết định số 12",
		DataType: "quyet-dinh", Priority: 5, Created: t0, Size: 3, SHA256: strings.Repeat("ab", 32)}
}

func TestMetaValidate(t *testing.T) {
	m := validMeta()
	raw, _ := json.Marshal(m)
	if _, err := DecodeMeta(raw); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, edit := range map[string]func(*Meta){
		"id not a UUID":       func(m *Meta) { m.ID = "doc-1" },
		"no recipient":        func(m *Meta) { m.Recipients = nil },
		"recipient twice":     func(m *Meta) { m.Recipients = []string{rcptB, rcptB} },
		"recipient a member":  func(m *Meta) { m.Recipients = []string{"VN-TEST/GOV/B"} },
		"no title":            func(m *Meta) { m.Title = "" },
		"control in title":    func(m *Meta) { m.Title = "a\nb" },
		"title too long":      func(m *Meta) { m.Title = strings.Repeat("x", MaxTitle+1) },
		"priority":            func(m *Meta) { m.Priority = 10 },
		"expiry before":       func(m *Meta) { m.Expires = t0.Add(-time.Second) },
		"bad hash":            func(m *Meta) { m.SHA256 = "zz" },
		"negative size":       func(m *Meta) { m.Size = -1 },
		"no data type":        func(m *Meta) { m.DataType = "" },
		"invalid UTF-8 title": func(m *Meta) { m.Title = "\xff" },
	} {
		m := validMeta()
		edit(&m)
		if err := m.Validate(); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := DecodeMeta([]byte(`{"id":"x","extra":1}`)); !errors.Is(err, ErrBadMeta) {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := DecodeMeta(make([]byte, MaxMeta+1)); !errors.Is(err, ErrMetaTooBig) {
		t.Errorf("oversized: %v", err)
	}
}

func TestParseSubmission(t *testing.T) {
	q := url.Values{"recipient": {rcptB + "," + rcptC}, "title": {"Công văn"}, "type": {"cong-van"}, "priority": {"7"}, "ttl": {"1h"}}
	s, err := ParseSubmission(q, "", t0)
	if err != nil || len(s.Recipients) != 2 || s.Priority != 7 || !s.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%+v %v", s, err)
	}
	for name, q := range map[string]url.Values{
		"unknown parameter": {"recipient": {rcptB}, "colour": {"red"}},
		"title twice":       {"recipient": {rcptB}, "title": {"a", "b"}},
		"priority text":     {"priority": {"high"}},
		"expires and ttl":   {"expires": {"2027-01-01T00:00:00Z"}, "ttl": {"1h"}},
		"bad expires":       {"expires": {"tomorrow"}},
		"negative ttl":      {"ttl": {"-1h"}},
		"oversized":         {"title": {strings.Repeat("x", MaxMeta)}},
	} {
		if _, err := ParseSubmission(q, "", t0); !errors.Is(err, ErrBadMeta) && !errors.Is(err, ErrMetaTooBig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseSubmission(url.Values{"id": {"a"}}, "b", t0); !errors.Is(err, ErrBadMeta) {
		t.Errorf("id and header differ: %v", err)
	}
}

func TestDecodeOffer(t *testing.T) {
	sd := &Signed{Body: []byte("{}"), Cert: []byte{1}, Sig: []byte{2}}
	for name, o := range map[string]offer{
		"document without recipient": {Kind: kindDocument, Document: sd},
		"receipt with recipient":     {Kind: kindReceipt, Recipient: rcptB, Receipt: sd},
		"unknown kind":               {Kind: "gift", Document: sd},
		"no signature":               {Kind: kindDocument, Recipient: rcptB, Document: &Signed{Body: []byte("{}"), Cert: []byte{1}}},
	} {
		raw, _ := json.Marshal(o)
		if _, err := decodeOffer(raw); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: %v", name, err)
		}
	}
	raw, _ := json.Marshal(offer{Kind: kindDocument, Recipient: rcptB, Document: sd})
	if _, err := decodeOffer(raw); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	raw, _ := json.Marshal(validMeta())
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			if !errors.Is(err, ErrBadMeta) && !errors.Is(err, ErrMetaTooBig) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded but invalid: %v", err)
		}
	})
}

func FuzzDecodeOffer(f *testing.F) {
	raw, _ := json.Marshal(offer{Kind: kindDocument, Recipient: rcptB, Document: &Signed{Body: []byte("{}"), Cert: []byte{1}, Sig: []byte{2}}})
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodeOffer(b)
		if err != nil {
			if !errors.Is(err, ErrBadMeta) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if (o.Kind == kindDocument) == (o.Document == nil) {
			t.Fatalf("accepted %+v", o)
		}
	})
}

func FuzzDecodeReceipt(f *testing.F) {
	raw, _ := json.Marshal(Receipt{DocumentID: validMeta().ID, Sender: sender, Recipient: rcptB, SHA256: "ab", Acknowledged: t0})
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeReceipt(b); err != nil && !errors.Is(err, ErrBadReceipt) && !errors.Is(err, ErrMetaTooBig) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

func FuzzParseSubmission(f *testing.F) {
	f.Add("recipient=VN-TEST/GOV/B/IS-B&title=C%C3%B4ng+v%C4%83n&type=cv&priority=3&ttl=1h", "")
	f.Fuzz(func(t *testing.T, query, header string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		if _, err := ParseSubmission(q, header, t0); err != nil && !errors.Is(err, ErrBadMeta) && !errors.Is(err, ErrMetaTooBig) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
