package rules

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"
)

// The spec types mirror the rule file one to one; koanf decodes into them
// and the schema walk below checks the YAML against them first, so that
// every problem carries a line and column.

type fileSpec struct {
	Version      int         `koanf:"version"`
	Description  string      `koanf:"description"`
	Timezone     string      `koanf:"timezone"`
	Routing      []routeSpec `koanf:"routing"`
	DefaultRoute *targetSpec `koanf:"default_route"`
	Split        []splitSpec `koanf:"split"`
	Fee          []feeSpec   `koanf:"fee"`
	Tests        []testSpec  `koanf:"tests"`
}

type targetSpec struct {
	Channel  string       `koanf:"channel"`
	Channels []string     `koanf:"channels"`
	Weighted []weightSpec `koanf:"weighted"`
	Fallback []string     `koanf:"fallback"`
}

type routeSpec struct {
	ID          string       `koanf:"id"`
	Description string       `koanf:"description"`
	When        string       `koanf:"when"`
	Channel     string       `koanf:"channel"`
	Channels    []string     `koanf:"channels"`
	Weighted    []weightSpec `koanf:"weighted"`
	Fallback    []string     `koanf:"fallback"`
}

func (r *routeSpec) target() targetSpec {
	return targetSpec{Channel: r.Channel, Channels: r.Channels, Weighted: r.Weighted, Fallback: r.Fallback}
}

type weightSpec struct {
	Channel string `koanf:"channel"`
	Weight  *int64 `koanf:"weight"`
}

type splitSpec struct {
	ID          string         `koanf:"id"`
	Description string         `koanf:"description"`
	When        string         `koanf:"when"`
	Mode        string         `koanf:"mode"`
	Residue     string         `koanf:"residue"`
	Receivers   []receiverSpec `koanf:"receivers"`
}

type receiverSpec struct {
	Name     string `koanf:"name"`
	Weight   *int64 `koanf:"weight"`
	Ratio    string `koanf:"ratio"`
	RatioPPM *int64 `koanf:"ratio_ppm"`
	Fixed    *int64 `koanf:"fixed"`
	Min      *int64 `koanf:"min"`
	Max      *int64 `koanf:"max"`
}

type feeSpec struct {
	ID          string     `koanf:"id"`
	Description string     `koanf:"description"`
	When        string     `koanf:"when"`
	Rate        string     `koanf:"rate"`
	RatePPM     *int64     `koanf:"rate_ppm"`
	Fixed       *int64     `koanf:"fixed"`
	Min         *int64     `koanf:"min"`
	Max         *int64     `koanf:"max"`
	Tiers       []tierSpec `koanf:"tiers"`
	Rounding    string     `koanf:"rounding"`
}

type tierSpec struct {
	UpTo    *int64 `koanf:"up_to"`
	Rate    string `koanf:"rate"`
	RatePPM *int64 `koanf:"rate_ppm"`
	Fixed   *int64 `koanf:"fixed"`
}

type testSpec struct {
	Name        string                `koanf:"name"`
	Description string                `koanf:"description"`
	Tx          txSpec                `koanf:"tx"`
	Health      map[string]healthSpec `koanf:"health"`
	Expect      expectSpec            `koanf:"expect"`
}

type txSpec struct {
	PaymentID    string            `koanf:"payment_id"`
	Amount       int64             `koanf:"amount"`
	Currency     string            `koanf:"currency"`
	Method       string            `koanf:"method"`
	MerchantID   string            `koanf:"merchant_id"`
	MerchantTags []string          `koanf:"merchant_tags"`
	Country      string            `koanf:"country"`
	TerminalID   string            `koanf:"terminal_id"`
	Time         string            `koanf:"time"`
	Metadata     map[string]string `koanf:"metadata"`
}

type healthSpec struct {
	SuccessRatePPM *int64 `koanf:"success_rate_ppm"`
	Circuit        string `koanf:"circuit"`
	Samples        int64  `koanf:"samples"`
}

type expectSpec struct {
	Channel   string           `koanf:"channel"`
	Channels  []string         `koanf:"channels"`
	Fee       *int64           `koanf:"fee"`
	Splits    map[string]int64 `koanf:"splits"`
	SplitMode string           `koanf:"split_mode"`
	Rules     []string         `koanf:"rules"`
	Error     string           `koanf:"error"`
}

// catalogueSpec is the catalogue file.
type catalogueSpec struct {
	Accounts []accountSpec `koanf:"accounts"`
}

type accountSpec struct {
	Plugin     string     `koanf:"plugin"`
	Account    string     `koanf:"account"`
	Methods    []string   `koanf:"methods"`
	Currencies []string   `koanf:"currencies"`
	Limits     limitsSpec `koanf:"limits"`
}

type limitsSpec struct {
	MaxSplitReceivers int   `koanf:"max_split_receivers"`
	MinAmount         int64 `koanf:"min_amount"`
	MaxAmount         int64 `koanf:"max_amount"`
}

// maxFileSize bounds rule and catalogue files.
const maxFileSize = 8 << 20

