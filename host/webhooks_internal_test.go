package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/payhost/payhost/internal/netpolicy"
)

// TestAttemptClass: each kind of failure the delivery client can meet
// maps to its class, whatever the text around it (which never reaches the
// delivery log). Built errors: nothing is dialled.
func TestAttemptClass(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Post", URL: "http://10.0.0.5:22/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	refused := netpolicy.Check(netip.MustParseAddr("169.254.169.254"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"address refused by the policy", dial(fmt.Errorf("%w; webhooks.allow_private is off", refused)), WebhookErrorAddressNotAllowed},
		{"dns", dial(&net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}), WebhookErrorDNS},
		{"dns timeout", dial(&net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}), WebhookErrorDNS},
		{"timeout", dial(os.ErrDeadlineExceeded), WebhookErrorTimeout},
		{"context deadline", &url.Error{Op: "Post", URL: "http://x/", Err: context.DeadlineExceeded}, WebhookErrorTimeout},
		{"connection refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), WebhookErrorConnectionRefused},
		{"connection reset", dial(os.NewSyscallError("read", syscall.ECONNRESET)), WebhookErrorConnectionReset},
		{"eof", &url.Error{Op: "Post", URL: "http://x/", Err: io.EOF}, WebhookErrorConnectionReset},
		{"network unreachable", dial(os.NewSyscallError("connect", syscall.ENETUNREACH)), WebhookErrorUnreachable},
		{"host unreachable", dial(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), WebhookErrorUnreachable},
		{"unknown authority", &url.Error{Op: "Post", URL: "https://x/", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, WebhookErrorTLS},
		{"hostname", &url.Error{Op: "Post", URL: "https://x/", Err: x509.HostnameError{Host: "x"}}, WebhookErrorTLS},
		{"alert", &url.Error{Op: "Post", URL: "https://x/", Err: &net.OpError{Op: "remote error", Err: tls.AlertError(40)}}, WebhookErrorTLS},
		{"not tls", &url.Error{Op: "Post", URL: "https://x/", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, WebhookErrorTLS},
		{"malformed answer", &url.Error{Op: "Post", URL: "http://x/", Err: errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "SSH-2.0-OpenSSH_9.6"`)}, WebhookErrorProtocol},
		{"anything else", &url.Error{Op: "Post", URL: "http://x/", Err: errors.New("something odd")}, WebhookErrorConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attemptClass(tt.err); got != tt.want {
				t.Errorf("attemptClass(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
	for code, want := range map[int]string{200: "", 204: "", 299: "", 301: WebhookErrorHTTP3xx, 307: WebhookErrorHTTP3xx, 400: WebhookErrorHTTP4xx,
		404: WebhookErrorHTTP4xx, 500: WebhookErrorHTTP5xx, 503: WebhookErrorHTTP5xx, 199: WebhookErrorHTTPOther, 600: WebhookErrorHTTPOther} {
		if got := statusClass(code); got != want {
			t.Errorf("statusClass(%d) = %q, want %q", code, got, want)
		}
	}
}
