package devnet

import (
	"crypto/rand"
	"fmt"
	"path/filepath"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/console"
	"github.com/dxl-network/dxl/node"
	nodeconsole "github.com/dxl-network/dxl/node/console"
)

// AgencyC is the demo's third agency, whose registration the demo leaves
// pending for the console's approval queue.
var AgencyC = Agency{Code: "000.00.00.C01", Name: "So Y te (demo agency C)", Subsystem: "YTE"}

// ConsoleLogin is a console account of a devnet, with its password and
// TOTP secret in the clear: for a throw-away network only.
type ConsoleLogin struct {
	URL        string `json:"console_url"`
	Account    string `json:"console_account"`
	Role       string `json:"console_role"`
	Password   string `json:"console_password"`
	TOTPSecret string `json:"console_totp_secret,omitempty"`
	TOTPURI    string `json:"console_totp_uri,omitempty"`
}

// RegistryDir returns the registry server's directory.
func (n *Network) RegistryDir() string { return filepath.Join(n.Dir, "registry") }

// ConsoleAccount creates a console account name with role and a random
// password on the registry server (with TOTP for a role that changes state).
func (n *Network) ConsoleAccount(name, role string) (ConsoleLogin, error) {
	pw := "Demo-" + rand.Text()[:16] + "-9a!"
	mfa := role != console.RoleAuditor
	enr, err := membership.ConsoleAccounts(n.RegistryDir()).Add(webui.NewAccount{Name: name, Role: role, Password: pw, MFA: mfa,
		Issuer: "DXL demo registry", CreatedBy: "demo"})
	if err != nil {
		return ConsoleLogin{}, fmt.Errorf("console account %s: %w", name, err)
	}
	return ConsoleLogin{URL: n.Registry.ConsoleURL(), Account: name, Role: role, Password: pw, TOTPSecret: enr.Secret, TOTPURI: enr.URI}, nil
}

// ConsoleAccount creates an account name with role and a random password
// on the node's web console (with TOTP for a role that changes state).
func (h *NodeHandle) ConsoleAccount(name, role string) (ConsoleLogin, error) {
	pw := "Demo-" + rand.Text()[:16] + "-9a!"
	mfa := role != nodeconsole.RoleAuditor
	enr, err := node.ConsoleAccounts(h.Dir).Add(webui.NewAccount{Name: name, Role: role, Password: pw, MFA: mfa,
		Issuer: "DXL demo node", CreatedBy: "demo"})
	if err != nil {
		return ConsoleLogin{}, fmt.Errorf("node console account %s: %w", name, err)
	}
	return ConsoleLogin{URL: h.Node.ConsoleURL(), Account: name, Role: role, Password: pw, TOTPSecret: enr.Secret, TOTPURI: enr.URI}, nil
}
