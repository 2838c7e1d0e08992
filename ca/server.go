package ca

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/dxl-network/dxl/internal/errcode"
	"github.com/dxl-network/dxl/internal/jsonin"
)

// MaxAdminBody caps an admin API request body.
const MaxAdminBody = 64 << 10

// PublicHandler serves what outside verifiers need, with no authentication:
//
//	GET  /ocsp/{base64 request}   OCSP (RFC 6960 appendix A.1)
//	POST /ocsp                    OCSP, body application/ocsp-request
//	GET  /crl                     current CRL, DER (application/pkix-crl)
//	GET  /root.pem, /intermediate.pem
//	GET  /healthz
func (c *CA) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ocsp", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/ocsp-request" {
			http.Error(w, "content type must be application/ocsp-request", http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOCSPRequest))
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		writeOCSP(w, c.OCSP(body))
	})
	mux.HandleFunc("GET /ocsp/{req...}", func(w http.ResponseWriter, r *http.Request) {
		// The path segment is base64 of the DER request, URL-encoded (RFC 6960 A.1).
		raw, err := url.PathUnescape(r.PathValue("req"))
		if err != nil || len(raw) > 2*MaxOCSPRequest {
			writeOCSP(w, c.OCSP(nil))
			return
		}
		der, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			der = nil
		}
		writeOCSP(w, c.OCSP(der))
	})
	mux.HandleFunc("GET /crl", func(w http.ResponseWriter, r *http.Request) {
		der, err := c.CRL(r.Context())
		if err != nil {
			c.log.Error("crl generation failed", "error", err)
			http.Error(w, "CRL unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(der)
	})
	mux.HandleFunc("GET /root.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pemCert(c.root))
	})
	mux.HandleFunc("GET /intermediate.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pemCert(c.inter))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func writeOCSP(w http.ResponseWriter, resp []byte) {
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(resp)
}

// issueBody is the admin API's issuance request: IssueRequest with the CSR
// as PEM text, so the API is callable with curl.
type issueBody struct {
	IssueRequest
	CSR string `json:"csr"`
}

type revokeBody struct {
	Reason string `json:"reason"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// AdminHandler serves the JSON admin API. It performs no authentication of
// its own: it is meant for the owner-only Unix socket made by ListenAdmin.
//
//	POST /v1/certificates                  issue (issueBody) → 201 Issued
//	GET  /v1/certificates[?status=revoked] list → []Record
//	GET  /v1/certificates/{serial}         one Record
//	POST /v1/certificates/{serial}/revoke  {"reason": "keyCompromise"} → Record
//	GET  /v1/crl                           current CRL, DER
func (c *CA) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/crl", func(w http.ResponseWriter, r *http.Request) {
		der, err := c.CRL(r.Context())
		if err != nil {
			writeAPIError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(der)
	})
	mux.HandleFunc("POST /v1/certificates", func(w http.ResponseWriter, r *http.Request) {
		var body issueBody
		if err := decodeBody(w, r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		body.IssueRequest.CSR = []byte(body.CSR)
		issued, err := c.Issue(r.Context(), body.IssueRequest)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, issued)
	})
	mux.HandleFunc("GET /v1/certificates", func(w http.ResponseWriter, r *http.Request) {
		recs, err := c.List(r.Context(), r.URL.Query().Get("status"))
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, recs)
	})
	mux.HandleFunc("GET /v1/certificates/{serial}", func(w http.ResponseWriter, r *http.Request) {
		rec, err := c.Get(r.Context(), r.PathValue("serial"))
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("POST /v1/certificates/{serial}/revoke", func(w http.ResponseWriter, r *http.Request) {
		var body revokeBody
		if err := decodeBody(w, r, &body); err != nil {
			writeAPIError(w, err)
			return
		}
		reason, err := ParseReason(body.Reason)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		rec, err := c.Revoke(r.Context(), r.PathValue("serial"), reason)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
	return mux
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if err := jsonin.Decode(http.MaxBytesReader(w, r.Body, MaxAdminBody), v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("%w: body over %d bytes", ErrCSRTooLarge, MaxAdminBody)
		}
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, err error) {
	var body apiError
	body.Error.Code, body.Error.Message = Codes.Code(err), err.Error()
	status := Codes.Status(err)
	if body.Error.Code == errcode.Internal {
		body.Error.Message = "internal error"
	}
	writeJSON(w, status, body)
}

// ListenAdmin listens on the CA directory's Unix socket, readable and
// writable by the owner only (and inside a 0700 directory). A socket left behind by a crashed server is
// replaced: holding the database lock proves no other server runs here.
func (c *CA) ListenAdmin() (net.Listener, error) {
	path := filepath.Join(c.dir, FileSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ca: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("ca: admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
