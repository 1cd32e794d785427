package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookURL is a public host name: endpoints can be created on it without
// webhooks.allow_private. The harness delivers nothing, so it is never
// resolved or dialled.
const hookURL = "https://hooks.example.com/payhost"

func TestWebhookEndpoints(t *testing.T) {
	e := newEnv(t)
	body := `{"url":"` + hookURL + `","events":["payment.succeeded","refund.*"],"description":"orders"}`
	key := e.key()
	r := e.do(t, req{method: "POST", path: "/v1/webhook_endpoints", key: keyAcme, idem: key, body: body})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	ep := r.json(t)
	id := ep["id"].(string)
	assert.True(t, strings.HasPrefix(id, "we_"), id)
	assert.Equal(t, "/v1/webhook_endpoints/"+id, r.header.Get("Location"))
	assert.Equal(t, "webhook_endpoint", ep["object"])
	assert.Equal(t, hookURL, ep["url"])
	assert.Equal(t, []any{"payment.succeeded", "refund.*"}, ep["events"])
	assert.Equal(t, "orders", ep["description"])
	assert.Equal(t, "enabled", ep["status"])
	secret := ep["secret"].(string)
	assert.True(t, strings.HasPrefix(secret, "whsec_"), "the creation shows the signing secret")
	assert.NotContains(t, e.logs.String(), secret, "the secret is never logged")

	t.Run("same key answers the same endpoint", func(t *testing.T) {
		again := e.do(t, req{method: "POST", path: "/v1/webhook_endpoints", key: keyAcme, idem: key, body: body})
		require.Equal(t, http.StatusCreated, again.status, "%s", again.body)
		assert.Equal(t, id, again.json(t)["id"])
		assert.Equal(t, secret, again.json(t)["secret"])
	})
	t.Run("read and list without the secret", func(t *testing.T) {
		got := e.do(t, req{method: "GET", path: "/v1/webhook_endpoints/" + id, key: keyAcme})
		require.Equal(t, http.StatusOK, got.status, "%s", got.body)
		assert.NotContains(t, got.json(t), "secret")
		list := e.do(t, req{method: "GET", path: "/v1/webhook_endpoints", key: keyAcme}).json(t)
		assert.Equal(t, "list", list["object"])
		data := list["data"].([]any)
		require.Len(t, data, 1)
		assert.Equal(t, id, data[0].(map[string]any)["id"])
		assert.NotContains(t, data[0], "secret")
	})
	t.Run("another tenant sees nothing", func(t *testing.T) {
		for _, rq := range []req{
			{method: "GET", path: "/v1/webhook_endpoints/" + id, key: keyGlobex},
			{method: "DELETE", path: "/v1/webhook_endpoints/" + id, key: keyGlobex},
		} {
			got := e.do(t, rq)
			assert.Equal(t, http.StatusNotFound, got.status, "%s %s", rq.method, got.body)
			assert.Equal(t, "not_found", got.errorObj(t)["code"])
		}
		list := e.do(t, req{method: "GET", path: "/v1/webhook_endpoints", key: keyGlobex}).json(t)
		assert.Empty(t, list["data"])
	})
	t.Run("no API key", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, e.do(t, req{method: "GET", path: "/v1/webhook_endpoints"}).status)
	})
	t.Run("delete", func(t *testing.T) {
		del := e.do(t, req{method: "DELETE", path: "/v1/webhook_endpoints/" + id, key: keyAcme})
		require.Equal(t, http.StatusOK, del.status, "%s", del.body)
		assert.Equal(t, "deleted", del.json(t)["status"])
		assert.NotContains(t, del.json(t), "secret")
		assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/webhook_endpoints/" + id, key: keyAcme}).status)
		assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "DELETE", path: "/v1/webhook_endpoints/" + id, key: keyAcme}).status)
		list := e.do(t, req{method: "GET", path: "/v1/webhook_endpoints", key: keyAcme}).json(t)
		assert.Empty(t, list["data"])
	})
}

func TestBadWebhookEndpointInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   string
		noIdem bool
		ctype  string
		status int
		param  string
		msg    string
	}{
		{"no idempotency key", `{"url":"` + hookURL + `","events":["*"]}`, true, "", 400, "Idempotency-Key", "Idempotency-Key"},
		{"no url", `{"events":["*"]}`, false, "", 400, "url", "url is required"},
		{"ftp url", `{"url":"ftp://hooks.example/x","events":["*"]}`, false, "", 400, "url", "http or https"},
		{"relative url", `{"url":"/hooks","events":["*"]}`, false, "", 400, "url", "absolute"},
		{"credentials in url", `{"url":"https://u:p@hooks.example/x","events":["*"]}`, false, "", 400, "url", "credentials"},
		{"loopback url", `{"url":"http://127.0.0.1:9000/hooks","events":["*"]}`, false, "", 400, "url", "webhooks.allow_private"},
		{"private url", `{"url":"http://192.168.1.20/hooks","events":["*"]}`, false, "", 400, "url", "webhooks.allow_private"},
		{"localhost url", `{"url":"http://localhost/hooks","events":["*"]}`, false, "", 400, "url", "webhooks.allow_private"},
		{"no events", `{"url":"` + hookURL + `"}`, false, "", 400, "events", "events is required"},
		{"empty events", `{"url":"` + hookURL + `","events":[]}`, false, "", 400, "events", "at least one"},
		{"events not a list", `{"url":"` + hookURL + `","events":"*"}`, false, "", 400, "events", "events must be"},
		{"unknown event type", `{"url":"` + hookURL + `","events":["payment.paid"]}`, false, "", 400, "events[0]", "unknown event type"},
		{"unknown object", `{"url":"` + hookURL + `","events":["refund.*","invoice.*"]}`, false, "", 400, "events[1]", "unknown event type"},
		{"unknown field", `{"url":"` + hookURL + `","events":["*"],"secret":"mine"}`, false, "", 400, "secret", "unknown field"},
		{"description too long", `{"url":"` + hookURL + `","events":["*"],"description":"` + strings.Repeat("x", 257) + `"}`, false, "", 400, "description", "longer than 256"},
		{"not JSON", `url=x`, false, "application/x-www-form-urlencoded", 415, "Content-Type", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := req{method: "POST", path: "/v1/webhook_endpoints", key: keyAcme, body: tt.body, ctype: tt.ctype}
			if !tt.noIdem {
				rq.idem = e.key()
			}
			r := e.do(t, rq)
			require.Equal(t, tt.status, r.status, "%s", r.body)
			eo := r.errorObj(t)
			assert.Equal(t, "invalid_request", eo["code"])
			assert.Equal(t, tt.param, eo["param"])
			assert.Contains(t, eo["message"], tt.msg)
		})
	}
	list := e.do(t, req{method: "GET", path: "/v1/webhook_endpoints", key: keyAcme}).json(t)
	assert.Empty(t, list["data"], "nothing refused was stored")
}

