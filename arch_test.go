package main

// The house rules of the source tree (CONTRIBUTING.md), checked on every
// test run: imports point one way through the layers below, the node's
// dependency graph holds no Raft, test fixtures stay in tests, every
// package has a doc.go, files stay under maxFileLines and functions under
// maxFuncLines.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	module       = "github.com/dxl-network/dxl"
	maxFileLines = 600
	maxFuncLines = 80
)

// layers gives every package directory its layer; a package may import only
// packages of a lower layer, or of its own layer where sameLayer allows it.
// The longest matching prefix decides.
var layers = []struct {
	prefix string
	layer  int
}{
	{"internal/", 0}, {"internal/httpserve", 0}, {"internal/loadgen", 0}, // leaf plumbing: imports nothing of DXL
	{"ca", 1}, {"tsa", 1}, {"services", 1}, {"membership/globalconf", 1},
	{"node/envelope", 1}, {"node/auth", 1}, {"node/oprec", 1},
	{"membership/state", 2}, {"node/msglog", 2}, {"node/confview", 2}, {"node/replay", 2}, {"node/alert", 2},
	{"membership/store", 3}, {"membership/client", 3}, {"node/transport", 3}, {"node/exchange", 3},
	{"membership/internal/regtest", 3}, {"membership/store/storetest", 4},
	{"membership/api", 4}, {"membership/console", 4}, {"node/consumer", 4}, {"node/provider", 4}, {"node/confsync", 4}, {"node/delivery", 4},
	{"node/console", 4},
	{"membership", 5}, {"node", 5},
	{"devnet", 6},
	{"cli", 7},
	{"", 8}, // the main package
}

// sameLayer lists the imports allowed between packages of one layer.
var sameLayer = map[string][]string{
	"internal/keystore": {"internal/fsutil"},
}

// testOnly are packages of test fixtures: only tests and other fixtures
// may import them.
var testOnly = []string{"internal/testutil", "internal/browsertest", "membership/internal/regtest", "membership/store/storetest"}

// raftFree are packages whose whole dependency graph must hold no Raft: the
// node and what it imports from the registry.
var raftFree = []string{"node", "membership/client", "membership/state"}

type pkgInfo struct {
	dir     string
	imports map[string]bool // module-relative dirs and external paths
	hasDoc  bool
}

func layerOf(dir string) int {
	best, layer := -1, -1
	for _, l := range layers {
		match := l.prefix == "" || dir == l.prefix || strings.HasPrefix(dir, strings.TrimSuffix(l.prefix, "/")+"/")
		if match && len(l.prefix) > best {
			best, layer = len(l.prefix), l.layer
		}
	}
	return layer
}

// loadTree parses every non-test Go file of the module.
func loadTree(t *testing.T) (map[string]*pkgInfo, *token.FileSet, map[string]*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string]*pkgInfo{}
	files := map[string]*ast.File{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		files[path] = f
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			dir = ""
		}
		p := pkgs[dir]
		if p == nil {
			p = &pkgInfo{dir: dir, imports: map[string]bool{}}
			pkgs[dir] = p
		}
		if filepath.Base(path) == "doc.go" || (dir == "" && f.Doc != nil) {
			p.hasDoc = true
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if ip == module {
				ip = ""
			} else if rel, ok := strings.CutPrefix(ip, module+"/"); ok {
				ip = rel
			}
			p.imports[ip] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs, fset, files
}

func TestLayering(t *testing.T) {
	pkgs, _, _ := loadTree(t)
	for dir, p := range pkgs {
		from := layerOf(dir)
		for imp := range p.imports {
			if _, internal := pkgs[imp]; !internal {
				continue
			}
			to := layerOf(imp)
			switch {
			case to < from:
			case to == from && allowedSame(dir, imp):
			default:
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point down the layers", show(dir), from, show(imp), to)
			}
		}
	}
}

func TestFixturesOnlyInTests(t *testing.T) {
	pkgs, _, _ := loadTree(t)
	for dir, p := range pkgs {
		if slices.Contains(testOnly, dir) {
			continue
		}
		for _, fx := range testOnly {
			if p.imports[fx] {
				t.Errorf("%s imports the test fixtures %s outside its tests", show(dir), fx)
			}
		}
	}
}

func allowedSame(from, to string) bool {
	for _, p := range sameLayer[from] {
		if to == p || strings.HasSuffix(p, "/") && strings.HasPrefix(to, p) {
			return true
		}
	}
	return false
}

func show(dir string) string {
	if dir == "" {
		return "dxl (main)"
	}
	return dir
}

func TestNoRaftInTheNode(t *testing.T) {
	pkgs, _, _ := loadTree(t)
	for _, root := range raftFree {
		seen := map[string]bool{}
		var walk func(dir string, path []string)
		walk = func(dir string, path []string) {
			if seen[dir] {
				return
			}
			seen[dir] = true
			p := pkgs[dir]
			if p == nil {
				t.Fatalf("raftFree names %s, which has no Go files", dir)
			}
			for imp := range p.imports {
				if strings.HasPrefix(imp, "github.com/hashicorp/raft") {
					t.Errorf("%s imports Raft through %s", root, strings.Join(append(path, dir), " → "))
				}
				if _, internal := pkgs[imp]; internal {
					walk(imp, append(path, dir))
				}
			}
		}
		walk(root, nil)
	}
}

func TestEveryPackageHasDoc(t *testing.T) {
	pkgs, _, _ := loadTree(t)
	for dir, p := range pkgs {
		if !p.hasDoc {
			t.Errorf("%s has no doc.go", show(dir))
		}
	}
}

func TestFileAndFunctionSizes(t *testing.T) {
	_, fset, files := loadTree(t)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, path := range paths {
		f := files[path]
		if n := fset.Position(f.End()).Line; n > maxFileLines {
			raw, _ := os.ReadFile(path)
			if n = strings.Count(string(raw), "\n"); n > maxFileLines {
				t.Errorf("%s: %d lines (house style: under %d; split it by purpose)", path, n, maxFileLines)
			}
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || declarativeCLI(path, fd) {
				continue
			}
			if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > maxFuncLines {
				t.Errorf("%s: %s is %d lines (house style: under %d; name its steps)", path, fd.Name.Name, n, maxFuncLines)
			}
		}
	}
}

// declarativeCLI reports whether fd builds a urfave/cli command tree: a
// function in cli/ returning *cli.Command, which is one declaration however
// long its list of flags and subcommands.
func declarativeCLI(path string, fd *ast.FuncDecl) bool {
	if !strings.HasPrefix(filepath.ToSlash(path), "cli/") || fd.Type.Results == nil || len(fd.Type.Results.List) != 1 {
		return false
	}
	star, ok := fd.Type.Results.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Command"
}

// TestFuzzCorporaHaveTargets: every committed seed corpus
// (DIR/testdata/fuzz/FuzzX) belongs to a fuzz target FuzzX in DIR, so a
// target that moves takes its regression seeds along.
func TestFuzzCorporaHaveTargets(t *testing.T) {
	var corpora []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), "Fuzz") && filepath.Base(filepath.Dir(path)) == "fuzz" {
			corpora = append(corpora, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range corpora {
		dir := filepath.Dir(filepath.Dir(filepath.Dir(c)))
		tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range tests {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "func "+filepath.Base(c)+"(") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no %s in %s's tests; move the corpus with its target", c, filepath.Base(c), dir)
		}
	}
}
