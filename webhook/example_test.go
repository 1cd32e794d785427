package webhook_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/payhost/payhost/webhook"
)

func ExampleSign() {
	body := []byte(`{"id":"evt_1","object":"event","type":"payment.succeeded"}`)
	fmt.Println(webhook.Sign("whsec_0123456789abcdef", time.Unix(1795316864, 0), body))
	// Output: t=1795316864,v1=dda600a9424fe868e26a6078087eac8ea9e48a6e4d7908f0f8ab8b188156da40
}

func ExampleVerify() {
	const secret = "whsec_0123456789abcdef" // the endpoint's secret, from its creation
	signedAt := time.Unix(1795316864, 0)
	body := []byte(`{"id":"evt_1","object":"event","type":"payment.succeeded"}`)
	header := webhook.Sign(secret, signedAt, body) // what Payhost sent

	fmt.Println(webhook.Verify(secret, header, body, 5*time.Minute, signedAt.Add(time.Second)))
	err := webhook.Verify(secret, header, []byte(`{"id":"evt_2"}`), 5*time.Minute, signedAt.Add(time.Second))
	fmt.Println(errors.Is(err, webhook.ErrMismatch))
	err = webhook.Verify(secret, header, body, 5*time.Minute, signedAt.Add(time.Hour))
	fmt.Println(errors.Is(err, webhook.ErrTimestamp))
	// Output:
	// <nil>
	// true
	// true
}

// A receiver's handler: read the body as it came, verify, then parse.
func ExampleVerify_handler() {
	const secret = "whsec_0123456789abcdef"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderSignature), body, webhook.DefaultTolerance, time.Now()); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Deduplicate on r.Header.Get(webhook.HeaderEventID), then handle the event in body.
		w.WriteHeader(http.StatusNoContent)
	})

	body := `{"id":"evt_1","object":"event","type":"payment.succeeded"}`
	for _, sig := range []string{webhook.Sign(secret, time.Now(), []byte(body)), "t=1,v1=00"} {
		req := httptest.NewRequest(http.MethodPost, "/payhost", strings.NewReader(body))
		req.Header.Set(webhook.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 204
	// 401
}
