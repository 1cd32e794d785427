package netpolicy

import (
	"errors"
	"net/netip"
	"testing"
)

// TestCheck: every entry of the package doc, with the addresses just
// inside and just outside it, and each form that embeds an IPv4 address.
// Pure: nothing is dialled.
func TestCheck(t *testing.T) {
	tests := []struct {
		addr  string
		allow bool
		name  string // the refusing entry's name (or the embedded one's, when Inner)
	}{
		// IPv4
		{"0.0.0.0", false, `"this host on this network"`},
		{"0.255.255.255", false, `"this network"`},
		{"1.0.0.0", true, ""},
		{"9.255.255.255", true, ""},
		{"10.0.0.0", false, "private-use"},
		{"10.255.255.255", false, "private-use"},
		{"11.0.0.0", true, ""},
		{"100.63.255.255", true, ""},
		{"100.64.0.0", false, "shared address space (carrier-grade NAT)"},
		{"100.127.255.255", false, "shared address space (carrier-grade NAT)"},
		{"100.128.0.0", true, ""},
		{"126.255.255.255", true, ""},
		{"127.0.0.1", false, "loopback"},
		{"127.255.255.255", false, "loopback"},
		{"128.0.0.0", true, ""},
		{"169.253.255.255", true, ""},
		{"169.254.0.0", false, "link-local"},
		{"169.254.169.254", false, "link-local"},
		{"169.255.0.0", true, ""},
		{"172.15.255.255", true, ""},
		{"172.16.0.0", false, "private-use"},
		{"172.31.255.255", false, "private-use"},
		{"172.32.0.0", true, ""},
		{"191.255.255.255", true, ""},
		{"192.0.0.0", false, "IPv4 service continuity prefix"},
		{"192.0.0.7", false, "IPv4 service continuity prefix"},
		{"192.0.0.8", false, "IPv4 dummy address"},
		{"192.0.0.9", false, "IETF protocol assignments"},
		{"192.0.0.10", false, "IETF protocol assignments"},
		{"192.0.0.11", false, "IETF protocol assignments"},
		{"192.0.0.170", false, "NAT64/DNS64 discovery"},
		{"192.0.0.171", false, "NAT64/DNS64 discovery"},
		{"192.0.0.255", false, "IETF protocol assignments"},
		{"192.0.1.0", true, ""},
		{"192.0.2.0", false, "documentation (TEST-NET-1)"},
		{"192.0.2.255", false, "documentation (TEST-NET-1)"},
		{"192.0.3.0", true, ""},
		{"192.31.196.1", false, "AS112-v4 (DNS sink)"},
		{"192.31.195.255", true, ""},
		{"192.31.197.0", true, ""},
		{"192.52.193.1", false, "automatic multicast tunneling"},
		{"192.175.48.1", false, "AS112 direct delegation (DNS sink)"},
		{"192.175.49.0", true, ""},
		{"192.88.98.255", true, ""}, // just below the 6to4 relay block
		{"192.88.99.0", false, "deprecated 6to4 relay anycast"},
		{"192.88.99.255", false, "deprecated 6to4 relay anycast"},
		{"192.88.100.0", true, ""},
		{"192.167.255.255", true, ""},
		{"192.168.0.0", false, "private-use"},
		{"192.168.255.255", false, "private-use"},
		{"192.169.0.0", true, ""},
		{"198.17.255.255", true, ""},
		{"198.18.0.0", false, "benchmarking"},
		{"198.19.255.255", false, "benchmarking"},
		{"198.20.0.0", true, ""},
		{"198.51.99.255", true, ""},
		{"198.51.100.0", false, "documentation (TEST-NET-2)"},
		{"198.51.100.255", false, "documentation (TEST-NET-2)"},
		{"198.51.101.0", true, ""},
		{"203.0.112.255", true, ""},
		{"203.0.113.0", false, "documentation (TEST-NET-3)"},
		{"203.0.113.255", false, "documentation (TEST-NET-3)"},
		{"203.0.114.0", true, ""},
		{"223.255.255.255", true, ""},
		{"224.0.0.0", false, "multicast"},
		{"239.255.255.255", false, "multicast"},
		{"240.0.0.0", false, "reserved"},
		{"255.255.255.254", false, "reserved"},
		{"255.255.255.255", false, "limited broadcast"},
		{"8.8.8.8", true, ""},

		// IPv6 outside 2000::/3
		{"::", false, "unspecified"},
		{"::1", false, "loopback"},
		{"::2", false, "IPv4-compatible (deprecated)"},
		{"::8.8.8.8", false, "IPv4-compatible (deprecated)"},
		{"::127.0.0.1", false, "IPv4-compatible (deprecated)"},
		{"::1:0:0:0", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"::fffe:ffff:ffff", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"::1:0:0", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"64:ff9b:0:0:0:1::", false, "reserved by the IETF (outside global unicast 2000::/3)"}, // just past the /96
		{"64:ff9b:1::", false, "local-use IPv4/IPv6 translation"},
		{"64:ff9b:1::808:808", false, "local-use IPv4/IPv6 translation"},
		{"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", false, "local-use IPv4/IPv6 translation"},
		{"64:ff9b:2::", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"100::", false, "discard-only"},
		{"100::ffff:ffff:ffff:ffff", false, "discard-only"},
		{"100:0:0:1::", false, "dummy prefix"},
		{"100:0:0:2::", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"4000::", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"5f00::1", false, "segment routing (SRv6) SIDs"},
		{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"fc00::", false, "unique-local"},
		{"fd12:3456::1", false, "unique-local"},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "unique-local"},
		{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "reserved by the IETF (outside global unicast 2000::/3)"},
		{"fe80::", false, "link-local"},
		{"fe80::1%eth0", false, "link-local"},
		{"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "link-local"},
		{"fec0::", false, "site-local (deprecated)"},
		{"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "site-local (deprecated)"},
		{"ff00::", false, "multicast"},
		{"ff02::1", false, "multicast"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, "multicast"},

		// IPv6 inside 2000::/3
		{"2000::", true, ""},
		{"2606:4700::1111", true, ""},
		{"2001:4860:4860::8888", true, ""},
		{"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, ""},
		{"3fff::", false, "documentation"},
		{"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", false, "documentation"},
		{"3fff:1000::", true, ""},
		{"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, ""},
		{"2001:1::", false, "IETF protocol assignments"},
		{"2001:1::1", false, "IETF protocol assignments"},
		{"2001:1::2", false, "IETF protocol assignments"},
		{"2001:1::3", false, "IETF protocol assignments"},
		{"2001:1::4", false, "IETF protocol assignments"},
		{"2001:2::", false, "benchmarking"},
		{"2001:2:0:ffff:ffff:ffff:ffff:ffff", false, "benchmarking"},
		{"2001:2:1::", false, "IETF protocol assignments"},
		{"2001:3::", false, "IETF protocol assignments"},
		{"2001:3:ffff:ffff:ffff:ffff:ffff:ffff", false, "IETF protocol assignments"},
		{"2001:4:112::", false, "IETF protocol assignments"},
		{"2001:4:113::", false, "IETF protocol assignments"},
		{"2001:10::", false, "deprecated ORCHID"},
		{"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", false, "deprecated ORCHID"},
		{"2001:20::", false, "ORCHIDv2"},
		{"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", false, "ORCHIDv2"},
		{"2001:30::", false, "IETF protocol assignments"},
		{"2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", false, "IETF protocol assignments"},
		{"2001:40::", false, "IETF protocol assignments"},
		{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", false, "IETF protocol assignments"},
		{"2001:200::", true, ""}, // just past 2001::/23
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true, ""},
		{"2001:db8::", false, "documentation"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false, "documentation"},
		{"2001:db9::", true, ""},
		{"2620:4f:8000::1", false, "AS112 direct delegation (DNS sink)"},
		{"2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", true, ""},
		{"2620:4f:8001::", true, ""},

		// forms that embed an IPv4 address
		{"::ffff:8.8.8.8", true, ""},
		{"::ffff:127.0.0.1", false, "loopback"},
		{"::ffff:169.254.169.254", false, "link-local"},
		{"::ffff:10.0.0.1", false, "private-use"},
		{"::ffff:0.0.0.0", false, `"this host on this network"`},
		{"64:ff9b::8.8.8.8", true, ""},
		{"64:ff9b::a9fe:a9fe", false, "link-local"},
		{"64:ff9b::127.0.0.1", false, "loopback"},
		{"64:ff9b::192.168.0.1", false, "private-use"},
		{"64:ff9b::100.64.0.1", false, "shared address space (carrier-grade NAT)"},
		{"64:ff9b::255.255.255.255", false, "limited broadcast"},
		{"2002:808:808::1", true, ""},
		{"2002:a9fe:a9fe::1", false, "link-local"},
		{"2002:7f00:1::1", false, "loopback"},
		{"2002:c0a8:101::", false, "private-use"},
		{"2002:e000::1", false, "multicast"},
		// Teredo: server 65.54.227.120, client 8.8.8.8 (inverted: f7f7:f7f7)
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", true, ""},
		// client 127.0.0.1 (inverted 80ff:fffe)
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false, "loopback"},
		// client 10.0.0.1 (inverted f5ff:fffe)
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", false, "private-use"},
		// server 169.254.169.254, client 8.8.8.8
		{"2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", false, "link-local"},
		// server 8.8.8.8, client 192.168.1.1 (inverted 3f57:fefe)
		{"2001:0:808:808::3f57:fefe", false, "private-use"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			err := Check(a)
			if got := err == nil; got != tt.allow {
				t.Fatalf("Check(%s) = %v, want allowed=%v", tt.addr, err, tt.allow)
			}
			if Allowed(a) != tt.allow {
				t.Fatalf("Allowed(%s) disagrees with Check", tt.addr)
			}
			if tt.allow {
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Check(%s) = %T, want *RefusedError", tt.addr, err)
			}
			name := re.Name
			if re.Inner != nil {
				name = re.Inner.Name
			}
			if name != tt.name {
				t.Errorf("Check(%s) refused as %q, want %q (%v)", tt.addr, name, tt.name, err)
			}
		})
	}
}

// TestRefusedErrorText: the reason names the entry and, for an embedding
// form, the embedded address and why it is refused.
func TestRefusedErrorText(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"10.1.2.3", "address 10.1.2.3 is not allowed: private-use (10.0.0.0/8)"},
		{"64:ff9b::a9fe:a9fe", "address 64:ff9b::a9fe:a9fe is not allowed: NAT64 well-known prefix (64:ff9b::/96), embedding 169.254.169.254, which is link-local (169.254.0.0/16)"},
		{"64:ff9b:1::808:808", "address 64:ff9b:1::808:808 is not allowed: local-use IPv4/IPv6 translation (64:ff9b:1::/48), embedding 8.8.8.8"},
		{"::ffff:127.0.0.1", "address ::ffff:127.0.0.1 is not allowed: IPv4-mapped (::ffff:0.0.0.0/96), embedding 127.0.0.1, which is loopback (127.0.0.0/8)"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := Check(netip.MustParseAddr(tt.addr)).Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if Check(netip.Addr{}) == nil {
		t.Error("the zero Addr is allowed")
	}
}

// TestControl: the dial hook parses what the dialler hands it and refuses
// what Check refuses. Nothing is dialled.
func TestControl(t *testing.T) {
	tests := []struct {
		network, address string
		allow            bool
	}{
		{"tcp4", "8.8.8.8:443", true},
		{"tcp6", "[2606:4700::1111]:443", true},
		{"tcp4", "127.0.0.1:80", false},
		{"tcp6", "[::1]:80", false},
		{"tcp6", "[64:ff9b::a9fe:a9fe]:80", false},
		{"tcp6", "[fe80::1%eth0]:80", false},
		{"tcp4", "not-an-address", false},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := Control(tt.network, tt.address, nil)
			if (err == nil) != tt.allow {
				t.Fatalf("Control(%s) = %v, want allowed=%v", tt.address, err, tt.allow)
			}
			var re *RefusedError
			if err != nil && !errors.As(err, &re) {
				t.Errorf("Control(%s) = %T, want *RefusedError", tt.address, err)
			}
		})
	}
}

