package core

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Manifest is what a plugin declares about itself. `payhost plugin inspect`
// prints it; the host checks it at load and uses it to route calls.
type Manifest struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	ABIVersion  int             `json:"abi_version"`
	Description string          `json:"description,omitempty"`
	Operations  []Op            `json:"operations"`
	Methods     []Method        `json:"methods,omitempty"`
	Currencies  []Currency      `json:"currencies,omitempty"`
	Endpoints   []EndpointSpec  `json:"endpoints,omitempty"`
	Keys        []KeySpec       `json:"keys,omitempty"`
	Config      []ConfigSpec    `json:"config,omitempty"`
	Extensions  []ExtensionSpec `json:"extensions,omitempty"`
	Limits      Limits          `json:"limits"`
}

// EndpointSpec is a named base URL the plugin may call through the HTTP
// capability. URLs holds the provider's published base URL per environment
// (e.g. "production", "test"); the operator chooses or overrides one per
// account, and only that one is reachable.
type EndpointSpec struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	URLs        map[string]string `json:"urls,omitempty"`
}

// KeyKind says what material a key reference holds.
type KeyKind string

// Key kinds.
const (
	KeySecret  KeyKind = "secret"  // shared secret (MD5, HMAC)
	KeyPrivate KeyKind = "private" // our RSA private key
	KeyPublic  KeyKind = "public"  // the provider's RSA public key
)

// KeySpec is a key reference a plugin needs, e.g. "app_secret".
type KeySpec struct {
	Name        string    `json:"name"`
	Kind        KeyKind   `json:"kind"`
	Algorithms  []SignAlg `json:"algorithms"`
	Description string    `json:"description,omitempty"`
	Optional    bool      `json:"optional,omitempty"`
}

// ConfigSpec is a non-secret configuration value of an account, e.g. "mch_no".
type ConfigSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Default     string `json:"default,omitempty"`
}

// ExtensionSpec is a provider-only call offered through OpExtension.
type ExtensionSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Mutating    bool   `json:"mutating,omitempty"`
}

// Limits are channel limits the rules engine and the host enforce.
type Limits struct {
	MaxSplitReceivers int   `json:"max_split_receivers,omitempty"` // e.g. 7 for hfpay
	MinAmount         int64 `json:"min_amount,omitempty"`          // minor units
	MaxAmount         int64 `json:"max_amount,omitempty"`          // minor units, 0 = none
}

var (
	pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	refName    = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
)

// Supports reports whether the manifest lists op.
func (m *Manifest) Supports(op Op) bool {
	for _, o := range m.Operations {
		if o == op {
			return true
		}
	}
	return false
}

// SupportsMethod reports whether the manifest lists method.
func (m *Manifest) SupportsMethod(method Method) bool {
	for _, x := range m.Methods {
		if x == method {
			return true
		}
	}
	return false
}

// Endpoint returns the endpoint spec called name.
func (m *Manifest) Endpoint(name string) (EndpointSpec, bool) {
	for _, e := range m.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return EndpointSpec{}, false
}

// Key returns the key spec called name.
func (m *Manifest) Key(name string) (KeySpec, bool) {
	for _, k := range m.Keys {
		if k.Name == name {
			return k, true
		}
	}
	return KeySpec{}, false
}

// Validate checks the manifest: names, ABI version, known operations,
// methods and currencies, unique endpoint/key/config names, absolute
// http(s) endpoint URLs.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidRequest, Message: "manifest: " + fmt.Sprintf(format, args...)}
	}
	if !pluginName.MatchString(m.Name) {
		return bad("name %q must match %s", m.Name, pluginName)
	}
	if m.Version == "" {
		return bad("version is empty")
	}
	if m.ABIVersion != ABIVersion {
		return bad("abi_version %d, this host speaks %d", m.ABIVersion, ABIVersion)
	}
	if len(m.Operations) == 0 {
		return bad("no operations")
	}
	seen := map[string]bool{}
	for _, op := range m.Operations {
		if !op.Valid() {
			return bad("unknown operation %q", op)
		}
		if seen["op:"+string(op)] {
			return bad("operation %q listed twice", op)
		}
		seen["op:"+string(op)] = true
	}
	for _, me := range m.Methods {
		if !me.Valid() {
			return bad("unknown method %q", me)
		}
	}
	for _, c := range m.Currencies {
		if !c.Valid() {
			return bad("unknown currency %q", c)
		}
	}
	for _, e := range m.Endpoints {
		if !refName.MatchString(e.Name) || seen["ep:"+e.Name] {
			return bad("endpoint name %q is invalid or repeated", e.Name)
		}
		seen["ep:"+e.Name] = true
		for env, raw := range e.URLs {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return bad("endpoint %s url for %s is not an absolute http(s) URL: %q", e.Name, env, raw)
			}
		}
	}
	for _, k := range m.Keys {
		if !refName.MatchString(k.Name) || seen["key:"+k.Name] {
			return bad("key name %q is invalid or repeated", k.Name)
		}
		seen["key:"+k.Name] = true
		switch k.Kind {
		case KeySecret, KeyPrivate, KeyPublic:
		default:
			return bad("key %s has unknown kind %q", k.Name, k.Kind)
		}
		for _, a := range k.Algorithms {
			if !a.Valid() {
				return bad("key %s lists unknown algorithm %q", k.Name, a)
			}
		}
	}
	for _, c := range m.Config {
		if !refName.MatchString(c.Name) || seen["cfg:"+c.Name] {
			return bad("config name %q is invalid or repeated", c.Name)
		}
		seen["cfg:"+c.Name] = true
	}
	for _, x := range m.Extensions {
		if !refName.MatchString(x.Name) || seen["ext:"+x.Name] {
			return bad("extension name %q is invalid or repeated", x.Name)
		}
		if !strings.HasPrefix(x.Name, m.Name+".") {
			return bad("extension name %q must start with %q", x.Name, m.Name+".")
		}
		seen["ext:"+x.Name] = true
	}
	if len(m.Extensions) > 0 && !m.Supports(OpExtension) {
		return bad("extensions listed but operation %q is not", OpExtension)
	}
	if m.Limits.MinAmount < 0 || m.Limits.MaxAmount < 0 || m.Limits.MaxSplitReceivers < 0 {
		return bad("negative limits")
	}
	return nil
}

// SortOperations orders the operation list as OpInfo does, for stable output.
func (m *Manifest) SortOperations() {
	pos := map[Op]int{}
	for i, o := range opTable {
		pos[o.Op] = i
	}
	sort.SliceStable(m.Operations, func(i, j int) bool { return pos[m.Operations[i]] < pos[m.Operations[j]] })
}
