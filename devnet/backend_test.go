package devnet

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSampleBackendBenchSize(t *testing.T) {
	h := SampleBackend()
	for _, tc := range []struct {
		query  string
		status int
		size   int
	}{{"", 200, 1024}, {"?size=4096", 200, 4096}, {"?size=0", 200, 85}, {"?size=x", 400, 0}, {"?size=-1", 400, 0}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/bench"+tc.query, nil))
		if w.Code != tc.status {
			t.Errorf("%s: %d", tc.query, w.Code)
			continue
		}
		if tc.status != 200 {
			continue
		}
		var doc map[string]string
		if w.Body.Len() != tc.size || json.Unmarshal(w.Body.Bytes(), &doc) != nil || doc["name"] == "" {
			t.Errorf("%s: %d bytes, want %d: %.80s", tc.query, w.Body.Len(), tc.size, w.Body.String())
		}
	}
}
