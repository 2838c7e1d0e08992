package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// buildInfo is what `dxl version` reports.
type buildInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	CGO      string `json:"cgo_enabled,omitempty"`
	Trimpath bool   `json:"trimpath,omitempty"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			case "CGO_ENABLED":
				b.CGO = s.Value
			case "-trimpath":
				b.Trimpath = s.Value == "true"
			}
		}
	}
	return b
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version and how this binary was built",
		Description: `Prints the version stamped at build time (scripts/build.sh), the Go
version, the platform, the source revision and whether the build was
static (cgo_enabled 0).

Examples:
   dxl version
   dxl version --json`,
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			b := readBuildInfo()
			if c.Bool("json") {
				return printJSON(c, b)
			}
			fmt.Fprintf(c.App.Writer, "dxl %s (%s, %s", b.Version, b.Go, b.Platform)
			if b.Revision != "" {
				mod := ""
				if b.Modified {
					mod = ", modified"
				}
				fmt.Fprintf(c.App.Writer, ", revision %.12s of %s%s", b.Revision, b.Time, mod)
			}
			if b.CGO == "0" {
				fmt.Fprint(c.App.Writer, ", static")
			}
			fmt.Fprintln(c.App.Writer, ")")
			return nil
		},
	}
}
