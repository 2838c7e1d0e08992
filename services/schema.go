package services

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema types a data type's schema may have (SchemaConfig.Type).
const (
	SchemaJSON = "json" // JSON Schema 2020-12 (the default)
	SchemaXSD  = "xsd"  // XML Schema, checked by an external validator (CompileXSD)
)

// MaxSchema caps the size of a schema accepted by CompileSchema.
const MaxSchema = 4 << 20

// maxSchemaMessage caps the validator's message carried by a schema
// error, which ends up in a response to the client.
const maxSchemaMessage = 200

// Schema is a compiled JSON Schema (2020-12 unless the document names
// another draft with $schema) of a data type. It is immutable and safe for
// concurrent use.
type Schema struct {
	name string
	s    *jsonschema.Schema
	xsd  *xsdSchema // an XSD, checked by the external validator (schema_xsd.go)
}

// noLoader refuses every reference to another document: a schema is
// compiled from its own bytes only, nothing is read from a file or URL.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external reference %s refused", url)
}

// CompileSchema compiles data, a schema of type typ ("" is SchemaJSON);
// name says where it comes from (a file name) in errors. An XSD schema is
// CompileXSD's, which runs an external validator: here it is refused.
// Errors wrap ErrInvalidDescription.
func CompileSchema(name, typ string, data []byte) (*Schema, error) {
	switch typ {
	case "", SchemaJSON:
	case SchemaXSD:
		return CompileXSD(name, "")
	default:
		return nil, fmt.Errorf("%w: schema %s: unknown schema type %q (json or xsd)", ErrInvalidDescription, name, typ)
	}
	if len(data) > MaxSchema {
		return nil, fmt.Errorf("%w: schema %s: %d bytes exceeds %d", ErrInvalidDescription, name, len(data), MaxSchema)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: schema %s: %v", ErrInvalidDescription, name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	const url = "dxl:schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%w: schema %s: %v", ErrInvalidDescription, name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%w: schema %s: %s", ErrInvalidDescription, name, strings.ReplaceAll(err.Error(), url, ""))
	}
	return &Schema{name: name, s: s}, nil
}

// SchemaError is a body that does not match its schema: Location is the
// JSON pointer of the failing value in the body ("" for the whole body)
// and Message what failed there.
type SchemaError struct {
	Err      error // ErrSchema or ErrResponseSchema
	Location string
	Message  string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%v at %q: %s", e.Err, e.Location, e.Message)
}

// Unwrap returns the sentinel.
func (e *SchemaError) Unwrap() error { return e.Err }

// ValidateRequest checks a request body against the schema: nil, or a
// *SchemaError wrapping ErrSchema.
func (s *Schema) ValidateRequest(body []byte) error { return s.validate(ErrSchema, body) }

// ValidateResponse checks a response body against the schema: nil, or a
// *SchemaError wrapping ErrResponseSchema.
func (s *Schema) ValidateResponse(body []byte) error { return s.validate(ErrResponseSchema, body) }

func (s *Schema) validate(sentinel error, body []byte) error {
	if s.xsd != nil {
		return s.xsd.validate(sentinel, body)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return &SchemaError{Err: sentinel, Message: "body is not JSON: " + clip(err.Error())}
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &SchemaError{Err: sentinel, Message: clip(err.Error())}
	}
	loc, msg := firstLeaf(ve.LocalizedBasicOutput(english))
	return &SchemaError{Err: sentinel, Location: loc, Message: clip(msg)}
}

// firstLeaf is the location and message of the first error of out that
// says what failed (the basic output's first unit with a message, skipping
// the summary units that only say a subschema failed).
func firstLeaf(out *jsonschema.OutputUnit) (string, string) {
	loc, msg := out.InstanceLocation, "validation failed"
	var fallback *jsonschema.OutputUnit
	for i := range out.Errors {
		u := &out.Errors[i]
		if u.Error == nil {
			continue
		}
		if m := u.Error.String(); !strings.HasPrefix(m, "validation failed") {
			return u.InstanceLocation, m
		}
		if fallback == nil {
			fallback = u
		}
	}
	if fallback != nil {
		return fallback.InstanceLocation, fallback.Error.String()
	}
	if out.Error != nil {
		msg = out.Error.String()
	}
	return loc, msg
}

// english prints the validator's messages.
var english = message.NewPrinter(language.English)

func clip(s string) string {
	if len(s) > maxSchemaMessage {
		return s[:maxSchemaMessage]
	}
	return s
}
