package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/rules"
)

func init() {
	register(&command{path: "rules check", usage: "FILE [--catalogue FILE]",
		summary: "validate a rule file (expressions, channels, limits, its tests)", run: runRulesCheck})
	register(&command{path: "rules test", usage: "FILE [--catalogue FILE]",
		summary: "run a rule file's tests and report rule coverage", run: runRulesTest})
	register(&command{path: "rules simulate", usage: "FILE --tx TX.json | --replay TXS.ndjson",
		summary: "explain one decision, or replay many (--against OLD.yaml compares)", run: runRulesSimulate})
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// rulesFlags are the flags every rules command takes.
type rulesFlags struct {
	fs        *flag.FlagSet
	catalogue string
}

func newRulesFlags(env *cmdEnv, name string) *rulesFlags {
	f := &rulesFlags{fs: flag.NewFlagSet("payhost "+name, flag.ContinueOnError)}
	f.fs.SetOutput(env.stderr)
	f.fs.StringVar(&f.catalogue, "catalogue", "", "catalogue YAML `FILE` (default: catalogue.yaml beside the rule file)")
	return f
}

// loadCatalogue returns the catalogue for a rule file: --catalogue, else
// catalogue.yaml in the rule file's directory, else nil with a warning.
func loadCatalogue(env *cmdEnv, flagPath, ruleFile string) (rules.Catalogue, bool) {
	path := flagPath
	if path == "" {
		beside := filepath.Join(filepath.Dir(ruleFile), "catalogue.yaml")
		if _, err := os.Stat(beside); err == nil {
			path = beside
		}
	}
	if path == "" {
		fmt.Fprintf(env.stderr, "warning: channels not checked against a catalogue (no --catalogue and no %s); only their syntax was checked\n",
			filepath.Join(filepath.Dir(ruleFile), "catalogue.yaml"))
		return nil, true
	}
	cat, err := rules.LoadCatalogueFile(path)
	if err != nil {
		printErr(env, err)
		return nil, false
	}
	return cat, true
}

// printErr prints a load error: one issue per line.
func printErr(env *cmdEnv, err error) {
	var ve *rules.ValidationError
	if errors.As(err, &ve) {
		for _, is := range ve.Issues {
			fmt.Fprintln(env.stderr, is.String())
		}
		return
	}
	fmt.Fprintln(env.stderr, err)
}

// oneFile parses flags and requires exactly one rule file; without one
// it returns the exit code (0 after --help, else 2).
func oneFile(env *cmdEnv, f *rulesFlags, args []string) (string, int) {
	pos, err := parseInterspersed(f.fs, args)
	if err != nil {
		return "", flagExit(err, 2)
	}
	if len(pos) != 1 {
		fmt.Fprintf(env.stderr, "%s: want one rule FILE, got %d arguments\n", f.fs.Name(), len(pos))
		return "", 2
	}
	return pos[0], -1
}

func runRulesCheck(_ context.Context, env *cmdEnv, args []string) int {
	f := newRulesFlags(env, "rules check")
	file, code := oneFile(env, f, args)
	if code >= 0 {
		return code
	}
	cat, ok := loadCatalogue(env, f.catalogue, file)
	if !ok {
		return 1
	}
	rs, err := rules.LoadFile(file, rules.Options{Catalogue: cat})
	if err != nil {
		printErr(env, err)
		return 1
	}
	counts := map[string]int{}
	for _, r := range rs.Rules() {
		counts[r.Kind]++
	}
	rep := rs.TestReport()
	fmt.Fprintf(env.stdout, "ok %s: hash %s, %d routing rules (default included), %d split, %d fee, %d tests passed, coverage %d/%d rules\n",
		file, rs.ShortHash(), counts["routing"], counts["split"], counts["fee"], rep.Passed, rep.Hit, rep.Total)
	return 0
}

func runRulesTest(ctx context.Context, env *cmdEnv, args []string) int {
	f := newRulesFlags(env, "rules test")
	file, code := oneFile(env, f, args)
	if code >= 0 {
		return code
	}
	cat, ok := loadCatalogue(env, f.catalogue, file)
	if !ok {
		return 1
	}
	rs, err := rules.LoadFile(file, rules.Options{Catalogue: cat, SkipTests: true})
	if err != nil {
		printErr(env, err)
		return 1
	}
	rep := rs.RunTests(ctx)
	for _, r := range rep.Results {
		if r.Passed {
			fmt.Fprintf(env.stdout, "PASS  %s\n", r.Name)
			continue
		}
		fmt.Fprintf(env.stdout, "FAIL  %s (%s:%d)\n", r.Name, file, r.Line)
		for _, msg := range r.Failures {
			fmt.Fprintf(env.stdout, "      %s\n", msg)
		}
	}
	hit, total := map[string]int{}, map[string]int{}
	missed := map[rules.RuleInfo]bool{}
	for _, m := range rep.Missed {
		missed[m] = true
	}
	for _, r := range rs.Rules() {
		total[r.Kind]++
		if !missed[r] {
			hit[r.Kind]++
		}
	}
	fmt.Fprintf(env.stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	fmt.Fprintf(env.stdout, "coverage: %d/%d rules hit (routing %d/%d, split %d/%d, fee %d/%d)\n",
		rep.Hit, rep.Total, hit["routing"], total["routing"], hit["split"], total["split"], hit["fee"], total["fee"])
	for _, m := range rep.Missed {
		fmt.Fprintf(env.stdout, "not hit: %s rule %q\n", m.Kind, m.ID)
	}
	if rep.Failed > 0 {
		return 1
	}
	return 0
}

func runRulesSimulate(ctx context.Context, env *cmdEnv, args []string) int {
	f := newRulesFlags(env, "rules simulate")
	var txPath, replayPath, againstPath string
	f.fs.StringVar(&txPath, "tx", "", "decide one transaction from a JSON `FILE` and print the explanation")
	f.fs.StringVar(&replayPath, "replay", "", "decide every transaction of an NDJSON `FILE` and print the route distribution")
	f.fs.StringVar(&againstPath, "against", "", "with --replay: also decide with the rule `FILE` OLD.yaml and count changed decisions")
	file, code := oneFile(env, f, args)
	if code >= 0 {
		return code
	}
	if (txPath == "") == (replayPath == "") {
		fmt.Fprintln(env.stderr, "payhost rules simulate: give exactly one of --tx or --replay")
		return 2
	}
	if againstPath != "" && replayPath == "" {
		fmt.Fprintln(env.stderr, "payhost rules simulate: --against needs --replay")
		return 2
	}
	cat, ok := loadCatalogue(env, f.catalogue, file)
	if !ok {
		return 1
	}
	rs, ok := loadForSimulate(ctx, env, file, cat)
	if !ok {
		return 1
	}
	if txPath != "" {
		return simulateOne(ctx, env, rs, txPath)
	}
	var old *rules.Ruleset
	if againstPath != "" {
		if old, ok = loadForSimulate(ctx, env, againstPath, cat); !ok {
			return 1
		}
	}
	return replay(ctx, env, rs, old, replayPath)
}

// loadForSimulate loads a rule file without requiring its tests to pass
// (a what-if run), warning when they do not.
func loadForSimulate(ctx context.Context, env *cmdEnv, file string, cat rules.Catalogue) (*rules.Ruleset, bool) {
	rs, err := rules.LoadFile(file, rules.Options{Catalogue: cat, SkipTests: true})
	if err != nil {
		printErr(env, err)
		return nil, false
	}
	if rep := rs.RunTests(ctx); rep.Failed > 0 {
		fmt.Fprintf(env.stderr, "warning: %s: %d of %d tests fail (see payhost rules test)\n", file, rep.Failed, len(rep.Results))
	}
	return rs, true
}

func decodeTx(data []byte) (core.Transaction, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var tx core.Transaction
	if err := dec.Decode(&tx); err != nil {
		return tx, err
	}
	if dec.More() {
		return tx, errors.New("trailing data after the transaction")
	}
	return tx, nil
}

func simulateOne(ctx context.Context, env *cmdEnv, rs *rules.Ruleset, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(env.stderr, err)
		return 1
	}
	tx, err := decodeTx(data)
	if err != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", path, err)
		return 1
	}
	d, err := rs.Decide(ctx, tx)
	if err != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", path, err)
		return 1
	}
	out, err := rules.Explain(tx, d).JSON()
	if err != nil {
		fmt.Fprintln(env.stderr, err)
		return 1
	}
	env.stdout.Write(out)
	return 0
}

