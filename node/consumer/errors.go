package consumer

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dxl-network/dxl/internal/errcode"
	"github.com/dxl-network/dxl/internal/urlpath"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// ErrBadPath: the request path has a "." or ".." segment, an empty one
// ("//"), or does not start with "/". http.ServeMux would answer such a
// path with a redirect to its cleaned form; the API refuses it instead.
var ErrBadPath = errors.New("consumer: request path not in canonical form")

// Codes is the consumer API's own part of its error table, tried before
// exchange.Codes.
var Codes = errcode.New(
	errcode.Entry{Err: ErrBadPath, Code: "bad_path", Status: http.StatusBadRequest},
)

// reported is err's code and HTTP status as an information system sees
// them: the API's own codes, a malformed SOAP request as services.Codes
// says (400 invalid_soap: exchange.Status knows only services' request
// validation), else exchange.ReportedCode and exchange.Status.
func reported(err error) (code string, status int) {
	if e, ok := Codes.Lookup(err); ok {
		return e.Code, e.Status
	}
	if errors.Is(err, services.ErrSOAP) {
		return services.Codes.Code(err), services.Codes.Status(err)
	}
	return exchange.ReportedCode(err), exchange.Status(err)
}

// checkPath refuses an escaped request path http.ServeMux would clean
// (and redirect) or with an encoded dot segment (urlpath.Check).
func checkPath(escaped string) error {
	if err := urlpath.Check(escaped); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	return nil
}

// HeaderXRoadError is set on every exchange-layer error with its X-Road
// type (X-Road Message Protocol for REST, 4.3 and 4.6): an answer without
// it is the provider's own.
const HeaderXRoadError = "X-Road-Error"

// canonicalPaths answers a path that is not in canonical form in the
// exchange error shape before the mux could redirect it. Every request
// passes here first: the writer of one whose Accept prefers XML is marked
// for an XML error answer (xmlErrors).
func (a *API) canonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if prefersXML(r.Header.Values("Accept")) {
			w = xmlErrors{w}
		}
		if err := checkPath(r.URL.EscapedPath()); err != nil {
			a.refuse(w, r, validRequestID(r.Header), "", err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// xmlErrors is the response writer of a request whose Accept prefers
// XML: an exchange-layer error is answered in X-Road's XML form.
type xmlErrors struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the server's writer.
func (x xmlErrors) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// wantsXML reports whether w's request prefers an XML error body.
func wantsXML(w http.ResponseWriter) bool {
	_, ok := w.(xmlErrors)
	return ok
}

// prefersXML reports whether Accept ranks text/xml, application/xml or
// text/* (X-Road's XML types for an error) above JSON (application/json,
// application/*, */*): a higher q, or the same q listed first. X-Road
// answers XML when any XML type is listed; a client that lists JSON first
// or ranks it higher gets JSON here.
func prefersXML(accept []string) bool {
	xmlQ, jsonQ := -1.0, -1.0
	xmlAt, jsonAt := 0, 0
	i := 0
	if !mayNameXML(accept) {
		return false
	}
	for _, line := range accept {
		for _, r := range strings.Split(line, ",") {
			i++
			typ, params, _ := strings.Cut(r, ";")
			q := qValue(params)
			switch strings.ToLower(strings.TrimSpace(typ)) {
			case "text/xml", "application/xml", "text/*":
				if q > xmlQ {
					xmlQ, xmlAt = q, i
				}
			case "application/json", "application/*", "*/*":
				if q > jsonQ {
					jsonQ, jsonAt = q, i
				}
			}
		}
	}
	return xmlQ > 0 && (xmlQ > jsonQ || xmlQ == jsonQ && xmlAt < jsonAt)
}

// mayNameXML is false when no Accept value can hold an XML range (the
// common case, decided without parsing).
func mayNameXML(accept []string) bool {
	for _, line := range accept {
		l := strings.ToLower(line)
		if strings.Contains(l, "xml") || strings.Contains(l, "text/") {
			return true
		}
	}
	return false
}

// qValue is the q parameter of a media range's parameters (1 if absent or
// malformed).
func qValue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q >= 0 && q <= 1 {
				return q
			}
		}
	}
	return 1
}

// publicMessage is the message an information system reads for err: the
// whole text when the call was refused for what it asked (4xx), else a
// short sentence naming the provider ("provider node <peer ID>" or
// "provider <member>") when known. The text of a node's or a backend's
// failure holds addresses (multiaddrs, IPs, ports): it stays in this
// node's log.
func publicMessage(err error, status int, provider string) string {
	if status < 500 {
		return err.Error()
	}
	if provider == "" {
		provider = "the provider"
	}
	var re *exchange.RemoteError
	var msg string
	switch {
	case errors.As(err, &re):
		msg = provider + " reported " + re.Code
	case errors.Is(err, exchange.ErrUnreachable):
		msg = provider + " unreachable"
	case errors.Is(err, exchange.ErrTimeout):
		msg = "call timed out waiting for " + provider
	default:
		msg = "internal error"
		if e, ok := exchange.Codes.Lookup(err); ok {
			msg = strings.TrimPrefix(e.Err.Error(), "node: ")
		}
	}
	return msg + " (details in this node's log under the request ID)"
}
