package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/plugins/haotian/sim"
)

// TestReconciliations: POST /admin/reconciliations answers the stored
// report, GET shows it again and lists it; a mismatch of the simulator's
// bill shows up as a difference.
func TestReconciliations(t *testing.T) {
	e := newEnv(t)
	p := e.createPayment(t, keyAcme, `{"amount":2000,"currency":"CNY","method":"alipay.barcode","payer":{"auth_code":"284567890123456789"}}`)
	require.Equal(t, "succeeded", p["status"])
	waitFor(t, "the payment's notification", func() bool { return len(e.sim.PendingNotifications()) == 0 })
	paid, err := time.Parse(time.RFC3339Nano, p["paid_at"].(string))
	require.NoError(t, err)
	date := paid.In(time.FixedZone("", 8*3600)).Format("2006-01-02")
	body := `{"account":"main","date":"` + date + `"}`

	r := e.do(t, req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: body})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	rep := r.json(t)
	assert.Equal(t, "matched", rep["status"])
	assert.Equal(t, "reconciliation", rep["object"])
	assert.Equal(t, "+08:00", rep["time_zone"])
	assert.Equal(t, float64(1), rep["summary"].(map[string]any)["matched"])
	id := rep["id"].(string)
	assert.Equal(t, "/admin/reconciliations/"+id, r.header.Get("Location"))

	got := e.do(t, req{method: "GET", path: "/admin/reconciliations/" + id, key: adminTok})
	require.Equal(t, http.StatusOK, got.status)
	assert.JSONEq(t, string(r.body), string(got.body), "the stored report")

	e.sim.SetBillMismatches(sim.BillMismatch{Kind: sim.BillDropLine, OrderID: p["id"].(string)})
	r = e.do(t, req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: body})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	var diff host.ReconcileReport
	require.NoError(t, json.Unmarshal(r.body, &diff))
	assert.Equal(t, "differences", diff.Status)
	require.Len(t, diff.Differences, 1)
	assert.Equal(t, host.DiffMissingAtProvider, diff.Differences[0].Kind)
	assert.Equal(t, p["id"], diff.Differences[0].ObjectID)

	list := e.do(t, req{method: "GET", path: "/admin/reconciliations?account=main&date=" + date + "&limit=5", key: adminTok})
	require.Equal(t, http.StatusOK, list.status, "%s", list.body)
	var lr ReconciliationsResponse
	require.NoError(t, json.Unmarshal(list.body, &lr))
	require.Len(t, lr.Reconciliations, 2)
	assert.Equal(t, diff.ID, lr.Reconciliations[0].ID, "newest first")
	assert.Equal(t, id, lr.Reconciliations[1].ID)
	none := e.do(t, req{method: "GET", path: "/admin/reconciliations?account=other", key: adminTok})
	assert.JSONEq(t, `{"reconciliations":[]}`, string(none.body))

	pay := e.do(t, req{method: "GET", path: "/v1/payments/" + p["id"].(string), key: keyAcme}).json(t)
	assert.Equal(t, "succeeded", pay["status"], "the report changed nothing")
}

// TestReconciliationsRefused: authentication, strict bodies and query
// parameters, unknown accounts and reports.
func TestReconciliationsRefused(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		r      req
		status int
		param  string
	}{
		{"no token", req{method: "POST", path: "/admin/reconciliations", body: `{"account":"main","date":"2024-05-14"}`}, 401, ""},
		{"a tenant's key", req{method: "POST", path: "/admin/reconciliations", key: keyAcme, body: `{"account":"main","date":"2024-05-14"}`}, 401, ""},
		{"not JSON", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `account=main`, ctype: "application/x-www-form-urlencoded"}, 415, "Content-Type"},
		{"malformed", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"account":`}, 400, "body"},
		{"unknown field", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"account":"main","date":"2024-05-14","kind":"trade"}`}, 400, "kind"},
		{"no account", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"date":"2024-05-14"}`}, 400, "account"},
		{"no date", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"account":"main"}`}, 400, "date"},
		{"not a date", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"account":"main","date":"14/05/2024"}`}, 400, "date"},
		{"a day to come", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"account":"main","date":"2999-01-01"}`}, 400, "date"},
		{"unknown account", req{method: "POST", path: "/admin/reconciliations", key: adminTok, body: `{"account":"nope","date":"2024-05-14"}`}, 404, "account"},
		{"unknown report", req{method: "GET", path: "/admin/reconciliations/rec_nope", key: adminTok}, 404, "id"},
		{"list without account", req{method: "GET", path: "/admin/reconciliations", key: adminTok}, 400, "account"},
		{"list with a bad limit", req{method: "GET", path: "/admin/reconciliations?account=main&limit=x", key: adminTok}, 400, "limit"},
		{"list with a limit too high", req{method: "GET", path: "/admin/reconciliations?account=main&limit=101", key: adminTok}, 400, "limit"},
		{"list with an unknown parameter", req{method: "GET", path: "/admin/reconciliations?account=main&status=matched", key: adminTok}, 400, "status"},
		{"list with a repeated parameter", req{method: "GET", path: "/admin/reconciliations?account=main&account=x", key: adminTok}, 400, "account"},
		{"delete", req{method: "DELETE", path: "/admin/reconciliations/rec_1", key: adminTok}, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.r)
			assert.Equal(t, tt.status, r.status, "%s", r.body)
			if tt.param != "" {
				assert.Equal(t, tt.param, r.errorObj(t)["param"], "%s", r.body)
			}
		})
	}
}

