package membership

import (
	"net/http"
	"path/filepath"
	"strings"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/console"
)

// ConsoleAccounts returns the console account file of the registry server
// directory dir (R/console.db); the CLI adds accounts to it while the
// server runs.
func ConsoleAccounts(dir string) *webui.Accounts {
	return webui.NewAccounts(filepath.Join(dir, FileConsole), nil, nil)
}

// handler is what the API listener serves: the web console under
// console.Prefix (unless disabled), the API everywhere else.
func (r *Registry) handler(o registryOptions) (http.Handler, error) {
	if r.file.Console.Disabled {
		return r.api, nil
	}
	accounts := ConsoleAccounts(r.dir)
	auth, err := webui.NewAuth(r.file.Console.Config, accounts, console.MFARoles, webui.WithLogger(o.log))
	if err != nil {
		return nil, err
	}
	con, err := console.New(r.srv, r.api, auth, console.Config{Publisher: r.pub, Logger: o.log})
	if err != nil {
		return nil, err
	}
	r.console = con
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch p := req.URL.Path; {
		case strings.HasPrefix(p, console.Prefix):
			con.ServeHTTP(w, req)
		case p == strings.TrimSuffix(console.Prefix, "/"):
			http.Redirect(w, req, console.Prefix, http.StatusMovedPermanently)
		default:
			r.api.ServeHTTP(w, req)
		}
	}), nil
}

// ConsoleURL returns the web console's URL ("" when disabled).
func (r *Registry) ConsoleURL() string {
	if r.console == nil {
		return ""
	}
	return r.URL() + console.Prefix
}
