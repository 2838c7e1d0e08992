package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/console"
)

// nodeConsole is a node console's kind of accounts (console_user.go has
// the commands).
var nodeConsole = consoleKind{cmd: "node", dir: "n1", changer: console.RoleServiceManager, state: "the node's state",
	roles: console.Roles, mfa: console.MFARoles, prefix: console.Prefix, dirFlag: nodeDirFlag, accounts: nodeConsoleAccounts}

// nodeConsoleUserCommand is `dxl node console-user`: the accounts of a
// node's web console (DIR/console.db), changed in place, also while the
// node runs.
func nodeConsoleUserCommand() *cli.Command {
	return &cli.Command{
		Name:  "console-user",
		Usage: "accounts of the node's web console (/console/): add, list, remove, unlock",
		Description: `Console accounts live in the node directory (DIR/console.db) and are that
node's own. Roles: administrator (node administrator: everything),
service_manager (also access rights, consumer credentials, reconciliation),
auditor (read-only). Administrators and service managers log in with a
password and a TOTP code; add prints the TOTP secret and its otpauth:// URI
once. docs/console.md explains the console.

Example:
   dxl node console-user add --dir n1 --name ada --role administrator --password-file ada.pw
   dxl node console-user list --dir n1 --json`,
		Subcommands: nodeConsole.subcommands(),
	}
}

// nodeConsoleAccounts returns the account file of the node directory
// --dir, which must hold a node.
func nodeConsoleAccounts(c *cli.Context) (*webui.Accounts, error) {
	dir := c.String("dir")
	if _, err := os.Stat(filepath.Join(dir, node.FileConfig)); err != nil {
		return nil, fmt.Errorf("--dir %s: not a node directory: %w", dir, err)
	}
	return node.ConsoleAccounts(dir), nil
}