func TestEvents(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, req{method: "POST", path: "/v1/webhook_endpoints", key: keyAcme, idem: e.key(),
		body: `{"url":"` + hookURL + `","events":["payment.*"]}`})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	endpoint := r.json(t)["id"]
	var payments []string
	for range 3 {
		payments = append(payments, e.createPayment(t, keyAcme, `{"amount":1000,"currency":"CNY","method":"alipay.qr"}`)["id"].(string))
	}

	list := e.do(t, req{method: "GET", path: "/v1/events", key: keyAcme})
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	page := list.json(t)
	assert.Equal(t, "list", page["object"])
	assert.Equal(t, false, page["has_more"])
	data := page["data"].([]any)
	require.Len(t, data, 3)
	for i, d := range data {
		ev := d.(map[string]any)
		assert.Equal(t, "event", ev["object"])
		assert.Equal(t, "payment.processing", ev["type"])
		obj := ev["data"].(map[string]any)
		assert.Equal(t, payments[len(payments)-1-i], obj["id"], "newest first")
		assert.Equal(t, "processing", obj["status"])
	}
	newest := data[0].(map[string]any)["id"].(string)

	t.Run("pages", func(t *testing.T) {
		first := e.do(t, req{method: "GET", path: "/v1/events?limit=2", key: keyAcme}).json(t)
		assert.Equal(t, true, first["has_more"])
		fd := first["data"].([]any)
		require.Len(t, fd, 2)
		last := fd[1].(map[string]any)["id"].(string)
		second := e.do(t, req{method: "GET", path: "/v1/events?limit=2&starting_after=" + last, key: keyAcme}).json(t)
		assert.Equal(t, false, second["has_more"])
		require.Len(t, second["data"], 1)
		assert.Equal(t, data[2].(map[string]any)["id"], second["data"].([]any)[0].(map[string]any)["id"])
	})
	t.Run("by type", func(t *testing.T) {
		for q, n := range map[string]int{"payment.processing": 3, "payment.*": 3, "*": 3, "refund.*": 0, "payment.succeeded": 0} {
			got := e.do(t, req{method: "GET", path: "/v1/events?type=" + url.QueryEscape(q), key: keyAcme})
			require.Equal(t, http.StatusOK, got.status, "%s", got.body)
			assert.Len(t, got.json(t)["data"], n, q)
		}
	})
	t.Run("one event and its deliveries", func(t *testing.T) {
		got := e.do(t, req{method: "GET", path: "/v1/events/" + newest, key: keyAcme})
		require.Equal(t, http.StatusOK, got.status, "%s", got.body)
		assert.Equal(t, data[0], got.json(t))
		ds := e.do(t, req{method: "GET", path: "/v1/events/" + newest + "/deliveries", key: keyAcme})
		require.Equal(t, http.StatusOK, ds.status, "%s", ds.body)
		list := ds.json(t)["data"].([]any)
		require.Len(t, list, 1)
		d := list[0].(map[string]any)
		assert.Equal(t, "webhook_delivery", d["object"])
		assert.Equal(t, endpoint, d["endpoint_id"])
		assert.Equal(t, newest, d["event_id"])
		assert.Equal(t, hookURL, d["url"])
		assert.Contains(t, []any{"pending", "failed"}, d["status"])
		assert.NotNil(t, d["attempts"])
	})
	t.Run("bad queries", func(t *testing.T) {
		for path, param := range map[string]string{
			"/v1/events?type=payment.paid":            "type",
			"/v1/events?type=invoice.*":               "type",
			"/v1/events?limit=0":                      "limit",
			"/v1/events?limit=101":                    "limit",
			"/v1/events?limit=ten":                    "limit",
			"/v1/events?limit=1&limit=2":              "limit",
			"/v1/events?starting_after=evt_missing":   "starting_after",
			"/v1/events?type=refund.*&type=payment.*": "type",
		} {
			got := e.do(t, req{method: "GET", path: path, key: keyAcme})
			assert.Equal(t, http.StatusBadRequest, got.status, "%s: %s", path, got.body)
			assert.Equal(t, param, got.errorObj(t)["param"], path)
		}
	})
	t.Run("another tenant", func(t *testing.T) {
		list := e.do(t, req{method: "GET", path: "/v1/events", key: keyGlobex}).json(t)
		assert.Empty(t, list["data"])
		assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/events/" + newest, key: keyGlobex}).status)
		assert.Equal(t, http.StatusNotFound, e.do(t, req{method: "GET", path: "/v1/events/" + newest + "/deliveries", key: keyGlobex}).status)
		got := e.do(t, req{method: "GET", path: "/v1/events?starting_after=" + newest, key: keyGlobex})
		assert.Equal(t, http.StatusBadRequest, got.status, "another tenant's event is no cursor")
	})
}
