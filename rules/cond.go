package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/payhost/payhost/core"
)

// MaxExprNodes bounds the size of one `when` expression (AST nodes).
const MaxExprNodes = 500

// field is an environment field the index understands: a string the
// equality conditions of many rules compare against constants.
type field int

const (
	fieldCurrency field = iota
	fieldMethod
	fieldCountry
	fieldMerchantID
	fieldTerminal
	numFields
)

var fieldNames = [numFields]string{"currency", "method", "country", "merchant_id", "terminal"}

func fieldByName(s string) (field, bool) {
	for i, n := range fieldNames {
		if n == s {
			return field(i), true
		}
	}
	return 0, false
}

func (e *evalEnv) field(f field) string {
	switch f {
	case fieldCurrency:
		return e.Currency
	case fieldMethod:
		return e.Method
	case fieldCountry:
		return e.Country
	case fieldMerchantID:
		return e.MerchantID
	default:
		return e.Terminal
	}
}

// envNames are the identifiers an expression may read, with how to render
// each for the explanation.
var envNames = map[string]bool{
	"amount": true, "currency": true, "method": true, "merchant_id": true, "merchant_tags": true,
	"country": true, "terminal": true, "hour": true, "weekday": true, "metadata": true,
}

// disabledBuiltins are expr builtins that compute floats or read the clock:
// decisions must be integer-only and depend on the transaction alone.
var disabledBuiltins = []string{"now", "date", "duration", "timezone", "float", "round", "ceil", "floor", "mean", "median", "fromJSON"}

var exprOptions = func() []expr.Option {
	opts := []expr.Option{expr.Env(evalEnv{}), expr.AsBool(), expr.MaxNodes(MaxExprNodes)}
	for _, b := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	return opts
}()

// cond is a compiled `when`.
type cond struct {
	src    string
	prog   *vm.Program // nil when the condition is always true or fully indexed
	always bool        // no condition
	exact  bool        // the constraints below are the whole condition
	never  bool        // the constraints contradict each other
	// eq[f] lists the values field f must take (sorted); nil = unconstrained.
	eq     [numFields][]string
	inputs []inputRef
	// healthArgs are the channels named in healthy()/health() calls.
	healthArgs []string
}

type inputKind int

const (
	inputField inputKind = iota
	inputMetaKey
	inputHealthy
	inputHealth
)

// inputRef is one value a condition reads, recorded in explanations.
type inputRef struct {
	key  string // e.g. "amount", "metadata.channel", `healthy("a/b/c")`
	kind inputKind
	arg  string // field name, metadata key or channel
}

// exprIssue is a problem inside an expression, 1-based position.
type exprIssue struct {
	line, col int
	msg       string
}

// compileCond parses, checks and compiles a `when`. An empty source is a
// condition that always holds.
func compileCond(src string) (*cond, []exprIssue) {
	c := &cond{src: src}
	if strings.TrimSpace(src) == "" {
		c.always = true
		return c, nil
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, []exprIssue{fromExprErr(src, err)}
	}
	if iss := checkBans(src, &tree.Node); len(iss) > 0 {
		return nil, iss
	}
	prog, err := expr.Compile(src, exprOptions...)
	if err != nil {
		return nil, []exprIssue{fromExprErr(src, err)}
	}
	c.prog = prog
	c.extractConstraints(tree.Node)
	c.inputs, c.healthArgs = collectInputs(&tree.Node)
	if c.exact && !c.never {
		c.prog = nil // the index decides it alone
	}
	return c, nil
}

func fromExprErr(src string, err error) exprIssue {
	var fe *file.Error
	if errors.As(err, &fe) {
		line, col := fe.Line, fe.Column+1
		if line == 0 {
			line, col = offsetPos(src, fe.From)
		}
		return exprIssue{line: line, col: col, msg: fe.Message}
	}
	return exprIssue{line: 1, col: 1, msg: err.Error()}
}

