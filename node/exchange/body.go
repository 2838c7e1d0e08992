package exchange

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
)

// ErrorBody is the body of every exchange-layer error. The consumer API
// sets X-Road's type and detail (the request ID) beside DXL's code and
// request ID (X-Road Message Protocol for REST, 4.6 Error handling); in
// XML it is X-Road's <error> element with the same fields.
type ErrorBody struct {
	XMLName   xml.Name `json:"-" xml:"error"`
	Code      string   `json:"code" xml:"code"`
	Type      string   `json:"type,omitempty" xml:"type,omitempty"`
	Message   string   `json:"message" xml:"message"`
	Detail    string   `json:"detail,omitempty" xml:"detail,omitempty"`
	RequestID string   `json:"requestId,omitempty" xml:"requestId,omitempty"`
}

// Media types of an error body.
const (
	ContentJSON = "application/json; charset=utf-8"
	ContentXML  = "text/xml; charset=utf-8"
)

// WriteJSON writes v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// EncodeXML writes b as an XML document.
func (b ErrorBody) EncodeXML(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	return xml.NewEncoder(w).Encode(b)
}
