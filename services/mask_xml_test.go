package services

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func xmlSet(t testing.TB, fields ...MaskField) *MaskSet {
	t.Helper()
	m, err := CompileMasks([]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: fields}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := ParseServiceID("VN/GOV/B/hr/p")
	c, _ := ParseSubsystemID("VN/GOV/A/x")
	return m.For(c, id, nil)
}

// TestMaskXML: a SOAP answer's fields masked, hashed and dropped by local
// name under any prefix, with everything else (declaration, prefixes,
// attributes, the other fields) as it was.
func TestMaskXML(t *testing.T) {
	set := xmlSet(t, MaskField{Path: "/Body/*/id", Action: MaskKeep, Keep: 4}, MaskField{Path: "Body.*.phone", Action: MaskHash},
		MaskField{Path: "/Body/*/address", Action: MaskDrop}, MaskField{Path: "/Body/*/missing", Action: MaskDrop})
	in := `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:x="urn:x"><soap:Body>` +
		`<x:getCitizenResponse x:a="1"><x:id>001099012345</x:id><x:name>Nguyễn Văn A &amp; B</x:name><!-- c --><x:phone>0912345678</x:phone>` +
		`<x:address><x:street>1 Lê Lợi</x:street></x:address></x:getCitizenResponse></soap:Body></soap:Envelope>`
	out, err := set.ApplyXML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:x="urn:x"><soap:Body>` +
		`<x:getCitizenResponse x:a="1"><x:id>********2345</x:id><x:name>Nguyễn Văn A &amp; B</x:name><!-- c --><x:phone>` + sha("0912345678") + `</x:phone>` +
		`</x:getCitizenResponse></soap:Body></soap:Envelope>`
	if string(out) != want {
		t.Fatalf("masked\n%s\nwant\n%s", out, want)
	}
	// The root element itself is not a field: "/id" is a child of the root.
	plain := xmlSet(t, MaskField{Path: "/id", Action: MaskHash})
	if out, err := plain.ApplyXML([]byte(`<citizen><id> 42 </id></citizen>`)); err != nil || string(out) != `<citizen><id>`+sha("42")+`</id></citizen>` {
		t.Fatalf("a plain document: %s %v", out, err)
	}
}

func TestMaskXMLRefusals(t *testing.T) {
	set := xmlSet(t, MaskField{Path: "/id", Action: MaskDrop})
	for _, body := range []string{
		`not xml`, `<a><id>1</id>`, `<a></b>`, `<a/><b/>`, `</a>`, ``,
		`<!DOCTYPE a [<!ENTITY e "x">]><a><id>&e;</id></a>`,
		strings.Repeat("<a>", MaxXMLDepth+1) + strings.Repeat("</a>", MaxXMLDepth+1),
	} {
		if _, err := set.ApplyXML([]byte(body)); !errors.Is(err, ErrMask) {
			t.Errorf("%.40q: %v, want ErrMask", body, err)
		}
	}
}

// FuzzMaskXML: masking any body answers well-formed XML or an ErrMask
// error, never a panic. Seeds: f.Add below and testdata/fuzz/FuzzMaskXML.
func FuzzMaskXML(f *testing.F) {
	f.Add("/Body/*/id", "mask", 2, `<s:Envelope xmlns:s="u"><s:Body><r><id>123456</id></r></s:Body></s:Envelope>`)
	f.Add("id", "drop", 0, `<?xml version="1.0"?><a><id>1</id><id>2</id></a>`)
	f.Add("/a/b", "hash", 0, `<r><a><b x="1">t<c/>u</b></a></r>`)
	f.Fuzz(func(t *testing.T, path, action string, keep int, body string) {
		m, err := CompileMasks([]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: path, Action: action, Keep: keep}}}}, nil)
		if err != nil {
			return
		}
		id, _ := ParseServiceID("VN/GOV/B/hr/p")
		c, _ := ParseSubsystemID("VN/GOV/A/x")
		out, err := m.For(c, id, nil).ApplyXML([]byte(body))
		if err != nil {
			if !errors.Is(err, ErrMask) {
				t.Fatalf("apply error %v", err)
			}
			return
		}
		dec := xml.NewDecoder(strings.NewReader(string(out)))
		for {
			if _, err := dec.RawToken(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("masked %q into %q, not XML: %v", body, out, err)
			}
		}
	})
}
