// Command hostile is a test plugin that misbehaves on request: the host must
// contain every behaviour. The request's subject picks the behaviour.
package main

import (
	"context"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

type hostile struct{}

func (hostile) Manifest() core.Manifest {
	return core.Manifest{
		Name: "hostile", Version: "0.0.1", Methods: []core.Method{core.MethodAlipayQR}, Currencies: []core.Currency{"CNY"},
		Endpoints: []core.EndpointSpec{{Name: "api", URLs: map[string]string{"production": "https://api.invalid"}}},
		Keys:      []core.KeySpec{{Name: "secret", Kind: core.KeySecret, Algorithms: []core.SignAlg{core.SignMD5Key}}},
		Config:    []core.ConfigSpec{{Name: "greeting", Default: "hello"}},
	}
}

var keep [][]byte

// remembered is what the last "remember" call left in this instance.
var remembered string

func (hostile) CreatePayment(ctx context.Context, h pdk.Host, req *core.CreatePaymentRequest) (*core.CreatePaymentResponse, error) {
	p := core.Payment{ID: req.PaymentID, Status: core.PaymentCreated, Amount: req.Amount, Currency: req.Currency, ProviderData: map[string]string{}}
	cmd, arg, _ := strings.Cut(req.Subject, ":")
	switch cmd {
	case "ok":
		greeting, _ := h.Config("greeting")
		h.CacheSet("k", []byte("cached"), time.Minute)
		cached, _ := h.CacheGet("k")
		sig, err := h.Sign(ctx, "secret", core.SignMD5Key, []byte(req.Description))
		if err != nil {
			return nil, err
		}
		h.Log(ctx, core.LogInfo, "created", "id", req.PaymentID)
		p.ProviderData["greeting"] = greeting
		p.ProviderData["cached"] = string(cached)
		p.ProviderData["sign"] = strings.ToUpper(hex.EncodeToString(sig))
		p.ProviderData["now"] = h.Now().UTC().Format(time.RFC3339)
	case "loop":
		for {
		}
	case "alloc":
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "panic":
		panic("boom")
	case "crash":
		done := make(chan struct{})
		go func() { panic("crash in a goroutine") }()
		<-done
	case "sleep":
		time.Sleep(time.Hour)
	case "http", "http-then-loop":
		endpoint, path, _ := strings.Cut(arg, "|")
		resp, err := h.HTTP(ctx, &core.HTTPRequest{Endpoint: endpoint, Method: "POST", Path: path, Body: []byte("x")})
		if err != nil {
			return nil, err
		}
		if cmd == "http-then-loop" {
			for {
			}
		}
		p.ProviderData["body"] = string(resp.Body)
	case "env":
		p.ProviderData["environ"] = strings.Join(os.Environ(), ",")
		p.ProviderData["args"] = strings.Join(os.Args, ",")
		p.ProviderData["home"] = os.Getenv("HOME")
		p.ProviderData["path"] = os.Getenv("PATH")
	case "exit":
		os.Exit(3)
	case "capability": // capability round trips, for the benchmark
		n, _ := strconv.Atoi(arg)
		for i := 0; i < n; i++ {
			h.CacheGet("k")
		}
	case "error":
		return nil, &core.Error{Code: core.CodeDeclined, Message: "declined on request", ProviderCode: "X1"}
	case "remember": // hands back what the previous call of this instance left in memory
		p.ProviderData["previous"] = remembered
		remembered = req.Description
	case "logspam": // thousands of 35 KB lines
		big := strings.Repeat("x", 1024)
		for i := 0; i < 5000; i++ {
			attrs := make([]string, 0, 64)
			for j := 0; j < 32; j++ {
				attrs = append(attrs, "k"+strconv.Itoa(j), big)
			}
			h.Log(ctx, core.LogInfo, strings.Repeat("m", 2048), attrs...)
		}
	case "logsecret": // a secret straddling the message clip
		h.Log(ctx, core.LogInfo, strings.Repeat("a", 2040)+arg)
	case "logspoof": // the host's own attributes, as plugin attributes
		h.Log(ctx, core.LogInfo, "spoof", "plugin", "haotian", "account", "victim", "source", "host")
	case "bigdata": // 15 MiB of provider_data
		p.ProviderData["blob"] = strings.Repeat("z", 15<<20)
	case "manydata": // many small provider_data entries, 16 KiB in all
		for i := 0; i < 512; i++ {
			p.ProviderData["k"+strconv.Itoa(i)] = strings.Repeat("v", 28)
		}
	case "badutf8":
		p.ProviderData["name"] = "caf\xe9"
	case "cachefill": // tries to fill the host cache
		for i := 0; i < 5000; i++ {
			h.CacheSet("fill"+strconv.Itoa(i), []byte("x"), time.Hour)
		}
	case "cacheget":
		v, ok := h.CacheGet(arg)
		p.ProviderData["cached"] = strconv.FormatBool(ok) + ":" + string(v)
	case "cacheset":
		h.CacheSet(arg, []byte(req.Description), time.Hour)
	}
	return &core.CreatePaymentResponse{Payment: p}, nil
}

// QueryPayment is the cheapest possible call, for the empty-call benchmark.
func (hostile) QueryPayment(_ context.Context, _ pdk.Host, req *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error) {
	return &core.QueryPaymentResponse{Payment: core.Payment{ID: req.Payment.ID, Status: core.PaymentProcessing}}, nil
}

func init() { pdk.Serve(hostile{}) }

func main() {}
