package services

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxXMLDepth caps the nesting of an XML answer that is masked.
const MaxXMLDepth = 256

// ApplyXML returns body, an XML document, with the set's fields masked.
// A path names elements by their local name (any namespace) below the
// root element, as a JSON path names members below the top value: "/id"
// is <id> in <citizen><id>…</id></citizen>, "/Body/*/id" the <id> of a
// SOAP answer; "*" is any element. mask and hash replace the element's
// text (its child elements go with it), drop removes the element.
// Prefixes, attributes, comments and the declaration are kept as they
// are. A body that is not one well-formed XML document is an ErrMask
// error; so is a DOCTYPE (no entity of the answer is expanded).
func (s *MaskSet) ApplyXML(body []byte) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var out bytes.Buffer
	enc := xml.NewEncoder(&out)
	var path []string // local names from the root element down
	roots := 0
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: the answer is not XML: %v", ErrMask, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				if roots++; roots > 1 {
					return nil, fmt.Errorf("%w: the answer has more than one root element", ErrMask)
				}
			}
			if len(path) >= MaxXMLDepth {
				return nil, fmt.Errorf("%w: XML nested deeper than %d", ErrMask, MaxXMLDepth)
			}
			path = append(path, t.Name.Local)
			if f, ok := s.xmlField(path[1:]); ok && len(path) > 1 {
				if err := f.maskElement(dec, enc, t); err != nil {
					return nil, err
				}
				path = path[:len(path)-1]
				continue
			}
			err = enc.EncodeToken(rawStart(t))
		case xml.EndElement:
			if len(path) == 0 {
				return nil, fmt.Errorf("%w: the answer is not XML: an end tag without its start", ErrMask)
			}
			path = path[:len(path)-1]
			err = enc.EncodeToken(xml.EndElement{Name: rawName(t.Name)})
		case xml.Directive:
			return nil, fmt.Errorf("%w: an XML answer with a DOCTYPE or other directive is not masked", ErrMask)
		default:
			err = enc.EncodeToken(xml.CopyToken(t))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMask, err)
		}
	}
	if err := enc.Flush(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMask, err)
	}
	if roots != 1 || len(path) != 0 {
		return nil, fmt.Errorf("%w: the answer is not one whole XML document", ErrMask)
	}
	return out.Bytes(), nil
}

// xmlField is the first field whose path is path (below the root).
func (s *MaskSet) xmlField(path []string) (maskField, bool) {
	for _, f := range s.fields {
		if len(f.segs) != len(path) {
			continue
		}
		match := true
		for i, seg := range f.segs {
			if seg != "*" && seg != path[i] {
				match = false
				break
			}
		}
		if match {
			return f, true
		}
	}
	return maskField{}, false
}

// maskElement reads the element opened by start to its end and writes its
// masked form: nothing (drop), or start, the masked text and the end.
func (f maskField) maskElement(dec *xml.Decoder, enc *xml.Encoder, start xml.StartElement) error {
	var text strings.Builder
	for depth := 1; depth > 0; {
		tok, err := dec.RawToken()
		if err != nil {
			return fmt.Errorf("%w: the answer is not XML: %v", ErrMask, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(t)
		case xml.Directive:
			return fmt.Errorf("%w: an XML answer with a directive is not masked", ErrMask)
		}
	}
	if f.action == MaskDrop {
		return nil
	}
	masked, _ := f.replace(strings.TrimSpace(text.String())).(string)
	for _, t := range []xml.Token{rawStart(start), xml.CharData(masked), xml.EndElement{Name: rawName(start.Name)}} {
		if err := enc.EncodeToken(t); err != nil {
			return fmt.Errorf("%w: %v", ErrMask, err)
		}
	}
	return nil
}

// rawName is a RawToken name written back as it was: "prefix:local"
// (the encoder would otherwise read the prefix as a namespace URI).
func rawName(n xml.Name) xml.Name {
	if n.Space != "" {
		return xml.Name{Local: n.Space + ":" + n.Local}
	}
	return xml.Name{Local: n.Local}
}

// rawStart is start with its element and attribute names as written.
func rawStart(start xml.StartElement) xml.StartElement {
	out := xml.StartElement{Name: rawName(start.Name)}
	for _, a := range start.Attr {
		out.Attr = append(out.Attr, xml.Attr{Name: rawName(a.Name), Value: a.Value})
	}
	return out
}
