package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/webui"
)

// EnvConsolePassword carries a new console account's password for
// non-interactive use.
const EnvConsolePassword = "DXL_CONSOLE_PASSWORD"

// consoleKind is what differs between the accounts of the registry's web
// console (`dxl registry console-user`) and of a node's (`dxl node
// console-user`); the commands are the same.
type consoleKind struct {
	cmd, dir   string // "registry", "r1"
	changer    string // the role below administrator that changes state
	state      string // what the roles of MFARoles change
	roles, mfa []string
	prefix     string // the console's path
	dirFlag    func() cli.Flag
	accounts   func(*cli.Context) (*webui.Accounts, error)
}

func (k consoleKind) subcommands() []*cli.Command {
	return []*cli.Command{k.add(), k.list(),
		k.change("remove", "delete a console account; its sessions end at their next request", "removed", func(a *webui.Accounts, n string) error { return a.Remove(n) }),
		k.change("unlock", "clear a console account's failed logins and lockout", "unlocked", func(a *webui.Accounts, n string) error { return a.Unlock(n) }),
		consoleUserCode()}
}

// consoleAddResult is what add prints; the secret is shown this once.
type consoleAddResult struct {
	Name string `json:"name"`
	Role string `json:"role"`
	webui.Enrolment
	ConsolePath string `json:"console_path"`
}

func (k consoleKind) add() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "create a console account (the first administrator, or any other)",
		Description: fmt.Sprintf(`Creates an account with an argon2id hash of its password. The password
needs at least %d characters with a lower-case and an upper-case letter, a
digit and a special character (R-K3); it is read from --password-file, else
$%s, else prompted twice. For the administrator and %s roles a TOTP
second factor is enrolled: add the printed secret or otpauth:// URI to an
authenticator app now, it is not shown again.

Example:
   dxl %s console-user add --dir %s --name ada --role administrator --password-file ada.pw
   dxl %[4]s console-user add --dir %[5]s --name kiem --role auditor --no-mfa --json`, webui.MinPasswordLength, EnvConsolePassword, k.changer, k.cmd, k.dir),
		Flags: []cli.Flag{k.dirFlag(),
			&cli.StringFlag{Name: "name", Usage: "account name (a-z, 0-9, . _ -)", Required: true},
			&cli.StringFlag{Name: "role", Usage: strings.Join(k.roles, ", "), Value: k.roles[0]},
			passphraseFlag("password-file", "the new console account (its password)"),
			&cli.BoolFlag{Name: "no-mfa", Usage: "no TOTP for an auditor account (refused for roles that change state)"},
			jsonFlag()},
		Action: k.addAction,
	}
}

func (k consoleKind) addAction(c *cli.Context) error {
	role := c.String("role")
	if !slices.Contains(k.roles, role) {
		return fmt.Errorf("--role %q: want one of %s", role, strings.Join(k.roles, ", "))
	}
	mfa := !c.Bool("no-mfa")
	if !mfa && slices.Contains(k.mfa, role) {
		return fmt.Errorf("--no-mfa: the %s role changes %s and must log in with TOTP", role, k.state)
	}
	accts, err := k.accounts(c)
	if err != nil {
		return err
	}
	pw, err := passphrase(c, "password-file", []string{EnvConsolePassword}, "the new console account", true)
	if err != nil {
		return err
	}
	enr, err := accts.Add(webui.NewAccount{Name: c.String("name"), Role: role, Password: string(pw), MFA: mfa,
		Issuer: "DXL " + k.cmd, CreatedBy: "cli"})
	if err != nil {
		return err
	}
	out := consoleAddResult{Name: c.String("name"), Role: role, Enrolment: enr, ConsolePath: k.prefix}
	if c.Bool("json") {
		return printJSON(c, out)
	}
	fmt.Fprintf(c.App.Writer, "console account %s (%s) created; log in at https://<%s API address>%s\n", out.Name, role, k.cmd, k.prefix)
	if mfa {
		fmt.Fprintf(c.App.Writer, "TOTP secret (shown once): %s\notpauth URI: %s\n", enr.Secret, enr.URI)
	}
	return nil
}

func (k consoleKind) list() *cli.Command {
	return &cli.Command{
		Name: "list", Usage: "list the console accounts (never a hash or secret)",
		Description: fmt.Sprintf("Example:\n   dxl %s console-user list --dir %s --json", k.cmd, k.dir),
		Flags:       []cli.Flag{k.dirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			accts, err := k.accounts(c)
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

// change is a command that applies fn to the account named by its
// argument.
func (k consoleKind) change(name, usage, done string, fn func(a *webui.Accounts, name string) error) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage, ArgsUsage: "NAME",
		Description: fmt.Sprintf("Example:\n   dxl %s console-user %s --dir %s ada", k.cmd, name, k.dir),
		Flags:       []cli.Flag{k.dirFlag()},
		Action: func(c *cli.Context) error {
			account, err := oneArg(c, "account name")
			if err != nil {
				return err
			}
			accts, err := k.accounts(c)
			if err != nil {
				return err
			}
			if err := fn(accts, account); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "console account %s %s\n", account, done)
			return nil
		},
	}
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
