package host_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/host"
	"github.com/payhost/payhost/host/caps"
	"github.com/payhost/payhost/host/store/sqlstore"
	"github.com/payhost/payhost/plugins/haotian"
	"github.com/payhost/payhost/plugins/haotian/sim"
	"github.com/payhost/payhost/rules"
)

// Example embeds the engine: a SQLite store, the Haotian plugin linked
// in-process (production would load bin/plugins/haotian.wasm), one account
// at the provider (here its simulator), a one-line rule file, and a payment.
func Example() {
	ctx := context.Background()
	gateway := sim.New(sim.DefaultConfig()) // stands in for https://pay.haotiandate.com
	srv := httptest.NewServer(gateway)
	defer srv.Close()
	defer gateway.Close()

	dir, err := os.MkdirTemp("", "payhost-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "payhost.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	// Secrets are references: here the environment variable HAOTIAN_SECRET.
	keys := caps.NewKeyStore(nil).WithEnv(func(name string) string {
		if name == "HAOTIAN_SECRET" {
			return sim.DefaultMerchant.Secret
		}
		return ""
	})
	h, err := host.New(ctx, host.Config{
		Store:   st,
		Plugins: []host.PluginConfig{{Native: haotian.New()}},
		Accounts: []host.AccountConfig{{
			Name: "main", Plugin: "haotian",
			Endpoints: map[string]caps.EndpointConfig{"gateway": {URL: srv.URL, AllowPrivate: true}},
			Keys:      map[string]string{"app_secret": "env:HAOTIAN_SECRET"},
			Config:    map[string]string{"mch_no": sim.DefaultMerchant.MchNo, "app_id": sim.DefaultMerchant.AppID},
		}},
		// Each tenant names the accounts it may use (and pay out of).
		Tenants:   []host.TenantConfig{{Name: "acme", Accounts: []string{"main"}}},
		Keys:      keys,
		PublicURL: "https://payments.example.com", // where providers send notifications
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	rs, err := rules.Load("rules.yaml", []byte("version: 1\ndefault_route:\n  channel: haotian/main/*\n"), rules.Options{Catalogue: h, Health: h})
	if err != nil {
		log.Fatal(err)
	}
	h.SetDecider(rs)

	p, err := h.CreatePayment(ctx, host.CreatePaymentInput{
		Tenant: "acme", IdempotencyKey: "order-1001", MerchantOrderID: "1001",
		Amount: 1000, Currency: "CNY", Method: core.MethodAlipayQR, Description: "coffee",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status, p.PendingReason, p.Channel, p.PayInfo.Kind)

	// The payer scans the code; the provider would notify us, here we ask.
	if err := gateway.Pay(p.ProviderPaymentID); err != nil {
		log.Fatal(err)
	}
	p, err = h.GetPayment(ctx, "acme", p.ID, host.Refresh())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status, p.ProviderFee)
	// Output:
	// processing payer haotian/main/alipay.qr qr_code
	// succeeded 6
}
