package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/console"
)

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
		Subcommands: []*cli.Command{nodeConsoleUserAdd(), nodeConsoleUserList(), nodeConsoleUserRemove(), nodeConsoleUserUnlock(), consoleUserCode()},
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

func nodeConsoleUserAdd() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "create a node console account (the first administrator, or any other)",
		Description: fmt.Sprintf(`Creates an account with an argon2id hash of its password. The password
needs at least %d characters with a lower-case and an upper-case letter, a
digit and a special character (R-K3); it is read from --password-file, else
$%s, else prompted twice. For the administrator and service_manager roles a
TOTP second factor is enrolled: add the printed secret or otpauth:// URI to
an authenticator app now, it is not shown again.

Example:
   dxl node console-user add --dir n1 --name ada --role administrator --password-file ada.pw
   dxl node console-user add --dir n1 --name kiem --role auditor --no-mfa --json`, webui.MinPasswordLength, EnvConsolePassword),
		Flags: []cli.Flag{nodeDirFlag(),
			&cli.StringFlag{Name: "name", Usage: "account name (a-z, 0-9, . _ -)", Required: true},
			&cli.StringFlag{Name: "role", Usage: "administrator, service_manager or auditor", Value: console.RoleAdministrator},
			passphraseFlag("password-file", "the new console account (its password)"),
			&cli.BoolFlag{Name: "no-mfa", Usage: "no TOTP for an auditor account (refused for roles that change state)"},
			jsonFlag()},
		Action: func(c *cli.Context) error {
			role := c.String("role")
			if !slices.Contains(console.Roles, role) {
				return fmt.Errorf("--role %q: want one of %s", role, strings.Join(console.Roles, ", "))
			}
			mfa := !c.Bool("no-mfa")
			if !mfa && slices.Contains(console.MFARoles, role) {
				return fmt.Errorf("--no-mfa: the %s role changes the node's state and must log in with TOTP", role)
			}
			accts, err := nodeConsoleAccounts(c)
			if err != nil {
				return err
			}
			pw, err := passphrase(c, "password-file", []string{EnvConsolePassword}, "the new console account", true)
			if err != nil {
				return err
			}
			enr, err := accts.Add(webui.NewAccount{Name: c.String("name"), Role: role, Password: string(pw), MFA: mfa,
				Issuer: "DXL node", CreatedBy: "cli"})
			if err != nil {
				return err
			}
			out := consoleAddResult{Name: c.String("name"), Role: role, Enrolment: enr, ConsolePath: console.Prefix}
			if c.Bool("json") {
				return printJSON(c, out)
			}
			fmt.Fprintf(c.App.Writer, "console account %s (%s) created; log in at https://<node API address>%s\n", out.Name, role, console.Prefix)
			if mfa {
				fmt.Fprintf(c.App.Writer, "TOTP secret (shown once): %s\notpauth URI: %s\n", enr.Secret, enr.URI)
			}
			return nil
		},
	}
}

func nodeConsoleUserList() *cli.Command {
	return &cli.Command{
		Name: "list", Usage: "list the node console's accounts (never a hash or secret)",
		Description: "Example:\n   dxl node console-user list --dir n1 --json",
		Flags:       []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			accts, err := nodeConsoleAccounts(c)
			if err != nil {
				return err
			}
			list, err := accts.List()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, map[string]any{"accounts": list})
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tMFA\tLANG\tLAST LOGIN\tLOCKED UNTIL")
			for _, a := range list {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", a.Name, a.Role, a.MFA, a.Lang, fmtTime(a.LastLogin), fmtTime(a.LockedUntil))
			}
			return tw.Flush()
		},
	}
}

func nodeConsoleUserRemove() *cli.Command {
	return &cli.Command{
		Name: "remove", Usage: "delete a node console account; its sessions end at their next request", ArgsUsage: "NAME",
		Description: "Example:\n   dxl node console-user remove --dir n1 kiem",
		Flags:       []cli.Flag{nodeDirFlag()},
		Action: func(c *cli.Context) error {
			return nodeConsoleUserChange(c, "removed", func(a *webui.Accounts, name string) error { return a.Remove(name) })
		},
	}
}

func nodeConsoleUserUnlock() *cli.Command {
	return &cli.Command{
		Name: "unlock", Usage: "clear a node console account's failed logins and lockout", ArgsUsage: "NAME",
		Description: "Example:\n   dxl node console-user unlock --dir n1 ada",
		Flags:       []cli.Flag{nodeDirFlag()},
		Action: func(c *cli.Context) error {
			return nodeConsoleUserChange(c, "unlocked", func(a *webui.Accounts, name string) error { return a.Unlock(name) })
		},
	}
}

func nodeConsoleUserChange(c *cli.Context, done string, fn func(a *webui.Accounts, name string) error) error {
	name, err := oneArg(c, "account name")
	if err != nil {
		return err
	}
	accts, err := nodeConsoleAccounts(c)
	if err != nil {
		return err
	}
	if err := fn(accts, name); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "console account %s %s\n", name, done)
	return nil
}