// offsetPos converts a rune offset into a 1-based line and column.
func offsetPos(src string, runeOff int) (int, int) {
	line, col, i := 1, 1, 0
	for _, r := range src {
		if i == runeOff {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i++
	}
	return line, col
}

// banVisitor refuses what would compute money inside an expression (float
// literals, division, powers) and names that bypass input tracking.
type banVisitor struct {
	src     string
	issues  []exprIssue
	callees map[*ast.IdentifierNode]bool
}

func checkBans(src string, root *ast.Node) []exprIssue {
	v := &banVisitor{src: src, callees: map[*ast.IdentifierNode]bool{}}
	// Mark health function callees first (Walk visits children first).
	ast.Walk(root, visitorFunc(func(n *ast.Node) {
		if call, ok := (*n).(*ast.CallNode); ok {
			if id, ok := call.Callee.(*ast.IdentifierNode); ok && (id.Value == "healthy" || id.Value == "health") {
				v.callees[id] = true
				if len(call.Arguments) != 1 {
					v.add(*n, "%s() takes exactly one channel", id.Value)
					return
				}
				s, ok := call.Arguments[0].(*ast.StringNode)
				if !ok {
					v.add(*n, "%s() takes a channel literal such as \"haotian/main/alipay.qr\"", id.Value)
					return
				}
				if _, err := core.ParseChannel(s.Value); err != nil {
					v.add(call.Arguments[0], "%s(): %v", id.Value, err)
				}
			}
		}
	}))
	ast.Walk(root, v)
	return v.issues
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

func (v *banVisitor) add(n ast.Node, format string, args ...any) {
	line, col := offsetPos(v.src, n.Location().From)
	v.issues = append(v.issues, exprIssue{line: line, col: col, msg: fmt.Sprintf(format, args...)})
}

func (v *banVisitor) Visit(np *ast.Node) {
	switch n := (*np).(type) {
	case *ast.FloatNode:
		v.add(n, "float literal %v: money is computed in Go, write integers (minor units, ppm)", n.Value)
	case *ast.BinaryNode:
		switch n.Operator {
		case "/":
			v.add(n, "division is not allowed: it yields a float; compare against integer bounds instead")
		case "**", "^":
			v.add(n, "power operator %s is not allowed: it yields a float", n.Operator)
		}
	case *ast.IdentifierNode:
		switch {
		case n.Value == "Env" || n.Value == "$env":
			v.add(n, "unknown name %s", n.Value)
		case (n.Value == "healthy" || n.Value == "health") && !v.callees[n]:
			v.add(n, "%s must be called with a channel, e.g. %s(\"haotian/main/alipay.qr\")", n.Value, n.Value)
		}
	}
}

// extractConstraints records top-level conjuncts of the form
// `field == "v"` and `field in ["a", "b"]` for the indexed fields.
func (c *cond) extractConstraints(root ast.Node) {
	var conj []ast.Node
	var flatten func(n ast.Node)
	flatten = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
			flatten(b.Left)
			flatten(b.Right)
			return
		}
		conj = append(conj, n)
	}
	flatten(root)
	c.exact = true
	for _, n := range conj {
		f, vals, ok := constraintOf(n)
		if !ok {
			c.exact = false
			continue
		}
		if c.eq[f] == nil {
			c.eq[f] = vals
		} else {
			c.eq[f] = intersect(c.eq[f], vals)
		}
		if len(c.eq[f]) == 0 {
			c.never = true
			c.eq[f] = []string{}
		}
	}
}

func constraintOf(n ast.Node) (field, []string, bool) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return 0, nil, false
	}
	switch b.Operator {
	case "==":
		id, s := identString(b.Left, b.Right)
		if id == nil {
			id, s = identString(b.Right, b.Left)
		}
		if id == nil {
			return 0, nil, false
		}
		f, ok := fieldByName(id.Value)
		if !ok {
			return 0, nil, false
		}
		return f, []string{s.Value}, true
	case "in":
		id, ok := b.Left.(*ast.IdentifierNode)
		if !ok {
			return 0, nil, false
		}
		f, ok := fieldByName(id.Value)
		if !ok {
			return 0, nil, false
		}
		arr, ok := b.Right.(*ast.ArrayNode)
		if !ok {
			return 0, nil, false
		}
		vals := make([]string, 0, len(arr.Nodes))
		for _, e := range arr.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return 0, nil, false
			}
			vals = append(vals, s.Value)
		}
		slices.Sort(vals)
		return f, slices.Compact(vals), true
	}
	return 0, nil, false
}

func identString(a, b ast.Node) (*ast.IdentifierNode, *ast.StringNode) {
	id, ok1 := a.(*ast.IdentifierNode)
	s, ok2 := b.(*ast.StringNode)
	if ok1 && ok2 {
		return id, s
	}
	return nil, nil
}

