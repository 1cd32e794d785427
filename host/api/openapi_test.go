package api

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/docs"
	"github.com/payhost/payhost/host"
)

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	require.True(t, json.Valid(docs.OpenAPI), "docs/openapi.json is not valid JSON")
	var d openAPIDoc
	require.NoError(t, json.Unmarshal(docs.OpenAPI, &d))
	require.True(t, strings.HasPrefix(d.OpenAPI, "3.0."), "openapi %q", d.OpenAPI)
	return d
}

// TestOpenAPIRoutes: the document declares every route the router serves,
// and nothing else.
func TestOpenAPIRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	s, err := New(Config{Host: newEnv(t).host})
	require.NoError(t, err)
	served := map[string]bool{}
	for _, r := range s.Routes() {
		key := strings.ToLower(r.Method) + " " + r.Path
		served[key] = true
		ops, ok := d.Paths[r.Path]
		require.True(t, ok, "docs/openapi.json has no path %s", r.Path)
		_, ok = ops[strings.ToLower(r.Method)]
		assert.True(t, ok, "docs/openapi.json has no %s %s", r.Method, r.Path)
	}
	for path, ops := range d.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			assert.True(t, served[method+" "+path], "docs/openapi.json declares %s %s, which is not served", method, path)
		}
	}
}

// jsonFields lists the JSON names of a struct type, and those always
// present (neither omitempty nor omitzero).
func jsonFields(t reflect.Type) (all, always []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	sort.Strings(all)
	sort.Strings(always)
	return all, always
}

// TestOpenAPISchemas: each schema has exactly the fields its Go type
// marshals, and requires the ones always present.
func TestOpenAPISchemas(t *testing.T) {
	d := loadOpenAPI(t)
	tests := []struct {
		schema       string
		typ          any
		checkRequire bool // required = the fields always marshalled
	}{
		{"Payment", host.Payment{}, true},
		{"Refund", host.Refund{}, true},
		{"Decision", host.Decision{}, true},
		{"Failure", host.Failure{}, true},
		{"Split", host.Split{}, true},
		{"SplitRecord", host.SplitRecord{}, true},
		{"Ledger", host.Ledger{}, true},
		{"Receiver", host.Receiver{}, true},
		{"ReceiverList", ListBody[host.Receiver]{}, true},
		{"CreateReceiverRequest", CreateReceiverBody{}, false},
		{"SplitPart", SplitPartBody{}, false},
		{"CreateSplitRequest", CreateSplitBody{}, false},
		{"SplitReturn", host.SplitReturn{}, true},
		{"CreateSplitReturnRequest", CreateSplitReturnBody{}, false},
		{"Destination", core.Destination{}, false},
		{"Payout", host.Payout{}, true},
		{"CreatePayoutRequest", CreatePayoutBody{}, false},
		{"Balance", host.Balance{}, true},
		{"BalanceList", host.BalancesResult{}, true},
		{"Terminal", host.Terminal{}, true},
		{"TerminalList", ListBody[host.Terminal]{}, true},
		{"RegisterTerminalRequest", RegisterTerminalBody{}, false},
		{"TransactionRecord", core.TransactionRecord{}, true},
		{"TransactionList", core.ListTransactionsResponse{}, true},
		{"TransactionSummary", core.SummarizeTransactionsResponse{}, true},
		{"Error", core.Error{}, true},
		{"ErrorBody", ErrorBody{}, true},
		{"PayInfo", core.PayInfo{}, true},
		{"Share", core.Share{}, true},
		{"RuleMatch", core.RuleMatch{}, true},
		{"Payer", core.Payer{}, false},
		{"CreatePaymentRequest", CreatePaymentBody{}, false},
		{"CreateRefundRequest", CreateRefundBody{}, false},
		{"CreateWebhookEndpointRequest", CreateWebhookEndpointBody{}, false},
		{"WebhookEndpoint", host.WebhookEndpoint{}, true},
		{"WebhookEndpointList", host.WebhookEndpointList{}, true},
		{"Event", host.Event{}, true},
		{"EventList", host.EventList{}, true},
		{"WebhookDelivery", host.WebhookDelivery{}, true},
		{"WebhookAttempt", host.WebhookAttempt{}, true},
		{"WebhookDeliveryList", host.WebhookDeliveryList{}, true},
		{"PluginInfo", host.PluginInfo{}, true},
		{"PluginsResponse", PluginsResponse{}, true},
		{"Status", Status{}, true},
		{"RulesStatus", RulesStatus{}, true},
		{"RulesetInfo", RulesetInfo{}, true},
		{"RulesChange", RulesChange{}, true},
		{"RuleRef", RuleRef{}, true},
		{"RuleIssue", RuleIssue{}, true},
		{"RulesTests", RulesTests{}, true},
		{"RulesTestResult", RulesTestResult{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			sc, ok := d.Components.Schemas[tt.schema]
			require.True(t, ok, "no schema %s", tt.schema)
			all, always := jsonFields(reflect.TypeOf(tt.typ))
			var props []string
			for p := range sc.Properties {
				props = append(props, p)
			}
			sort.Strings(props)
			assert.Equal(t, all, props, "properties of %s", tt.schema)
			if tt.checkRequire {
				req := slices.Clone(sc.Required)
				sort.Strings(req)
				assert.Equal(t, always, req, "required of %s", tt.schema)
			}
		})
	}
	t.Run("required request fields", func(t *testing.T) {
		assert.ElementsMatch(t, []string{"amount", "currency", "method"}, d.Components.Schemas["CreatePaymentRequest"].Required)
		assert.ElementsMatch(t, []string{"amount"}, d.Components.Schemas["CreateRefundRequest"].Required)
	})
	t.Run("error codes", func(t *testing.T) {
		var code struct {
			Enum []string `json:"enum"`
		}
		require.NoError(t, json.Unmarshal(d.Components.Schemas["Error"].Properties["code"], &code))
		var want []string
		for _, c := range core.Codes() {
			want = append(want, string(c))
		}
		assert.ElementsMatch(t, want, code.Enum)
	})
}

// TestOpenAPIRefs: every $ref points at a component that exists.
func TestOpenAPIRefs(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(docs.OpenAPI, &doc))
	components := doc["components"].(map[string]any)
	var walk func(v any)
	n := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				n++
				parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
				require.Len(t, parts, 2, ref)
				section, ok := components[parts[0]].(map[string]any)
				require.True(t, ok, ref)
				_, ok = section[parts[1]]
				assert.True(t, ok, "dangling %s", ref)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	assert.Greater(t, n, 50)
}
