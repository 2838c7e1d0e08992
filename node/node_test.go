package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigRefuses(t *testing.T) {
	good := `{"member":"VN/GOV/001","p2p_listen":["/ip4/127.0.0.1/tcp/4001"],"api_listen":"127.0.0.1:8443",
	  "services":[{"subsystem":"VN/GOV/001/HR","code":"persons","versions":[{"lifecycle":"published","backend_url":"http://127.0.0.1:9/","timeout":"5s"}]}],
	  "access":{"rules":[{"subject":"VN/GOV/002/X","service":"VN/GOV/001/HR/persons"}]},"rate_limits":{"defaults":{}}}`
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Services[0].Versions[0].EffectiveTimeout().String(); got != "5s" {
		t.Fatalf("timeout %s", got)
	}
	for name, raw := range map[string]string{
		"unknown field":     strings.Replace(good, `"api_listen"`, `"api_listn"`, 1),
		"trailing data":     good + `{}`,
		"trailing brace":    good + `}`,
		"trailing bracket":  good + ` ]`,
		"not json":          `member: x`,
		"oversized":         `{"member":"` + strings.Repeat("a", MaxConfigSize) + `"}`,
		"bad member":        strings.Replace(good, `"member":"VN/GOV/001"`, `"member":"VN/GOV"`, 1),
		"other member":      strings.Replace(good, `"subsystem":"VN/GOV/001/HR"`, `"subsystem":"VN/GOV/009/HR"`, 1),
		"reserved code":     strings.Replace(good, `"code":"persons"`, `"code":"listMethods"`, 1),
		"bad multiaddr":     strings.Replace(good, `/ip4/127.0.0.1/tcp/4001`, `/ip9/x`, 1),
		"bad api address":   strings.Replace(good, `127.0.0.1:8443`, `localhost`, 1),
		"bad backend":       strings.Replace(good, `http://127.0.0.1:9/`, `ftp://x`, 1),
		"negative rate":     strings.Replace(good, `"defaults":{}`, `"defaults":{"reads_per_min":-1}`, 1),
		"bad timeout":       strings.Replace(good, `"5s"`, `"soon"`, 1),
		"bad client pin":    strings.Replace(good, `"access"`, `"clients":[{"subsystem":"VN/GOV/001/HR","cert_sha256":"ab"}],"access"`, 1),
		"duplicate service": strings.Replace(good, `"services":[`, `"services":[{"subsystem":"VN/GOV/001/HR","code":"persons","versions":[{"lifecycle":"published","backend_url":"http://x/"}]},`, 1),
	} {
		c, err := ParseConfig([]byte(raw))
		if err == nil {
			err = c.Validate()
		}
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, got %v", name, err)
		}
	}
}

// TestParseConfigLine: a node.json that does not decode names the line.
func TestParseConfigLine(t *testing.T) {
	raw := "{\n  \"member\": \"VN/GOV/001\",\n  \"api_listn\": \"127.0.0.1:8443\"\n}"
	if _, err := ParseConfig([]byte(raw)); err == nil || !strings.Contains(err.Error(), "node.json: line 3, column 3:") {
		t.Fatalf("unknown field: %v", err)
	}
	raw = "{\n  \"member\": \"VN/GOV/001\",\n  \"max_body\": \"big\"\n}"
	if _, err := ParseConfig([]byte(raw)); err == nil || !strings.Contains(err.Error(), "node.json: line 3,") {
		t.Fatalf("wrong type: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"member":"VN/GOV/001","services":[{"subsystem":"VN/GOV/001/HR","code":"p","versions":[{"lifecycle":"published","backend_url":"http://x/"}]}]}`))
	f.Add([]byte(`{"member":"VN/GOV/001","lgsp":[{"version":"v1","domain":"d","resource":"r","service":"VN/GOV/001/HR/p"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

// TestLoadConfigDescriptionFiles: openapi_files and wsdl_files are read
// relative to the node directory into their versions, a file that is not
// a WSDL is refused, and SaveConfig writes the names back, not the bytes.
func TestLoadConfigDescriptionFiles(t *testing.T) {
	dir := t.TempDir()
	const cfg = `{"member":"VN/GOV/001","p2p_listen":["/ip4/127.0.0.1/tcp/4001"],"api_listen":"127.0.0.1:8443",
	  "services":[{"subsystem":"VN/GOV/001/HR","code":"persons","versions":[{"version":"v1","lifecycle":"published","backend_url":"http://127.0.0.1:9/"}],
	  "wsdl_files":{"v1":"persons.wsdl"}}]}`
	const wsdl = `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"/>`
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(FileConfig, cfg)
	write("persons.wsdl", wsdl)
	c, err := LoadConfig(dir)
	if err != nil || string(c.Services[0].Versions[0].WSDL) != wsdl {
		t.Fatalf("%v %+v", err, c)
	}
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, FileConfig)); !strings.Contains(string(raw), `"persons.wsdl"`) || strings.Contains(string(raw), `"wsdl":`) {
		t.Fatalf("saved: %s", raw)
	}
	write("persons.wsdl", `{"openapi":"3.0.3"}`)
	if _, err := LoadConfig(dir); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "WSDL") {
		t.Fatalf("not a WSDL: %v", err)
	}
	write(FileConfig, strings.Replace(cfg, `"v1":"persons.wsdl"`, `"v9":"persons.wsdl"`, 1))
	if _, err := LoadConfig(dir); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "wsdl_files") {
		t.Fatalf("unknown version: %v", err)
	}
}
