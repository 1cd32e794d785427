// Package netpolicy decides which IP addresses the host may connect to on
// behalf of someone else: a plugin's HTTP request (host/caps) and a
// tenant's webhook delivery (host). Both use Check, at dial time through
// Control (after DNS resolution, so a name that resolves or rebinds to an
// internal address is refused all the same) and on literal addresses in
// URLs at configuration time through CheckHost. An operator opts out per
// endpoint (allow_private) or for webhooks (webhooks.allow_private); the
// policy itself has no switches.
//
// # What is refused
//
// The policy refuses every entry of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries, including the few the registries mark "Globally
// Reachable" (anycast service addresses, AS112 DNS sinks, AMT relays,
// ORCHIDv2 identifiers): no payment provider or webhook receiver lives
// there, and an egress filter errs on the side of refusing. The only
// exceptions are the forms that carry an IPv4 destination (IPv4-mapped,
// NAT64 well-known, 6to4, Teredo): the embedded address is decoded and
// decides.
//
// IPv4 (refused):
//
//	0.0.0.0/8          "this network" (0.0.0.0/32 "this host" included)
//	10.0.0.0/8         private-use
//	100.64.0.0/10      shared address space (carrier-grade NAT)
//	127.0.0.0/8        loopback
//	169.254.0.0/16     link-local (cloud metadata services live here)
//	172.16.0.0/12      private-use
//	192.0.0.0/24       IETF protocol assignments (service continuity,
//	                   dummy, PCP and TURN anycast, NAT64/DNS64 discovery)
//	192.0.2.0/24       documentation (TEST-NET-1)
//	192.31.196.0/24    AS112-v4 (DNS sink)
//	192.52.193.0/24    automatic multicast tunneling
//	192.175.48.0/24    AS112 direct delegation (DNS sink)
//	192.88.99.0/24     deprecated 6to4 relay anycast (RFC 7526): reaching it
//	                   means reaching whichever relay is nearest
//	192.168.0.0/16     private-use
//	198.18.0.0/15      benchmarking
//	198.51.100.0/24    documentation (TEST-NET-2)
//	203.0.113.0/24     documentation (TEST-NET-3)
//	224.0.0.0/4        multicast (the multicast registry, not a unicast host)
//	240.0.0.0/4        reserved
//	255.255.255.255/32 limited broadcast
//
// IPv6: only the global unicast space 2000::/3 is allowed, with the
// exceptions below; everything outside it is reserved by the IETF or
// special (::/128 unspecified, ::1/128 loopback, 100::/64 discard-only,
// 100:0:0:1::/64 dummy prefix, 5f00::/16 SRv6 SIDs, fc00::/7 unique-local,
// fec0::/10 deprecated site-local, fe80::/10 link-local, ff00::/8
// multicast, and the rest of the reserved blocks) — except the two forms
// that carry an IPv4 destination, which are decoded and re-checked:
//
//	::ffff:0:0/96      IPv4-mapped: the address is the IPv4 one (the
//	                   dialler connects to it over IPv4); allowed when the
//	                   embedded address is
//	64:ff9b::/96       NAT64 well-known prefix (globally reachable): a NAT64
//	                   gateway forwards to the embedded IPv4 address, so it
//	                   is allowed when that address is
//
// and these, refused whatever they embed:
//
//	::/96              IPv4-compatible (deprecated by RFC 4291; some stacks
//	                   tunnel it to the embedded address)
//	64:ff9b:1::/48     local-use IPv4/IPv6 translation (not globally
//	                   reachable: the site's own NAT64, whose prefix length
//	                   and reach only the site knows)
//
// Inside 2000::/3 (refused unless noted):
//
//	2001::/23          IETF protocol assignments (PCP, TURN and DNS-SD
//	                   anycast, benchmarking, AMT, AS112-v6, ORCHID and
//	                   ORCHIDv2, drone remote ID), except Teredo:
//	2001::/32          Teredo ("N/A"): decoded, allowed only when both the
//	                   Teredo server (bits 32-63) and the client's mapped
//	                   address (bits 96-127, inverted) are allowed
//	2001:db8::/32      documentation
//	2002::/16          6to4 ("N/A"): decoded, allowed only when the embedded
//	                   IPv4 address (bits 16-47) is allowed
//	2620:4f:8000::/48  AS112 direct delegation (DNS sink)
//	3fff::/20          documentation
//
// A zone (fe80::1%eth0) is ignored: every address that may carry one is
// refused anyway.
package netpolicy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// rule is what an entry of the registries means for an address inside it.
type rule int

