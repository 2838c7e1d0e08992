package membership

import (
	"errors"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/state"
)

// TestRegistryFileConsoleConfig: registry.json's console block is checked
// with the rest of the file.
func TestRegistryFileConsoleConfig(t *testing.T) {
	base := RegistryFile{Format: 1, ID: "r1", Instance: "VN-TEST", RaftListen: "127.0.0.1:1", APIListen: "127.0.0.1:2", APIURLs: []string{"https://127.0.0.1:2"}}
	if err := base.validate(); err != nil {
		t.Fatal(err)
	}
	ok := base
	ok.Console = ConsoleConfig{Config: webui.Config{IdleTimeout: webui.Duration(30 * time.Minute)}}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []webui.Config{{IdleTimeout: webui.Duration(time.Second)}, {MaxFailures: 99}, {AbsoluteTimeout: webui.Duration(48 * time.Hour)}} {
		bad := base
		bad.Console = ConsoleConfig{Config: c}
		if err := bad.validate(); !errors.Is(err, state.ErrBadConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
