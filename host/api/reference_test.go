package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhost/payhost/docs"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from docs/openapi.json")

// referenceSections orders docs/api.md by the OpenAPI tags, each with its
// guide.
var referenceSections = []struct{ tag, title, guide string }{
	{"payments", "Payments", "money-flows.md#a-payment"},
	{"refunds", "Refunds", "money-flows.md#a-refund"},
	{"splits", "Splits and receivers", "money-flows.md#a-split"},
	{"payouts", "Payouts and balances", "money-flows.md#payouts-and-balances"},
	{"terminals", "POS terminals", "money-flows.md#pos-terminals"},
	{"merchants", "Merchant onboarding", "onboarding.md"},
	{"webhooks", "Webhooks and events", "webhooks.md"},
	{"notifications", "Provider notifications", "embedding.md"},
	{"admin", "Administration", "rules.md"},
	{"operations", "Operations", "configuration.md"},
}

const referenceIntro = `# HTTP API reference

The routes of ` + "`payhost serve`" + ` (and of the sandbox), generated from
[openapi.json](openapi.json), which has every request and answer schema and
is served at ` + "`/openapi.json`" + `. Regenerate with
` + "`go test ./host/api -run TestAPIReference -update`" + `.

- **Authentication**: ` + "`Authorization: Bearer <API key>`" + ` for a tenant's
  routes; a tenant never sees another tenant's objects (404). It names
  only its own accounts and terminals, and moves money out only of the
  accounts it has a payout grant of (` + "`403 forbidden`" + `, nothing stored;
  [configuration.md](configuration.md#tenants)). The admin token guards
  ` + "`/admin/*`" + `.
- **Idempotency**: calls marked below take an ` + "`Idempotency-Key`" + ` header:
  the same key with the same body returns the first answer, with another
  body ` + "`422 idempotency_mismatch`" + `.
- **Money** is an integer in minor units (` + "`1000`" + ` is 10.00 CNY); a fraction,
  an exponent or a string is refused.
- **Errors** are the HTTP status and
  ` + "`{\"error\":{\"code\":\"invalid_request\",\"message\":\"...\",\"param\":\"amount\"}}`" + `
  with the canonical codes of ` + "`core`" + ` ([embedding.md](embedding.md)).
- **Retries**: ` + "`503 unavailable`" + ` (the payment store cannot serve) and
  ` + "`503 circuit_open`" + ` (no channel can take a payment now; nothing stored)
  carry ` + "`Retry-After`" + ` in seconds: retry the same request with the same
  ` + "`Idempotency-Key`" + ` after it.
`

// reference renders docs/api.md from the OpenAPI document.
func reference(t *testing.T) string {
	var doc struct {
		Paths map[string]map[string]struct {
			Tags       []string              `json:"tags"`
			Summary    string                `json:"summary"`
			Security   []map[string][]string `json:"security"`
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(docs.OpenAPI, &doc))
	type row struct{ method, path, auth, summary string }
	byTag := map[string][]row{}
	for _, path := range sortedKeys(doc.Paths) {
		for _, method := range []string{"get", "post", "put", "patch", "delete"} {
			op, ok := doc.Paths[path][method]
			if !ok {
				continue
			}
			auth := "—"
			if len(op.Security) > 0 {
				for k := range op.Security[0] {
					auth = map[string]string{"apiKey": "API key", "adminToken": "admin token"}[k]
				}
			}
			for _, p := range op.Parameters {
				if strings.HasSuffix(p.Ref, "/IdempotencyKey") {
					auth += " + Idempotency-Key"
				}
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], row{strings.ToUpper(method), path, auth, op.Summary})
		}
	}
	var b strings.Builder
	b.WriteString(referenceIntro)
	for _, s := range referenceSections {
		rows := byTag[s.tag]
		delete(byTag, s.tag)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\nGuide: [%s](%s).\n\n| method | path | auth | what |\n|---|---|---|---|\n",
			s.title, strings.SplitN(s.guide, "#", 2)[0], s.guide)
		for _, r := range rows {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", r.method, r.path, r.auth, r.summary)
		}
	}
	require.Empty(t, byTag, "OpenAPI tags without a section in docs/api.md")
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestAPIReference: docs/api.md is the route list of the OpenAPI document
// (which TestOpenAPIRoutes keeps equal to the server's routes).
func TestAPIReference(t *testing.T) {
	want := reference(t)
	const path = "../../docs/api.md"
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "docs/api.md is stale: go test ./host/api -run TestAPIReference -update")
}
