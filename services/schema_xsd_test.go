package services

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xmllint is the validator's path; CI installs it (.ci/run).
func xmllint(t *testing.T) string {
	p, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint is required in CI (libxml2-utils)")
		}
		t.Skip("xmllint not installed (apt-get install libxml2-utils)")
	}
	return p
}

const citizenXSD = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="citizen"><xs:complexType><xs:sequence>` +
	`<xs:element name="id" type="xs:string"/><xs:element name="age" type="xs:int"/></xs:sequence></xs:complexType></xs:element></xs:schema>`

// TestXSD: an XSD schema checked by xmllint: a valid body passes, an
// invalid one names its line and the failing element, a body that is not
// XML says so; a schema that does not compile, a missing validator and no
// validator at all are refused at load with what to do.
func TestXSD(t *testing.T) {
	bin := xmllint(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "citizen.xsd")
	os.WriteFile(file, []byte(citizenXSD), 0o600)
	s, err := CompileXSD(file, bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ValidateRequest([]byte("<citizen><id>1</id><age>40</age></citizen>")); err != nil {
		t.Fatalf("valid: %v", err)
	}
	var se *SchemaError
	err = s.ValidateRequest([]byte("<citizen>\n<id>1</id>\n<age>bốn mươi</age></citizen>"))
	if !errors.As(err, &se) || !errors.Is(err, ErrSchema) || se.Location != "line 3" || !strings.Contains(se.Message, "age") {
		t.Fatalf("invalid: %#v", err)
	}
	if err := s.ValidateResponse([]byte("not xml")); !errors.Is(err, ErrResponseSchema) || !strings.Contains(err.Error(), "not XML") {
		t.Fatalf("not XML: %v", err)
	}
	bad := filepath.Join(dir, "bad.xsd")
	os.WriteFile(bad, []byte("<x/>"), 0o600)
	for _, c := range []struct{ file, validator, want string }{
		{bad, bin, "does not compile"},
		{file, filepath.Join(dir, "no-such-xmllint"), "xsd_validator"},
		{file, "", "libxml2-utils"},
	} {
		if _, err := CompileXSD(c.file, c.validator); !errors.Is(err, ErrInvalidDescription) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %q: %v, want %q", filepath.Base(c.file), c.validator, err, c.want)
		}
	}
	if _, err := CompileSchema(file, SchemaXSD, []byte(citizenXSD)); !errors.Is(err, ErrInvalidDescription) {
		t.Fatalf("CompileSchema of an XSD: %v", err)
	}
}

// TestCheckXSDDocument: a well-formed xs:schema passes; XML that is not
// well-formed, another root element or no element at all is refused.
func TestCheckXSDDocument(t *testing.T) {
	ok := `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:string"/></xs:schema>`
	if err := CheckXSDDocument("ok.xsd", []byte(ok)); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"not well-formed": `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element>`,
		"other root":      `<schema><element/></schema>`,
		"JSON":            `{"type":"object"}`,
		"empty":           ` `,
	} {
		if err := CheckXSDDocument(name, []byte(data)); !errors.Is(err, ErrInvalidDescription) {
			t.Errorf("%s: %v, want ErrInvalidDescription", name, err)
		}
	}
}
