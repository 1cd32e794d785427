// Package webhook signs and verifies the webhook deliveries of Payhost.
//
// Payhost POSTs each event to a merchant's endpoint with the event as the
// JSON body and a [HeaderSignature] header
//
//	Payhost-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// where the HMAC is keyed with the endpoint's secret (the whole string,
// "whsec_" included) over "<t>." followed by the body. A receiver calls
// [Verify] on the body as received, before any JSON parsing: it checks the
// HMAC in constant time and refuses a timestamp further than a tolerance
// from its clock, so a captured request cannot be replayed later. Each
// retry is signed anew (a new t); the body and [HeaderEventID] stay the
// same, so a receiver deduplicates on the event id.
//
// The package imports only the standard library: a receiver written in Go
// needs nothing else of Payhost.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	HeaderSignature = "Payhost-Signature"
	// HeaderEventID is the event's id, the same on every retry.
	HeaderEventID = "Payhost-Event-Id"
	// HeaderEventType is the event's type, e.g. "payment.succeeded".
	HeaderEventType = "Payhost-Event-Type"
	// HeaderTimestamp repeats the signature's t.
	HeaderTimestamp = "Payhost-Timestamp"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// The errors of Verify, to test with errors.Is.
var (
	// ErrMalformed: the header is not "t=<unix seconds>,v1=<hex>".
	ErrMalformed = errors.New("webhook signature: want t=<unix seconds>,v1=<hex>")
	// ErrTimestamp: the timestamp is further than the tolerance from now.
	ErrTimestamp = errors.New("webhook signature: timestamp outside the tolerance")
	// ErrMismatch: no v1 signature matches the body and the secret.
	ErrMismatch = errors.New("webhook signature: no v1 signature matches")
)

// Sign returns the HeaderSignature value of a delivery of body at time t,
// signed with secret: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>." + body)>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a HeaderSignature value against body, as received, and
// the endpoint's secret, and that its timestamp is within tolerance of now
// (DefaultTolerance when tolerance is 0 or less). Any v1 value of the
// header may match. The error is
// ErrMalformed, ErrTimestamp or ErrMismatch.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %d, now %d", ErrTimestamp, sec, now.Unix())
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrMismatch
}
