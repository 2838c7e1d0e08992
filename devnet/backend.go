package devnet

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// SampleOpenAPI describes the sample backend's JSON API.
const SampleOpenAPI = `{
  "openapi": "3.0.3",
  "info": {"title": "Sample civil registry", "version": "1.0.0"},
  "paths": {
    "/citizens/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "a citizen"}}}},
    "/citizens": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "born": {"type": "string"}}}}}},
      "responses": {"201": {"description": "created"}}}},
    "/echo": {"post": {"responses": {"200": {"description": "the body back"}}}},
    "/headers": {"get": {"responses": {"200": {"description": "the request headers back, with response headers of its own"}}}}
  }
}`

// benchJSON is a 1 KiB JSON document for benchmarks (GET /bench).
var benchJSON = BenchJSON(1024)

// MaxBenchSize is the largest answer GET /bench?size=N gives.
const MaxBenchSize = 64 << 20

// BenchJSON is a JSON document of exactly size bytes (at least the few
// its fields take), as GET /bench?size=N answers.
func BenchJSON(size int) []byte {
	b := []byte(`{"id":"001","name":"Nguyen Van An","born":"1990-01-02","province":"Ha Noi","note":"`)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, '"', '}')
}

// SampleBackend is the provider's own information system in the demo: a
// small JSON API (GET /citizens/{id}, XML when Accept asks for it; POST
// /citizens), an XML document (GET /xml), GET /bench (a JSON document of
// 1 KiB, or ?size=N bytes, for load tests), POST /echo that returns the
// body (streaming, any size), GET /headers that returns the request
// headers and sets response
// headers of its own, and a SOAP 1.1/1.2 endpoint (POST /soap) that
// answers with the X-Road header echoed.
func SampleBackend() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})
	m.HandleFunc("GET /citizens/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept")
		if accept := r.Header.Get("Accept"); strings.Contains(accept, "xml") && !strings.Contains(accept, "json") {
			w.Header().Set("Content-Type", "application/xml")
			var id strings.Builder
			xml.EscapeText(&id, []byte(r.PathValue("id")))
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><citizen><id>%s</id><name>Nguyen Van An</name></citizen>`, id.String())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"id": r.PathValue("id"), "name": "Nguyen Van An", "born": "1990-01-02", "province": "Ha Noi",
			"requested_by": r.Header.Get("X-DXL-Client"), "request_id": r.Header.Get("X-Request-ID"),
		})
	})
	m.HandleFunc("GET /headers", echoHeaders)
	m.HandleFunc("POST /citizens", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		in["id"] = "079090000001"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(in)
	})
	m.HandleFunc("GET /bench", benchAnswer)
	m.HandleFunc("GET /xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><citizen><id>001</id><name>Nguyen Van An</name></citizen>`)
	})
	m.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// Answering while the body still arrives: any size streams through.
		_ = http.NewResponseController(w).EnableFullDuplex()
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		io.Copy(w, r.Body)
	})
	m.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		if code < 200 || code > 599 {
			code = 500
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"backend_status":%d}`, code)
	})
	m.HandleFunc("POST /soap", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		ct := r.Header.Get("Content-Type")
		ns := "http://schemas.xmlsoap.org/soap/envelope/"
		if strings.HasPrefix(ct, "application/soap+xml") {
			ns = "http://www.w3.org/2003/05/soap-envelope"
		}
		var esc strings.Builder
		xml.EscapeText(&esc, []byte(r.Header.Get("X-DXL-Client")))
		w.Header().Set("Content-Type", ct)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="%s"><env:Body><getCitizenResponse><name>Nguyen Van An</name><client>%s</client><requestBytes>%d</requestBytes></getCitizenResponse></env:Body></env:Envelope>`,
			ns, esc.String(), len(body))
	})
	return m
}

// benchAnswer answers GET /bench: 1 KiB of JSON, or exactly N bytes with
// ?size=N (at most MaxBenchSize).
func benchAnswer(w http.ResponseWriter, r *http.Request) {
	body := benchJSON
	if q := r.URL.Query().Get("size"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 || n > MaxBenchSize {
			http.Error(w, `{"error":"size is a number of bytes up to 64 MiB"}`, http.StatusBadRequest)
			return
		}
		body = BenchJSON(n)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// echoHeaders answers the request headers as JSON, with response headers
// of its own (a repeated one among them).
func echoHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="headers.json"`)
	h.Set("Allow", "GET, HEAD")
	h.Add("X-Backend-Trace", "one")
	h.Add("X-Backend-Trace", "two")
	json.NewEncoder(w).Encode(r.Header)
}