// TestCheckHost: the configuration-time check of a URL's host.
func TestCheckHost(t *testing.T) {
	tests := []struct {
		host  string
		allow bool
	}{
		{"pay.example.com", true},
		{"8.8.8.8", true},
		{"2606:4700::1111", true},
		{"[2606:4700::1111]", true},
		{"123.example.com", true},
		{"localhost", false},
		{"LOCALHOST.", false},
		{"api.localhost", false},
		{"127.0.0.1", false},
		{"[::1]", false},
		{"[64:ff9b::a9fe:a9fe]", false},
		{"169.254.169.254", false},
		{"2130706433", false}, // 127.0.0.1
		{"0x7f.1", false},
		{"0177.0.0.1", false},
		{"127.1", false},
		{"0x7f000001", false},
		{"fe80::1%25eth0", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if err := CheckHost(tt.host); (err == nil) != tt.allow {
				t.Errorf("CheckHost(%q) = %v, want allowed=%v", tt.host, err, tt.allow)
			}
		})
	}
}

// embeddings are the IPv6 forms that carry an IPv4 address, built from it.
var embeddings = map[string]func(v4 [4]byte, extra [8]byte) netip.Addr{
	"ipv4-mapped": func(v4 [4]byte, _ [8]byte) netip.Addr {
		return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
	},
	"ipv4-compatible": func(v4 [4]byte, _ [8]byte) netip.Addr {
		return netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
	},
	"nat64": func(v4 [4]byte, _ [8]byte) netip.Addr {
		return netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
	},
	"nat64-local": func(v4 [4]byte, x [8]byte) netip.Addr {
		return netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 4: 0, 5: 1, 6: x[0], 7: x[1], 8: x[2], 9: x[3], 10: x[4], 11: x[5],
			12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
	},
	"6to4": func(v4 [4]byte, x [8]byte) netip.Addr {
		return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: v4[0], 3: v4[1], 4: v4[2], 5: v4[3], 6: x[0], 7: x[1], 8: x[2], 9: x[3],
			10: x[4], 11: x[5], 12: x[6], 13: x[7], 15: 1})
	},
	"teredo-client": func(v4 [4]byte, x [8]byte) netip.Addr {
		// server 65.54.227.120 (public)
		return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 4: 65, 5: 54, 6: 227, 7: 120, 8: x[0], 9: x[1], 10: x[2], 11: x[3],
			12: ^v4[0], 13: ^v4[1], 14: ^v4[2], 15: ^v4[3]})
	},
	"teredo-server": func(v4 [4]byte, x [8]byte) netip.Addr {
		// client 8.8.8.8 (public)
		return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 4: v4[0], 5: v4[1], 6: v4[2], 7: v4[3], 8: x[0], 9: x[1], 10: x[2], 11: x[3],
			12: ^byte(8), 13: ^byte(8), 14: ^byte(8), 15: ^byte(8)})
	},
}