// TestOpenAPIReconcileSchemas: the reconciliation schemas have exactly
// the fields their Go types marshal, and require those always present.
func TestOpenAPIReconcileSchemas(t *testing.T) {
	d := loadOpenAPI(t)
	for name, typ := range map[string]any{
		"ReconcileRequest":        ReconcileBody{},
		"ReconcileReport":         host.ReconcileReport{},
		"ReconcileStatement":      host.ReconcileStatement{},
		"ReconcileSummary":        host.ReconcileSummary{},
		"ReconcileTotal":          host.ReconcileTotal{},
		"ReconcileAmounts":        host.ReconcileAmounts{},
		"ReconcileDifference":     host.ReconcileDifference{},
		"ReconcileRecord":         host.ReconcileRecord{},
		"ReconciliationsResponse": ReconciliationsResponse{},
	} {
		t.Run(name, func(t *testing.T) {
			sc, ok := d.Components.Schemas[name]
			require.True(t, ok, "no schema %s", name)
			all, always := jsonFields(reflect.TypeOf(typ))
			var props []string
			for p := range sc.Properties {
				props = append(props, p)
			}
			sort.Strings(props)
			assert.Equal(t, all, props, "properties of %s", name)
			req := slices.Clone(sc.Required)
			sort.Strings(req)
			assert.Equal(t, always, req, "required of %s", name)
		})
	}
	var kind struct {
		Enum []string `json:"enum"`
	}
	require.NoError(t, json.Unmarshal(d.Components.Schemas["ReconcileDifference"].Properties["kind"], &kind))
	assert.ElementsMatch(t, []string{host.DiffMissingAtProvider, host.DiffMissingInPayhost, host.DiffAmount, host.DiffStatus,
		host.DiffFee, host.DiffDate, host.DiffUnparsed}, kind.Enum)
}

// FuzzReconcileBody sends any bytes as the body of POST
// /admin/reconciliations to the real engine: a 201 report or a JSON 4xx
// error, never a panic or a 5xx.
func FuzzReconcileBody(f *testing.F) {
	for _, seed := range []string{
		`{"account":"main","date":"2024-05-14"}`, `{"account":"main","date":"2024-02-30"}`, `{"account":"main","date":"9999-12-31"}`,
		`{"account":"nope","date":"2024-05-14"}`, `{"account":"main"}`, `{"account":1,"date":2}`, `{"Account":"main"}`,
		`{"account":"main","date":"2024-05-14","x":1}`, `{"account":"\u0000","date":"\u0000"}`, `[]`, `null`, `{`, ``, "\xff",
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/admin/reconciliations", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+adminTok)
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, r)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body.Bytes())
		}
		switch {
		case rec.Code == http.StatusCreated:
			if out["object"] != "reconciliation" || out["id"] == "" {
				t.Fatalf("201 without a report: %s", rec.Body.Bytes())
			}
		case rec.Code >= 400 && rec.Code < 500:
			if eo, ok := out["error"].(map[string]any); !ok || eo["code"] == "" {
				t.Fatalf("4xx without an error object: %s", rec.Body.Bytes())
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
	})
}
