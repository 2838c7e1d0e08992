package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/client"
)

// TestConsoleCatalogueSchemas: the catalogue page shows a service
// version's schema type and the first 12 hex digits of its request and
// response schema digests (the whole digest in the title), in English
// and in Vietnamese; a version without schemas shows a dash.
func TestConsoleCatalogueSchemas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := devnet.Agency{Code: "000.00.00.S01", Name: "So Tu phap (agency S)", Subsystem: "TUPHAP"}
	req, err := e.nw.Submit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.nw.Admin.Approve(ctx, req); err != nil {
		t.Fatal(err)
	}
	sub := e.nw.SubsystemID(s)
	reqSum, respSum := strings.Repeat("1a", 32), strings.Repeat("2b", 32)
	if _, err := e.nw.Admin.PublishService(ctx, client.PublishServiceRequest{Subsystem: sub, Code: "ly-lich", Version: "v1",
		DescriptionSHA256: strings.Repeat("00", 32), SchemaType: "xsd", RequestSchemaSHA256: reqSum, ResponseSchemaSHA256: respSum}); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	tok := b.login("thu")
	_, body, _ := b.do("GET", "/console/catalogue", nil)
	row := body[strings.Index(body, sub+"/ly-lich/v1"):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(body, "Lược đồ dữ liệu (SHA-256)") {
		t.Fatalf("catalogue page without the schema column\n%s", body)
	}
	for _, want := range []string{"xsd", "yêu cầu " + reqSum[:12], `title="` + respSum + `"`, "phản hồi " + respSum[:12]} {
		if !strings.Contains(row, want) {
			t.Fatalf("catalogue page lacks %q in the row\n%s", want, row)
		}
	}
	if strings.Contains(row, reqSum[:13]+"<") {
		t.Fatalf("the digest is not shortened\n%s", row)
	}
	b.do("POST", "/console/lang", url.Values{"lang": {"en"}, "return": {"/console/catalogue"}, "form_token": {tok}})
	if _, body, _ = b.do("GET", "/console/catalogue", nil); !strings.Contains(body, "Data schemas (SHA-256)") || !strings.Contains(body, "request "+reqSum[:12]) {
		t.Fatalf("English catalogue page\n%s", body)
	}
}