// intersect returns the sorted values in both sorted lists.
func intersect(a, b []string) []string {
	var out []string
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); ok {
			out = append(out, v)
		}
	}
	return out
}

// collectInputs lists the values an expression reads.
func collectInputs(root *ast.Node) ([]inputRef, []string) {
	consumed := map[ast.Node]bool{}
	ast.Walk(root, visitorFunc(func(n *ast.Node) {
		switch m := (*n).(type) {
		case *ast.MemberNode:
			if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == "metadata" {
				if _, ok := m.Property.(*ast.StringNode); ok {
					consumed[id] = true
				}
			}
		case *ast.CallNode:
			consumed[m.Callee] = true
		}
	}))
	var refs []inputRef
	var health []string
	seen := map[string]bool{}
	add := func(r inputRef) {
		if !seen[r.key] {
			seen[r.key] = true
			refs = append(refs, r)
		}
	}
	ast.Walk(root, visitorFunc(func(n *ast.Node) {
		switch m := (*n).(type) {
		case *ast.IdentifierNode:
			if envNames[m.Value] && !consumed[m] {
				add(inputRef{key: m.Value, kind: inputField, arg: m.Value})
			}
		case *ast.MemberNode:
			if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == "metadata" {
				if s, ok := m.Property.(*ast.StringNode); ok {
					add(inputRef{key: "metadata." + s.Value, kind: inputMetaKey, arg: s.Value})
				}
			}
		case *ast.CallNode:
			id, ok := m.Callee.(*ast.IdentifierNode)
			if !ok || len(m.Arguments) != 1 {
				return
			}
			s, ok := m.Arguments[0].(*ast.StringNode)
			if !ok {
				return
			}
			switch id.Value {
			case "healthy":
				add(inputRef{key: `healthy("` + s.Value + `")`, kind: inputHealthy, arg: s.Value})
				health = append(health, s.Value)
			case "health":
				add(inputRef{key: `health("` + s.Value + `")`, kind: inputHealth, arg: s.Value})
				health = append(health, s.Value)
			}
		}
	}))
	return refs, health
}

// inputValues renders what a condition read from env.
func (c *cond) inputValues(e *evalEnv) map[string]string {
	if len(c.inputs) == 0 {
		return nil
	}
	out := make(map[string]string, len(c.inputs))
	for _, r := range c.inputs {
		switch r.kind {
		case inputField:
			out[r.key] = envFieldString(e, r.arg)
		case inputMetaKey:
			out[r.key] = e.Metadata[r.arg]
		case inputHealthy:
			out[r.key] = strconv.FormatBool(isHealthy(e.health(r.arg)))
		case inputHealth:
			h := e.health(r.arg)
			out[r.key] = fmt.Sprintf("success_rate_ppm=%d circuit=%s samples=%d", h.SuccessRatePPM, h.Circuit, h.Samples)
		}
	}
	return out
}

func envFieldString(e *evalEnv, name string) string {
	switch name {
	case "amount":
		return strconv.FormatInt(e.Amount, 10)
	case "currency":
		return e.Currency
	case "method":
		return e.Method
	case "merchant_id":
		return e.MerchantID
	case "merchant_tags":
		return strings.Join(e.MerchantTags, ",")
	case "country":
		return e.Country
	case "terminal":
		return e.Terminal
	case "hour":
		return strconv.Itoa(e.Hour)
	case "weekday":
		return e.Weekday
	case "metadata":
		b, err := json.Marshal(e.Metadata)
		if err != nil {
			return ""
		}
		return string(b)
	}
	return ""
}

// eval runs the condition. The caller has already checked the index
// constraints, so an exact condition is true here.
func (c *cond) eval(e *evalEnv) (bool, error) {
	if c.prog == nil {
		return !c.never && c.meetsConstraints(e), nil
	}
	out, err := e.vm.Run(c.prog, e)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %T, want bool", out)
	}
	return b, nil
}

// meetsConstraints checks the indexed constraints directly.
func (c *cond) meetsConstraints(e *evalEnv) bool {
	for f := range numFields {
		if vals := c.eq[f]; vals != nil {
			if _, ok := slices.BinarySearch(vals, e.field(f)); !ok {
				return false
			}
		}
	}
	return true
}
