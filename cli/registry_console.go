package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/console"
)

// registryConsole is the registry console's kind of accounts
// (console_user.go has the commands).
var registryConsole = consoleKind{cmd: "registry", dir: "r1", changer: console.RoleApprover, state: "registry state",
	roles: console.Roles, mfa: console.MFARoles, prefix: console.Prefix, dirFlag: regDirFlag, accounts: consoleAccounts}

// consoleUserCommand is `dxl registry console-user`: the accounts of a
// registry server's web console (R/console.db), changed in place, also
// while the server runs.
func consoleUserCommand() *cli.Command {
	return &cli.Command{
		Name:  "console-user",
		Usage: "accounts of the registry's web console (/console/): add, list, remove, unlock",
		Description: `Console accounts live in the registry server directory (R/console.db) and are
that server's own: add them on every server whose console you use. Roles:
administrator, approver, auditor (read-only). Administrators and approvers
log in with a password and a TOTP code; add prints the TOTP secret and its
otpauth:// URI once. docs/console.md explains the console.

Example:
   dxl registry console-user add --dir r1 --name ada --role administrator --password-file ada.pw
   dxl registry console-user list --dir r1`,
		Subcommands: registryConsole.subcommands(),
	}
}

// consoleAccounts returns the account file of the registry directory
// --dir, which must hold a registry server.
func consoleAccounts(c *cli.Context) (*webui.Accounts, error) {
	dir := c.String("dir")
	if dir == "" {
		return nil, fmt.Errorf("--dir is required: the registry server directory")
	}
	if _, err := membership.ReadRegistryFile(dir); err != nil {
		return nil, err
	}
	return membership.ConsoleAccounts(dir), nil
}