// TestEmbeddedForms: every embedding form of a refused IPv4 address is
// refused, and the forms that are decoded allow a public one.
func TestEmbeddedForms(t *testing.T) {
	decoded := map[string]bool{"ipv4-mapped": true, "nat64": true, "6to4": true, "teredo-client": true, "teredo-server": true}
	for form, build := range embeddings {
		for _, v4 := range []string{"127.0.0.1", "10.9.8.7", "169.254.169.254", "100.64.0.1", "192.0.0.1", "198.18.0.1",
			"240.0.0.1", "255.255.255.255", "0.0.0.0", "224.0.0.1", "8.8.8.8"} {
			t.Run(form+"/"+v4, func(t *testing.T) {
				b := netip.MustParseAddr(v4).As4()
				a := build(b, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
				want := Allowed(netip.AddrFrom4(b)) && decoded[form]
				if got := Allowed(a); got != want {
					t.Errorf("%s form %s of %s: allowed=%v, want %v (%v)", form, a, v4, got, want, Check(a))
				}
			})
		}
	}
}

// FuzzCheck: whatever the address, Check does not panic, agrees with the
// standard library's predicates (nothing loopback, private, link-local,
// multicast or unspecified is allowed), and an embedding form of a refused
// IPv4 address is refused.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{169, 254, 169, 254}, []byte{0, 0, 0, 0, 0, 0, 0, 0}, []byte(nil))
	f.Add([]byte{8, 8, 8, 8}, []byte{1, 2, 3, 4, 5, 6, 7, 8}, netip.MustParseAddr("64:ff9b::a9fe:a9fe").AsSlice())
	f.Add([]byte{10, 0, 0, 1}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, netip.MustParseAddr("2002:7f00:1::1").AsSlice())
	f.Add([]byte{192, 0, 0, 9}, []byte{}, netip.MustParseAddr("2001::1").AsSlice())
	f.Fuzz(func(t *testing.T, v4b, extra, raw []byte) {
		if a, ok := netip.AddrFromSlice(raw); ok {
			err := Check(a)
			u := a.Unmap()
			if err == nil && (u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsMulticast() || u.IsUnspecified() ||
				u.IsInterfaceLocalMulticast() || u.IsLinkLocalMulticast()) {
				t.Fatalf("Check(%s) allows an address the standard library calls special", a)
			}
			if (err == nil) != Allowed(a) {
				t.Fatalf("Allowed(%s) disagrees with Check", a)
			}
		}
		if len(v4b) < 4 {
			return
		}
		var v4 [4]byte
		copy(v4[:], v4b)
		var x [8]byte
		copy(x[:], extra)
		if Allowed(netip.AddrFrom4(v4)) {
			return
		}
		for form, build := range embeddings {
			if a := build(v4, x); Allowed(a) {
				t.Fatalf("%s form %s of refused %s is allowed", form, a, netip.AddrFrom4(v4))
			}
		}
	})
}