// positions maps a key path ("routing.3.when") to where its value starts.
type positions map[string]pos

// parseYAML checks data against the shape of out (a pointer to a spec
// struct) node by node, recording positions, then decodes it with koanf
// into out with strict decoding. Problems are added to is.
func parseYAML(data []byte, out any, is *issues) positions {
	ps := positions{}
	if len(data) > maxFileSize {
		is.add(pos{}, "", "", "", "file is larger than %d bytes", maxFileSize)
		return ps
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		is.add(yamlErrPos(err), "", "", "", "invalid YAML: %s", trimYAMLErr(err))
		return ps
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		is.add(pos{1, 1}, "", "", "", "file is empty")
		return ps
	}
	w := &schemaWalker{is: is, ps: ps}
	w.walk(reflect.TypeOf(out).Elem(), doc.Content[0], "", ruleCtx{}, 0)
	if len(is.list) > 0 {
		return ps
	}
	if err := decodeKoanf(data, out); err != nil {
		is.add(pos{}, "", "", "", "decode: %v", err)
	}
	return ps
}

// decodeKoanf loads data into a fresh koanf instance and decodes it into
// out, refusing unknown keys. The key delimiter is a control character so
// that keys holding dots or slashes (channels, metadata) stay whole.
func decodeKoanf(data []byte, out any) error {
	k := koanf.NewWithConf(koanf.Conf{Delim: "\x1f", StrictMerge: true})
	if err := k.Load(rawbytes.Provider(data), yaml.Parser()); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return k.UnmarshalWithConf("", out, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:  scalarToString,
			ErrorUnused: true,
			TagName:     "koanf",
		},
	})
}

// scalarToString lets a string field take any YAML scalar the schema walk
// accepted (rate: 0.0038, payment_id: 42, time: 2025-01-01T10:00:00Z) in its
// canonical text form, with no other weak conversion.
func scalarToString(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.String {
		return data, nil
	}
	switch v := data.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	}
	return data, nil
}

// ruleCtx names the rule a node belongs to, for issue messages.
type ruleCtx struct {
	kind, id string
}

type schemaWalker struct {
	is    *issues
	ps    positions
	nodes int // nodes visited, aliases expanded
}

const (
	maxYAMLDepth = 32
	// maxYAMLNodes bounds the work of one file, aliases expanded, so that
	// an alias bomb is refused instead of walked.
	maxYAMLNodes = 1_000_000
)

func nodePos(n *yamlv3.Node) pos { return pos{n.Line, n.Column} }

// ruleKinds maps a top-level list key to the kind named in issues.
var ruleKinds = map[string]string{"routing": "routing", "split": "split", "fee": "fee", "tests": "test", "accounts": "account"}

func (w *schemaWalker) walk(t reflect.Type, n *yamlv3.Node, path string, rc ruleCtx, depth int) {
	w.nodes++
	if w.nodes == maxYAMLNodes {
		w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "file too large: more than %d values (aliases expanded)", maxYAMLNodes)
	}
	if w.nodes >= maxYAMLNodes {
		return
	}
	if depth > maxYAMLDepth {
		w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "nested too deeply")
		return
	}
	for n.Kind == yamlv3.AliasNode {
		if n.Alias == nil || depth > maxYAMLDepth {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "bad alias")
			return
		}
		n = n.Alias
		depth++
	}
	if path != "" {
		if _, seen := w.ps[path]; !seen {
			w.ps[path] = nodePos(n)
		}
	}
	if n.Kind == yamlv3.ScalarNode && n.ShortTag() == "!!null" {
		return // absent
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(t.Elem(), n, path, rc, depth)
	case reflect.Struct:
		if n.Kind != yamlv3.MappingNode {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want a mapping, got %s", describe(n))
			return
		}
		if path == "default_route" {
			rc = ruleCtx{kind: "default_route"}
		} else if isListItem(path) {
			if kind, ok := ruleKinds[firstKey(path)]; ok {
				rc = ruleCtx{kind: kind, id: mappingID(n, kind)}
			}
		}
		w.walkMapping(t, n, path, rc, depth, map[string]bool{})
	case reflect.Slice:
		if n.Kind != yamlv3.SequenceNode {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			w.walk(t.Elem(), c, join(path, strconv.Itoa(i)), rc, depth+1)
		}
	case reflect.Map:
		if n.Kind != yamlv3.MappingNode {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want a mapping, got %s", describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yamlv3.ScalarNode || k.ShortTag() == "!!null" || k.ShortTag() == "!!merge" {
				w.is.add(nodePos(k), rc.kind, rc.id, fieldOf(path), "want a plain key, got %s", describe(k))
				continue
			}
			if seen[k.Value] {
				w.is.add(nodePos(k), rc.kind, rc.id, fieldOf(path), "duplicate key %q", k.Value)
				continue
			}
			seen[k.Value] = true
			w.walk(t.Elem(), v, join(path, k.Value), rc, depth+1)
		}
	case reflect.String:
		if n.Kind != yamlv3.ScalarNode {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want a single value, got %s", describe(n))
			return
		}
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		default:
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want text, got %s", describe(n))
		}
	case reflect.Int, reflect.Int64:
		if n.Kind != yamlv3.ScalarNode || n.ShortTag() != "!!int" {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want an integer, got %s", describe(n))
			return
		}
		var v int64
		if err := n.Decode(&v); err != nil {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "integer %s out of range", n.Value)
			return
		}
		if t.Kind() == reflect.Int && int64(int(v)) != v {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "integer %s out of range", n.Value)
		}
	case reflect.Bool:
		if n.Kind != yamlv3.ScalarNode || n.ShortTag() != "!!bool" {
			w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "want true or false, got %s", describe(n))
		}
	default:
		w.is.add(nodePos(n), rc.kind, rc.id, fieldOf(path), "unsupported value")
	}
}