const (
	refuse    rule = iota // special purpose
	allow                 // global unicast
	mapped                // IPv4-mapped: the embedded address decides
	nat64                 // NAT64 well-known prefix: the embedded address decides
	sixToFour             // 6to4: the embedded address decides
	teredo                // Teredo: the server and client addresses decide
	embedsV4              // refused, and the IPv4 address in the last 32 bits is named
)

type entry struct {
	prefix netip.Prefix
	name   string
	rule   rule
}

func e(prefix, name string, r rule) entry {
	return entry{prefix: netip.MustParsePrefix(prefix), name: name, rule: r}
}

// entries are the registries' entries that matter (see the package doc);
// the most specific one containing an address decides.
var entries = []entry{
	// IPv4 Special-Purpose Address Registry, and multicast
	e("0.0.0.0/8", `"this network"`, refuse),
	e("0.0.0.0/32", `"this host on this network"`, refuse),
	e("10.0.0.0/8", "private-use", refuse),
	e("100.64.0.0/10", "shared address space (carrier-grade NAT)", refuse),
	e("127.0.0.0/8", "loopback", refuse),
	e("169.254.0.0/16", "link-local", refuse),
	e("172.16.0.0/12", "private-use", refuse),
	e("192.0.0.0/24", "IETF protocol assignments", refuse),
	e("192.0.0.0/29", "IPv4 service continuity prefix", refuse),
	e("192.0.0.8/32", "IPv4 dummy address", refuse),
	e("192.0.0.170/32", "NAT64/DNS64 discovery", refuse),
	e("192.0.0.171/32", "NAT64/DNS64 discovery", refuse),
	e("192.0.2.0/24", "documentation (TEST-NET-1)", refuse),
	e("192.31.196.0/24", "AS112-v4 (DNS sink)", refuse),
	e("192.52.193.0/24", "automatic multicast tunneling", refuse),
	e("192.175.48.0/24", "AS112 direct delegation (DNS sink)", refuse),
	e("192.88.99.0/24", "deprecated 6to4 relay anycast", refuse),
	e("192.168.0.0/16", "private-use", refuse),
	e("198.18.0.0/15", "benchmarking", refuse),
	e("198.51.100.0/24", "documentation (TEST-NET-2)", refuse),
	e("203.0.113.0/24", "documentation (TEST-NET-3)", refuse),
	e("224.0.0.0/4", "multicast", refuse),
	e("240.0.0.0/4", "reserved", refuse),
	e("255.255.255.255/32", "limited broadcast", refuse),

	// IPv6: everything outside 2000::/3, then the registry
	e("::/0", "reserved by the IETF (outside global unicast 2000::/3)", refuse),
	e("2000::/3", "global unicast", allow),
	e("::/128", "unspecified", refuse),
	e("::1/128", "loopback", refuse),
	e("::/96", "IPv4-compatible (deprecated)", embedsV4),
	e("::ffff:0:0/96", "IPv4-mapped", mapped),
	e("64:ff9b::/96", "NAT64 well-known prefix", nat64),
	e("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", embedsV4),
	e("100::/64", "discard-only", refuse),
	e("100:0:0:1::/64", "dummy prefix", refuse),
	e("2001::/23", "IETF protocol assignments", refuse),
	e("2001::/32", "Teredo", teredo),
	e("2001:2::/48", "benchmarking", refuse),
	e("2001:10::/28", "deprecated ORCHID", refuse),
	e("2001:20::/28", "ORCHIDv2", refuse),
	e("2001:db8::/32", "documentation", refuse),
	e("2002::/16", "6to4", sixToFour),
	e("3fff::/20", "documentation", refuse),
	e("2620:4f:8000::/48", "AS112 direct delegation (DNS sink)", refuse),
	e("5f00::/16", "segment routing (SRv6) SIDs", refuse),
	e("fc00::/7", "unique-local", refuse),
	e("fe80::/10", "link-local", refuse),
	e("fec0::/10", "site-local (deprecated)", refuse),
	e("ff00::/8", "multicast", refuse),
}

// RefusedError says why an address is refused.
type RefusedError struct {
	Addr  netip.Addr   // the address checked
	Range netip.Prefix // the registry entry that refused it, or that embeds Embedded
	Name  string       // the entry's name, e.g. "link-local"
	// Embedded is the IPv4 address Addr carries (valid for the embedding
	// forms); Inner says why Embedded itself is refused (nil when Addr is
	// refused whatever it embeds).
	Embedded netip.Addr
	Inner    *RefusedError
}

