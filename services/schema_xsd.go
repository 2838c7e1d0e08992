package services

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// XSD schemas are checked by an external validator, libxml2's xmllint
// (Debian: libxml2-utils), so that the binary stays static without cgo:
// node.json's xsd_validator names it. Each check runs it once:
//
//	xmllint --noout --nonet --schema SCHEMA -   (the body on stdin)
//
// Exit status 0 is valid, 3 or 4 invalid (its first message, with the
// line, is the error's location), 1 not XML, 5 a schema that does not
// compile. --nonet keeps it off the network.

// XSDTimeout bounds one run of the validator.
const XSDTimeout = 10 * time.Second

// xsdSchema is an XSD file and the validator that checks bodies with it.
type xsdSchema struct {
	validator, file string
}

// CompileXSD checks that validator runs and that file compiles as an XML
// Schema. Errors wrap ErrInvalidDescription and say what to do.
func CompileXSD(file, validator string) (*Schema, error) {
	if validator == "" {
		return nil, fmt.Errorf("%w: schema %s: an XSD schema needs xsd_validator in node.json, the path of xmllint (Debian: apt-get install libxml2-utils); this build has no XSD validator of its own", ErrInvalidDescription, file)
	}
	x := &xsdSchema{validator: validator, file: file}
	code, out, err := x.run([]byte("<dxl-schema-check/>"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: schema %s: xsd_validator %s: %v", ErrInvalidDescription, file, validator, err)
	case code == 5:
		return nil, fmt.Errorf("%w: schema %s: does not compile as an XML Schema: %s", ErrInvalidDescription, file, clip(firstLine(strings.TrimSpace(out))))
	case code != 0 && code != 3 && code != 4:
		return nil, fmt.Errorf("%w: schema %s: xsd_validator exited %d: %s", ErrInvalidDescription, file, code, clip(firstLine(strings.TrimSpace(out))))
	}
	return &Schema{name: file, xsd: x}, nil
}

// run checks body; code is the validator's exit status, out its messages.
func (x *xsdSchema) run(body []byte) (code int, out string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), XSDTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, x.validator, "--noout", "--nonet", "--schema", x.file, "-")
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), stderr.String(), nil
	}
	return 0, stderr.String(), err
}

// validate checks body with the validator.
func (x *xsdSchema) validate(sentinel error, body []byte) error {
	code, out, err := x.run(body)
	switch {
	case err != nil:
		return &SchemaError{Err: sentinel, Message: "the XSD validator failed: " + clip(err.Error())}
	case code == 0:
		return nil
	case code == 1:
		return &SchemaError{Err: sentinel, Message: "body is not XML: " + clip(strings.TrimPrefix(firstLine(strings.TrimSpace(out)), "-:"))}
	}
	line := firstLine(strings.TrimSpace(out)) // "-:LINE: element NAME: Schemas validity error : MESSAGE"
	loc, msg := "", line
	if rest, ok := strings.CutPrefix(line, "-:"); ok {
		if n, tail, ok := strings.Cut(rest, ": "); ok {
			loc, msg = "line "+n, tail
		}
	}
	return &SchemaError{Err: sentinel, Location: loc, Message: clip(msg)}
}

// xsdNamespace is the namespace of an XML Schema's elements.
const xsdNamespace = "http://www.w3.org/2001/XMLSchema"

// CheckXSDDocument checks, without a validator, that data is well-formed
// XML whose root element is an XML Schema's xs:schema: what can be told
// of an XSD file on a machine without xmllint (a publisher's). Errors wrap
// ErrInvalidDescription.
func CheckXSDDocument(name string, data []byte) error {
	if len(data) > MaxSchema {
		return fmt.Errorf("%w: schema %s: %d bytes exceeds %d", ErrInvalidDescription, name, len(data), MaxSchema)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, depth := false, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: schema %s: not well-formed XML: %v", ErrInvalidDescription, name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !root && (t.Name.Space != xsdNamespace || t.Name.Local != "schema") {
				return fmt.Errorf("%w: schema %s: root element {%s}%s, want an XML Schema's {%s}schema", ErrInvalidDescription, name, t.Name.Space, t.Name.Local, xsdNamespace)
			}
			root, depth = true, depth+1
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: schema %s: not well-formed XML: text outside the root element", ErrInvalidDescription, name)
			}
		}
	}
	if !root {
		return fmt.Errorf("%w: schema %s: no root element", ErrInvalidDescription, name)
	}
	return nil
}