// replay decides every transaction of an NDJSON file, prints the
// distribution of first-choice routes and, with old, how many decisions
// differ between the two rulesets.
func replay(ctx context.Context, env *cmdEnv, rs, old *rules.Ruleset, path string) int {
	fh, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(env.stderr, err)
		return 1
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	routes := map[string]int{}
	var n, changed, routeChanged, feeChanged, splitChanged int
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		tx, err := decodeTx(text)
		if err != nil {
			fmt.Fprintf(env.stderr, "%s:%d: %v\n", path, line, err)
			return 1
		}
		n++
		d, err := rs.Decide(ctx, tx)
		routes[routeKey(d, err)]++
		if old == nil {
			continue
		}
		od, oerr := old.Decide(ctx, tx)
		r, fe, sp := diffDecisions(od, oerr, d, err)
		if r || fe || sp {
			changed++
		}
		routeChanged += b2i(r)
		feeChanged += b2i(fe)
		splitChanged += b2i(sp)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(env.stderr, "%s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(env.stdout, "replayed %d transactions with %s (%s)\n", n, rs.Source(), rs.ShortHash())
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if routes[a] != routes[b] {
			return routes[b] - routes[a]
		}
		return strings.Compare(a, b)
	})
	width := len("route")
	for _, k := range keys {
		width = max(width, len(k))
	}
	fmt.Fprintf(env.stdout, "%-*s  %5s  %6s\n", width, "route", "count", "share")
	for _, k := range keys {
		fmt.Fprintf(env.stdout, "%-*s  %5d  %6s\n", width, k, routes[k], percent(routes[k], n))
	}
	if old != nil {
		fmt.Fprintf(env.stdout, "changed against %s (%s): %d of %d decisions (route %d, fee %d, splits %d)\n",
			old.Source(), old.ShortHash(), changed, n, routeChanged, feeChanged, splitChanged)
	}
	return 0
}

func routeKey(d core.Decision, err error) string {
	if err != nil {
		return "(error: " + string(core.CodeOf(err)) + ")"
	}
	return d.Channels[0].String()
}

// diffDecisions reports whether the route (the whole channel list, or the
// error), the fee and the splits differ.
func diffDecisions(a core.Decision, aerr error, b core.Decision, berr error) (route, fee, splits bool) {
	if aerr != nil || berr != nil {
		same := aerr != nil && berr != nil && core.CodeOf(aerr) == core.CodeOf(berr)
		return !same, false, false
	}
	return !slices.Equal(a.Channels, b.Channels), a.Fee != b.Fee,
		!slices.Equal(a.Splits, b.Splits) || a.SplitMode != b.SplitMode
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// percent renders part/total with one decimal using integer arithmetic.
func percent(part, total int) string {
	if total == 0 {
		return "-"
	}
	tenths := (part*2000 + total) / (2 * total)
	return fmt.Sprintf("%d.%d%%", tenths/10, tenths%10)
}
