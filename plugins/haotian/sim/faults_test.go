package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lastRequest(t *testing.T, s *Server, path string) RequestRecord {
	t.Helper()
	var rec RequestRecord
	eventually(t, func() bool {
		rs := s.Requests()
		for i := len(rs) - 1; i >= 0; i-- {
			if rs[i].Path == path {
				rec = rs[i]
				return true
			}
		}
		return false
	}, "request logged")
	return rec
}

func orderParams(no string) map[string]string {
	return map[string]string{"mchOrderNo": no, "wayCode": "WX_BAR", "amount": "100", "currency": "cny", "subject": "s", "body": "b", "channelExtra": `{"authCode":"134567890123456789"}`}
}

func TestFaults(t *testing.T) {
	const path = "/api/pay/unifiedOrder"
	stored := func(e *env, no string) bool {
		_, ok := e.s.OrderByMchOrderNo(e.m.MchNo, no)
		return ok
	}
	rawPost := func(e *env, no string) (*http.Response, []byte, error) {
		res, err := http.Post(e.hs.URL+path, "application/json", bytes.NewReader(jsonBody(t, e.signed(e.m, orderParams(no)))))
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return res, b.Bytes(), nil
	}

	t.Run("latency", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultLatency, Latency: 5 * time.Millisecond, Count: 1})
		e.ok(e.call(path, orderParams("lat-1")))
		assert.Equal(t, []string{"latency"}, lastRequest(t, e.s, path).Faults)
		e.ok(e.call(path, orderParams("lat-2")))
		assert.Empty(t, lastRequest(t, e.s, path).Faults, "count 1: only the next request")
	})
	t.Run("latency ends when the client gives up", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultLatency, Latency: time.Hour})
		client := &http.Client{Timeout: 20 * time.Millisecond}
		_, err := client.Post(e.hs.URL+path, "application/json", bytes.NewReader(jsonBody(t, e.signed(e.m, orderParams("lat-3")))))
		require.Error(t, err)
		assert.Equal(t, 0, lastRequest(t, e.s, path).HTTPStatus)
		assert.False(t, stored(e, "lat-3"), "not processed")
	})
	t.Run("timeout after processing", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultTimeoutAfterProcessing, Count: 1})
		_, _, err := rawPost(e, "to-1")
		require.Error(t, err)
		assert.True(t, stored(e, "to-1"))
		e.ok(e.call(path, orderParams("to-2")))
	})
	t.Run("timeout without a hijackable connection", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultTimeoutAfterProcessing})
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the client has already given up: the handler returns at once
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(jsonBody(t, e.signed(e.m, orderParams("to-3"))))).WithContext(ctx)
		w := httptest.NewRecorder()
		e.s.ServeHTTP(w, req)
		assert.Empty(t, w.Body.Bytes(), "nothing written")
		assert.True(t, stored(e, "to-3"))
	})
	t.Run("5xx before processing", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultHTTP5xxBefore, Count: 1})
		res, _, err := rawPost(e, "b5-1")
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
		assert.False(t, stored(e, "b5-1"))
	})
	t.Run("5xx after processing", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultHTTP5xxAfter, Status: http.StatusBadGateway, Count: 1})
		res, _, err := rawPost(e, "a5-1")
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadGateway, res.StatusCode)
		assert.True(t, stored(e, "a5-1"))
	})
	t.Run("bad sign", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultBadSign, Count: 1})
		_, body, err := rawPost(e, "bs-1")
		require.NoError(t, err)
		r := decodeEnvelope(t, body)
		require.Equal(t, 0, r.Code)
		require.NotEmpty(t, r.Sign)
		assert.False(t, Verify(withSign(r.Data, r.Sign), e.m.Secret))
	})
	t.Run("malformed", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultMalformed, Count: 1})
		res, body, err := rawPost(e, "mf-1")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.False(t, json.Valid(body), "%s", body)
		assert.True(t, stored(e, "mf-1"))
	})
	t.Run("path prefix and count", func(t *testing.T) {
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultHTTP5xxBefore, PathPrefix: "/api/refund", Count: 2})
		id := e.paid(100, 0)
		assert.Equal(t, http.StatusServiceUnavailable, e.refund(id, 1, nil).Status)
		assert.Equal(t, []Fault{{Kind: FaultHTTP5xxBefore, PathPrefix: "/api/refund", Count: 1}}, e.s.Faults())
		assert.Equal(t, http.StatusServiceUnavailable, e.refund(id, 1, nil).Status)
		assert.Empty(t, e.s.Faults())
		e.ok(e.refund(id, 1, nil))
		e.s.AddFault(Fault{Kind: FaultBadSign})
		e.s.SetFaults()
		assert.Empty(t, e.s.Faults())
	})
	t.Run("duplicate notifications", func(t *testing.T) {
		h := newHook(t, 1)
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultDuplicateNotify, PathPrefix: "/api/pay", Count: 1})
		e.order("WX_BAR", 100, map[string]string{"notifyUrl": h.srv.URL})
		e.settled()
		forms := h.forms()
		require.Len(t, forms, 2)
		assert.Equal(t, forms[0], forms[1], "the same payload twice")
		ns := e.s.Notifications()
		assert.False(t, ns[0].Duplicate)
		assert.True(t, ns[1].Duplicate)
	})
	t.Run("out of order notifications", func(t *testing.T) {
		h := newHook(t, 1)
		e := newEnv(t, nil)
		e.s.SetFaults(Fault{Kind: FaultOutOfOrderNotify})
		e.order("WX_BAR", 100, map[string]string{"notifyUrl": h.srv.URL})
		e.settled()
		forms := h.forms()
		require.Len(t, forms, 2)
		assert.Equal(t, "2", forms[0].Get("state"))
		assert.Equal(t, "1", forms[1].Get("state"), "a stale paying notification after the success")
		assert.Empty(t, forms[1].Get("successTime"))
		assert.True(t, Verify(formParams(forms[1]), e.m.Secret), "validly signed")
		assert.True(t, e.s.Notifications()[1].Stale)
	})
}