// walkMapping checks a mapping against struct t, following merge keys.
func (w *schemaWalker) walkMapping(t reflect.Type, n *yamlv3.Node, path string, rc ruleCtx, depth int, seen map[string]bool) {
	fields := structFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yamlv3.ScalarNode && k.ShortTag() == "!!merge" {
			w.walkMerge(t, v, path, rc, depth+1, seen)
			continue
		}
		if k.Kind != yamlv3.ScalarNode || k.ShortTag() != "!!str" {
			w.is.add(nodePos(k), rc.kind, rc.id, fieldOf(path), "want a key name, got %s", describe(k))
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			w.is.add(nodePos(k), rc.kind, rc.id, fieldOf(path), "unknown key %q (known: %s)", k.Value, knownKeys(fields))
			continue
		}
		if seen[k.Value] {
			w.is.add(nodePos(k), rc.kind, rc.id, fieldOf(path), "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		w.walk(ft, v, join(path, k.Value), rc, depth+1)
	}
}

func (w *schemaWalker) walkMerge(t reflect.Type, v *yamlv3.Node, path string, rc ruleCtx, depth int, seen map[string]bool) {
	w.nodes++
	if w.nodes >= maxYAMLNodes {
		return
	}
	if depth > maxYAMLDepth {
		w.is.add(nodePos(v), rc.kind, rc.id, fieldOf(path), "nested too deeply")
		return
	}
	for v.Kind == yamlv3.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yamlv3.MappingNode:
		// Keys of a merged mapping may be overridden by the outer mapping:
		// check them with their own duplicate set.
		w.walkMapping(t, v, path, rc, depth, map[string]bool{})
	case yamlv3.SequenceNode:
		for _, c := range v.Content {
			w.walkMerge(t, c, path, rc, depth+1, seen)
		}
	default:
		w.is.add(nodePos(v), rc.kind, rc.id, fieldOf(path), "merge key needs a mapping, got %s", describe(v))
	}
}

// structFields returns the koanf keys of t.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		out[tag] = f.Type
	}
	return out
}

func knownKeys(fields map[string]reflect.Type) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// mappingID finds the id (or test name) in a rule mapping for messages.
func mappingID(n *yamlv3.Node, kind string) string {
	key := "id"
	switch kind {
	case "test":
		key = "name"
	case "account":
		key = "plugin"
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yamlv3.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func describe(n *yamlv3.Node) string {
	switch n.Kind {
	case yamlv3.MappingNode:
		return "a mapping"
	case yamlv3.SequenceNode:
		return "a list"
	case yamlv3.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.ShortTag(), "!!"), v)
	}
	return "an unexpected node"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "\x1f" + key
}

func firstKey(path string) string {
	k, _, _ := strings.Cut(path, "\x1f")
	return k
}

// fieldOf names a path inside its rule for messages: "routing.3.weighted.0.weight"
// becomes "weighted[0].weight"; a top-level key stays as it is.
func fieldOf(path string) string {
	parts := strings.Split(path, "\x1f")
	if parts[0] == "default_route" {
		parts = parts[1:]
	} else if len(parts) >= 2 {
		if _, err := strconv.Atoi(parts[1]); err == nil {
			parts = parts[2:]
		}
	}
	var b strings.Builder
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// isListItem reports whether path is "list.N" at the top level.
func isListItem(path string) bool {
	parts := strings.Split(path, "\x1f")
	if len(parts) != 2 {
		return false
	}
	_, err := strconv.Atoi(parts[1])
	return err == nil
}

// yamlErrPos extracts "line N" from a yaml.v3 error message.
func yamlErrPos(err error) pos {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return pos{}
	}
	j := i + len("line ")
	k := j
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	line, convErr := strconv.Atoi(msg[j:k])
	if convErr != nil {
		return pos{}
	}
	return pos{Line: line, Column: 1}
}

func trimYAMLErr(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// at returns the position of the value at the path made of keys (strings
// and list indexes), or of its nearest recorded parent, or the file start.
func (ps positions) at(keys ...any) pos {
	path := ""
	best := pos{1, 1}
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			path = join(path, k)
		case int:
			path = join(path, strconv.Itoa(k))
		}
		if p, ok := ps[path]; ok {
			best = p
		}
	}
	return best
}
