package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/payhost/payhost/webhook"
)

const secret = "whsec_0123456789abcdef"

// TestSign: the header is t and the HMAC-SHA256 of "<t>." + body, keyed
// with the whole secret, as a receiver without this package computes it.
func TestSign(t *testing.T) {
	at := time.Unix(1795316864, 0)
	body := []byte(`{"id":"evt_1","type":"payment.succeeded"}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("1795316864." + string(body)))
	want := "t=1795316864,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := webhook.Sign(secret, at, body); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if got := webhook.Sign(secret, at.Add(999*time.Millisecond), body); got != want {
		t.Errorf("Sign keeps whole seconds: %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1795316864, 0)
	body := []byte(`{"id":"evt_1","type":"payment.succeeded"}`)
	signed := webhook.Sign(secret, now, body)
	sig := signed[len("t=1795316864,v1="):]
	other := webhook.Sign("whsec_other", now, body)
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }

	tests := []struct {
		name      string
		secret    string
		header    string
		body      []byte
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"valid", secret, signed, body, time.Minute, now, nil},
		{"within the tolerance, late", secret, signed, body, time.Minute, now.Add(time.Minute), nil},
		{"within the tolerance, early", secret, signed, body, time.Minute, now.Add(-time.Minute), nil},
		{"spaces around parts", secret, " t=" + ts(0) + " , v1=" + sig + " ", body, time.Minute, now, nil},
		{"one of several v1 matches", secret, "t=" + ts(0) + ",v1=00ff,v1=" + sig, body, time.Minute, now, nil},
		{"unknown parts are ignored", secret, "t=" + ts(0) + ",v0=abc,v1=" + sig, body, time.Minute, now, nil},
		{"tolerance 0 is the default", secret, signed, body, 0, now.Add(webhook.DefaultTolerance), nil},
		{"changed body", secret, signed, append([]byte(" "), body...), time.Minute, now, webhook.ErrMismatch},
		{"other secret", "whsec_other", signed, body, time.Minute, now, webhook.ErrMismatch},
		{"signed with another secret", secret, other, body, time.Minute, now, webhook.ErrMismatch},
		{"upper-case hex", secret, "t=" + ts(0) + ",v1=" + upper(sig), body, time.Minute, now, webhook.ErrMismatch},
		{"t changed", secret, "t=" + ts(time.Second) + ",v1=" + sig, body, time.Minute, now, webhook.ErrMismatch},
		{"too old", secret, signed, body, time.Minute, now.Add(time.Minute + time.Second), webhook.ErrTimestamp},
		{"from the future", secret, signed, body, time.Minute, now.Add(-time.Minute - time.Second), webhook.ErrTimestamp},
		{"beyond the default tolerance", secret, signed, body, -1, now.Add(webhook.DefaultTolerance + time.Second), webhook.ErrTimestamp},
		{"empty", secret, "", body, time.Minute, now, webhook.ErrMalformed},
		{"no t", secret, "v1=" + sig, body, time.Minute, now, webhook.ErrMalformed},
		{"no v1", secret, "t=" + ts(0), body, time.Minute, now, webhook.ErrMalformed},
		{"t not a number", secret, "t=soon,v1=" + sig, body, time.Minute, now, webhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, tt.body, tt.tolerance, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