// Error implements error.
func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "address %s is not allowed: %s (%s)", e.Addr, e.Name, e.Range)
	if e.Embedded.IsValid() {
		fmt.Fprintf(&b, ", embedding %s", e.Embedded)
		if e.Inner != nil {
			fmt.Fprintf(&b, ", which is %s (%s)", e.Inner.Name, e.Inner.Range)
		}
	}
	return b.String()
}

// lookup returns the most specific entry containing a.
func lookup(a netip.Addr) (entry, bool) {
	var best entry
	found := false
	for _, en := range entries {
		if en.prefix.Addr().Is4() != a.Is4() || !en.prefix.Contains(a) {
			continue
		}
		if !found || en.prefix.Bits() > best.prefix.Bits() {
			best, found = en, true
		}
	}
	return best, found
}

// Check returns nil when a may be connected to without an operator's
// opt-in, or a *RefusedError saying which registry entry refuses it.
func Check(a netip.Addr) error {
	if err := check(a); err != nil {
		return err
	}
	return nil
}

// Allowed reports whether Check accepts a.
func Allowed(a netip.Addr) bool { return check(a) == nil }

func check(a netip.Addr) *RefusedError {
	if !a.IsValid() {
		return &RefusedError{Addr: a, Name: "not an IP address"}
	}
	a = a.WithZone("")
	en, ok := lookup(a)
	if !ok { // IPv4 outside every special-purpose entry
		return nil
	}
	refused := func(embedded netip.Addr, inner *RefusedError) *RefusedError {
		return &RefusedError{Addr: a, Range: en.prefix, Name: en.name, Embedded: embedded, Inner: inner}
	}
	b := a.As16()
	switch en.rule {
	case allow:
		return nil
	case mapped, nat64, embedsV4:
		v4 := netip.AddrFrom4([4]byte(b[12:16]))
		if en.rule == embedsV4 {
			return refused(v4, nil)
		}
		if inner := check(v4); inner != nil {
			return refused(v4, inner)
		}
		return nil
	case sixToFour:
		v4 := netip.AddrFrom4([4]byte(b[2:6]))
		if inner := check(v4); inner != nil {
			return refused(v4, inner)
		}
		return nil
	case teredo:
		server := netip.AddrFrom4([4]byte(b[4:8]))
		if inner := check(server); inner != nil {
			return refused(server, inner)
		}
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		if inner := check(client); inner != nil {
			return refused(client, inner)
		}
		return nil
	}
	return refused(netip.Addr{}, nil)
}

// Control is a net.Dialer Control function that refuses to connect to an
// address Check refuses. It runs after name resolution, for every address
// tried, so DNS cannot steer a connection around the policy.
func Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Name: fmt.Sprintf("unparsable %s address %q", network, address)}
	}
	if err := check(ap.Addr()); err != nil {
		return err
	}
	return nil
}

// ErrLocalName is CheckHost's answer for localhost and its subdomains.
var ErrLocalName = errors.New("localhost names the local machine")

// CheckHost checks the host part of a URL at configuration time: a
// literal address must pass Check, "localhost" and names under
// ".localhost" are refused, and so are the legacy numeric forms that some
// resolvers read as IPv4 addresses (2130706433, 0x7f.1, 0177.0.0.1, 127.1);
// write an address in dotted-decimal form. Other names pass here: what
// they resolve to is checked when connecting.
func CheckHost(host string) error {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return fmt.Errorf("host %s: %w", host, ErrLocalName)
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return Check(a)
	}
	if legacyNumeric(h) {
		return fmt.Errorf("host %s looks like a numeric IPv4 address in a legacy form: write it in dotted-decimal form", host)
	}
	return nil
}

// legacyNumeric reports whether h is one to four dot-separated numbers
// (decimal, octal with a leading 0, or hexadecimal with 0x), the forms
// inet_aton accepts: a name made of them is never a real host name (no
// top-level domain is numeric).
func legacyNumeric(h string) bool {
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		digits := p
		hex := false
		if rest, ok := strings.CutPrefix(p, "0x"); ok {
			digits, hex = rest, true
		}
		if digits == "" && !hex {
			return false
		}
		for _, c := range digits {
			if !(c >= '0' && c <= '9' || hex && (c >= 'a' && c <= 'f')) {
				return false
			}
		}
	}
	return true
}
