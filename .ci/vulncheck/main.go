// Command vulncheck is CI's helper for govulncheck on a machine that cannot
// reach vuln.go.dev. It is not part of the SDK (the leading dot keeps .ci out
// of ./... patterns); .ci/run calls it with `go run ./.ci/vulncheck`.
//
// Two subcommands:
//
//	vulncheck index -osv DIR -out DIR -version V
//
// builds a Go vulnerability database in the documented v1 layout
// (https://go.dev/security/vuln/database#api: index/db.json,
// index/modules.json, ID/<id>.json) from the flat folder of OSV JSON
// files that the golang.org/x/vulndb module ships in data/osv. The
// module's OSV files carry zero "modified" times (the hosted database fills
// them in from git history), so db.json's "modified" is taken from the
// module's pseudo-version V (v0.0.0-YYYYMMDDHHMMSS-commit): the database is
// as of that commit.
//
//	vulncheck report -json FILE [-stdlib warn|fail]
//
// reads the JSON stream of `govulncheck -format json` and prints what it
// found, grouped: vulnerabilities whose vulnerable symbols this module's
// code calls, split into dependency modules and the Go standard library
// (the toolchain), then those only imported or only required. It exits 1 if
// code calls a vulnerable symbol of a dependency module; a called standard
// library vulnerability is fixed by building with a newer Go, not by a change
// to the repository, so it exits 3 (a warning) by default and 1 with
// -stdlib fail. Anything else exits 0.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

const (
	exitFail = 1
	exitWarn = 3
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vulncheck index|report [flags]")
		os.Exit(2)
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "index":
		err = runIndex(os.Args[2:])
	case "report":
		code, err = runReport(os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(exitFail)
	}
	os.Exit(code)
}

// ---- index -----------------------------------------------------------------

// osvEntry is the part of an OSV entry the v1 index needs.
type osvEntry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"` // the Go module path, or "stdlib" / "toolchain"
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	// "fixed" is optional in the v1 schema; without it govulncheck fetches
	// every entry of the module and filters on the entry's own ranges.
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

var pseudoVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:[0-9A-Za-z.]+\.)?(?:0\.)?([0-9]{14})-[0-9a-f]{12}$`)

func runIndex(args []string) error {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	osvDir := fs.String("osv", "", "folder of OSV JSON files (golang.org/x/vulndb's data/osv)")
	out := fs.String("out", "", "folder to write the v1 database to (created)")
	version := fs.String("version", "", "golang.org/x/vulndb pseudo-version the files come from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *osvDir == "" || *out == "" || *version == "" {
		return errors.New("index: -osv, -out and -version are required")
	}
	m := pseudoVersion.FindStringSubmatch(*version)
	if m == nil {
		return fmt.Errorf("index: %q is not a pseudo-version (vYYYYMMDDHHMMSS-commit): the database date comes from it", *version)
	}
	dbTime, err := time.Parse("20060102150405", m[1])
	if err != nil {
		return fmt.Errorf("index: pseudo-version time: %v", err)
	}

	files, err := filepath.Glob(filepath.Join(*osvDir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("index: no OSV JSON files in %s", *osvDir)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(*out, d), 0o755); err != nil {
			return err
		}
	}
	modules := map[string]*moduleMeta{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e osvEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("index: %s: %v", filepath.Base(f), err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" {
			return fmt.Errorf("index: %s holds entry %q: want <id>.json", filepath.Base(f), e.ID)
		}
		if e.Modified.IsZero() {
			e.Modified = dbTime
		}
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Package.Name
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			if modules[p] == nil {
				modules[p] = &moduleMeta{Path: p, Vulns: []moduleVuln{}}
			}
			modules[p].Vulns = append(modules[p].Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(*out, "ID", e.ID+".json"), b, 0o644); err != nil {
			return err
		}
	}
	list := make([]*moduleMeta, 0, len(modules))
	for _, mm := range modules {
		sort.Slice(mm.Vulns, func(i, j int) bool { return mm.Vulns[i].ID < mm.Vulns[j].ID })
		list = append(list, mm)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	if err := writeJSON(filepath.Join(*out, "index", "modules.json"), list); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(*out, "index", "db.json"), map[string]time.Time{"modified": dbTime}); err != nil {
		return err
	}
	fmt.Printf("vulncheck: indexed %d OSV entries for %d modules; database as of %s (%s)\n",
		len(files), len(list), dbTime.Format(time.RFC3339), *version)
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ---- report ----------------------------------------------------------------

// message is one value of govulncheck's JSON stream (protocol v1.0.0).
type message struct {
	Config *struct {
		ScannerVersion string     `json:"scanner_version"`
		DB             string     `json:"db"`
		DBLastModified *time.Time `json:"db_last_modified"`
		GoVersion      string     `json:"go_version"`
		ScanLevel      string     `json:"scan_level"`
	} `json:"config"`
	OSV *struct {
		ID      string   `json:"id"`
		Summary string   `json:"summary"`
		Aliases []string `json:"aliases"`
	} `json:"osv"`
	Finding *finding `json:"finding"`
}

type finding struct {
	OSV          string   `json:"osv"`
	FixedVersion string   `json:"fixed_version"`
	Trace        []*frame `json:"trace"`
}

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
	} `json:"position"`
}

func (f *frame) symbol() string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	pkg := f.Package
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	return pkg + "." + name
}

type level int

const (
	required level = iota // the module is in the build list
	imported              // a package of it is imported
	called                // a vulnerable symbol is reachable from this module's code
)

// group is one vulnerability in one module, at the deepest level seen.
type group struct {
	id, module, version, fixed string
	level                      level
	example                    string // for called: a call path from this module's code
}

func isToolchain(module string) bool { return module == "stdlib" || module == "toolchain" }

func runReport(args []string, w io.Writer) (int, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	file := fs.String("json", "", "output of `govulncheck -format json`")
	stdlib := fs.String("stdlib", "warn", "called standard library vulnerabilities: warn or fail")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if *stdlib != "warn" && *stdlib != "fail" {
		return 0, fmt.Errorf("report: -stdlib %q: want warn or fail", *stdlib)
	}
	f, err := os.Open(*file)
	if err != nil {
		return 0, err
	}
	defer f.Close()

	var (
		cfg      *message
		summary  = map[string]string{}
		groups   = map[string]*group{}
		messages int
	)
	dec := json.NewDecoder(f)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return 0, fmt.Errorf("report: reading govulncheck output: %v", err)
		}
		messages++
		switch {
		case m.Config != nil:
			cfg = &m
		case m.OSV != nil:
			s := m.OSV.Summary
			if len(m.OSV.Aliases) > 0 {
				s += " (" + strings.Join(m.OSV.Aliases, ", ") + ")"
			}
			summary[m.OSV.ID] = s
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			fd := m.Finding
			top := fd.Trace[0]
			lv := required
			switch {
			case top.Function != "":
				lv = called
			case top.Package != "":
				lv = imported
			}
			key := fd.OSV + " " + top.Module
			g := groups[key]
			if g == nil {
				g = &group{id: fd.OSV, module: top.Module, version: top.Version, fixed: fd.FixedVersion, level: lv}
				groups[key] = g
			}
			if lv > g.level {
				g.level = lv
			}
			if lv == called && g.example == "" {
				g.example = callPath(fd.Trace)
			}
		}
	}
	if cfg == nil {
		return 0, errors.New("report: no config message: is this govulncheck -format json output?")
	}
	c := cfg.Config
	if c.ScanLevel != "symbol" {
		return 0, fmt.Errorf("report: scan level %q: want symbol (the only level that tells called from imported)", c.ScanLevel)
	}
	dbDate := "unknown"
	if c.DBLastModified != nil {
		dbDate = c.DBLastModified.Format("2006-01-02")
	}
	fmt.Fprintf(w, "govulncheck %s, %s, database %s as of %s\n", c.ScannerVersion, c.GoVersion, c.DB, dbDate)

	var calledDeps, calledStd, other []*group
	for _, g := range groups {
		switch {
		case g.level == called && isToolchain(g.module):
			calledStd = append(calledStd, g)
		case g.level == called:
			calledDeps = append(calledDeps, g)
		default:
			other = append(other, g)
		}
	}
	for _, l := range [][]*group{calledDeps, calledStd, other} {
		sort.Slice(l, func(i, j int) bool {
			if l[i].module != l[j].module {
				return l[i].module < l[j].module
			}
			return l[i].id < l[j].id
		})
	}
	printCalled := func(title string, l []*group) {
		if len(l) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(l))
		for _, g := range l {
			fmt.Fprintf(w, "  %s  %s@%s, fixed in %s: %s\n", g.id, g.module, g.version, orNone(g.fixed), summary[g.id])
			fmt.Fprintf(w, "      %s\n", g.example)
		}
	}
	printCalled("Called from this module: vulnerabilities in dependency modules", calledDeps)
	printCalled("Called from this module: vulnerabilities in the Go standard library (fixed by building with a newer Go)", calledStd)
	if len(other) > 0 {
		// Per module: how many, at which level, and the version that clears them all.
		type agg struct {
			version         string
			imported, other int
			fixed           string
		}
		per := map[string]*agg{}
		var names []string
		for _, g := range other {
			a := per[g.module]
			if a == nil {
				a = &agg{version: g.version}
				per[g.module] = a
				names = append(names, g.module)
			}
			if g.level == imported {
				a.imported++
			} else {
				a.other++
			}
			if g.fixed == "" {
				a.fixed = "(some have no fix)"
			} else if a.fixed != "(some have no fix)" && semverLess(a.fixed, g.fixed) {
				a.fixed = g.fixed
			}
		}
		sort.Strings(names)
		fmt.Fprintf(w, "\nNot called (informational; govulncheck does not count these):\n")
		for _, n := range names {
			a := per[n]
			fmt.Fprintf(w, "  %s@%s: %d in imported packages, %d in other packages of the module; all fixed by %s\n",
				n, a.version, a.imported, a.other, orNone(a.fixed))
		}
	}

	switch {
	case len(calledDeps) > 0:
		fmt.Fprintf(w, "\nFAIL: %d called vulnerabilities in dependency modules: upgrade them.\n", len(calledDeps))
		return exitFail, nil
	case len(calledStd) > 0:
		need := ""
		for _, g := range calledStd {
			if g.fixed != "" && (need == "" || semverLess(need, g.fixed)) {
				need = g.fixed
			}
		}
		msg := fmt.Sprintf("%d called standard library vulnerabilities in %s; build with go%s or newer", len(calledStd), c.GoVersion, strings.TrimPrefix(need, "v"))
		if *stdlib == "fail" {
			fmt.Fprintf(w, "\nFAIL: %s.\n", msg)
			return exitFail, nil
		}
		fmt.Fprintf(w, "\nWARN: module code and dependencies are clean, the toolchain is not: %s.\n", msg)
		return exitWarn, nil
	}
	fmt.Fprintf(w, "\nOK: no called vulnerabilities (%d messages read).\n", messages)
	return 0, nil
}

// callPath renders a trace (vulnerable symbol first, entry point last) as
// "file:line: entry -> ... -> vulnerable".
func callPath(tr []*frame) string {
	var names []string
	for i := len(tr) - 1; i >= 0; i-- {
		names = append(names, tr[i].symbol())
	}
	pos := ""
	if e := tr[len(tr)-1]; e.Position != nil && e.Position.Line > 0 {
		pos = fmt.Sprintf("%s:%d: ", e.Position.Filename, e.Position.Line)
	}
	return pos + strings.Join(names, " -> ")
}

func orNone(s string) string {
	if s == "" {
		return "(no fix)"
	}
	return s
}

// semverLess compares vMAJOR.MINOR.PATCH[-pre] versions well enough to pick
// the highest fixed version to report (pre-release and pseudo-version
// suffixes compare as strings).
func semverLess(a, b string) bool {
	pa, pb := splitVersion(a), splitVersion(b)
	for i := 0; i < 3; i++ {
		if pa.n[i] != pb.n[i] {
			return pa.n[i] < pb.n[i]
		}
	}
	switch {
	case pa.pre == pb.pre:
		return false
	case pa.pre == "":
		return false
	case pb.pre == "":
		return true
	}
	return pa.pre < pb.pre
}

type version struct {
	n   [3]int
	pre string
}

func splitVersion(s string) version {
	var v version
	s = strings.TrimPrefix(strings.TrimPrefix(s, "go"), "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s, v.pre = s[:i], s[i:]
	}
	for i, p := range strings.SplitN(s, ".", 3) {
		fmt.Sscanf(p, "%d", &v.n[i])
	}
	return v
}
