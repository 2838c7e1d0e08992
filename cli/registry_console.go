package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/console"
)

// EnvConsolePassword carries a new console account's password for
// non-interactive use.
const EnvConsolePassword = "DXL_CONSOLE_PASSWORD"

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
		Subcommands: []*cli.Command{consoleUserAdd(), consoleUserList(), consoleUserRemove(), consoleUserUnlock(), consoleUserCode()},
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

// consoleAddResult is what add prints; the secret is shown this once.
type consoleAddResult struct {
	Name string `json:"name"`
	Role string `json:"role"`
	webui.Enrolment
	ConsolePath string `json:"console_path"`
}

func consoleUserAdd() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "create a console account (the first administrator, or any other)",
		Description: fmt.Sprintf(`Creates an account with an argon2id hash of its password. The password
needs at least %d characters with a lower-case and an upper-case letter, a
digit and a special character (R-K3); it is read from --password-file, else
$%s, else prompted twice. For the administrator and approver roles a TOTP
second factor is enrolled: add the printed secret or otpauth:// URI to an
authenticator app now, it is not shown again.

Example:
   dxl registry console-user add --dir r1 --name ada --role administrator --password-file ada.pw
   dxl registry console-user add --dir r1 --name kiem --role auditor --json`, webui.MinPasswordLength, EnvConsolePassword),
		Flags: []cli.Flag{regDirFlag(),
			&cli.StringFlag{Name: "name", Usage: "account name (a-z, 0-9, . _ -)", Required: true},
			&cli.StringFlag{Name: "role", Usage: "administrator, approver or auditor", Value: console.RoleAdministrator},
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
				return fmt.Errorf("--no-mfa: the %s role changes registry state and must log in with TOTP", role)
			}
			accts, err := consoleAccounts(c)
			if err != nil {
				return err
			}
			pw, err := passphrase(c, "password-file", []string{EnvConsolePassword}, "the new console account", true)
			if err != nil {
				return err
			}
			enr, err := accts.Add(webui.NewAccount{Name: c.String("name"), Role: role, Password: string(pw), MFA: mfa,
				Issuer: "DXL registry", CreatedBy: "cli"})
			if err != nil {
				return err
			}
			out := consoleAddResult{Name: c.String("name"), Role: role, Enrolment: enr, ConsolePath: console.Prefix}
			if c.Bool("json") {
				return printJSON(c, out)
			}
			fmt.Fprintf(c.App.Writer, "console account %s (%s) created; log in at https://<registry API address>%s\n", out.Name, role, console.Prefix)
			if mfa {
				fmt.Fprintf(c.App.Writer, "TOTP secret (shown once): %s\notpauth URI: %s\n", enr.Secret, enr.URI)
			}
			return nil
		},
	}
}

func consoleUserList() *cli.Command {
	return &cli.Command{
		Name: "list", Usage: "list the console accounts (never a hash or secret)",
		Description: "Example:\n   dxl registry console-user list --dir r1 --json",
		Flags:       []cli.Flag{regDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			accts, err := consoleAccounts(c)
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

func consoleUserRemove() *cli.Command {
	return &cli.Command{
		Name: "remove", Usage: "delete a console account; its sessions end at their next request", ArgsUsage: "NAME",
		Description: "Example:\n   dxl registry console-user remove --dir r1 kiem",
		Flags:       []cli.Flag{regDirFlag()},
		Action: func(c *cli.Context) error {
			return consoleUserChange(c, "removed", func(a *webui.Accounts, name string) error { return a.Remove(name) })
		},
	}
}

func consoleUserUnlock() *cli.Command {
	return &cli.Command{
		Name: "unlock", Usage: "clear a console account's failed logins and lockout", ArgsUsage: "NAME",
		Description: "Example:\n   dxl registry console-user unlock --dir r1 ada",
		Flags:       []cli.Flag{regDirFlag()},
		Action: func(c *cli.Context) error {
			return consoleUserChange(c, "unlocked", func(a *webui.Accounts, name string) error { return a.Unlock(name) })
		},
	}
}

func consoleUserChange(c *cli.Context, done string, fn func(a *webui.Accounts, name string) error) error {
	name, err := oneArg(c, "account name")
	if err != nil {
		return err
	}
	accts, err := consoleAccounts(c)
	if err != nil {
		return err
	}
	if err := fn(accts, name); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "console account %s %s\n", name, done)
	return nil
}

func consoleUserCode() *cli.Command {
	return &cli.Command{
		Name:  "code",
		Usage: "print the current TOTP code of a secret (to try the demo without an authenticator app, or to check one)",
		Description: `Reads the base32 TOTP secret from $DXL_TOTP_SECRET or --secret (which
leaves it in the shell history: use it for the demo only).

Example:
   DXL_TOTP_SECRET=JBSWY3DPEHPK3PXP dxl registry console-user code`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "secret", Usage: "base32 TOTP secret", EnvVars: []string{"DXL_TOTP_SECRET"}}},
		Action: func(c *cli.Context) error {
			if c.String("secret") == "" {
				return fmt.Errorf("no secret: set DXL_TOTP_SECRET or --secret")
			}
			code, err := webui.TOTPCode(strings.ToUpper(strings.TrimSpace(c.String("secret"))), time.Now())
			if err != nil {
				return fmt.Errorf("TOTP secret: %w", err)
			}
			fmt.Fprintln(c.App.Writer, code)
			return nil
		},
	}
}
