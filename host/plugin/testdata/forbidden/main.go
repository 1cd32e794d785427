// Command forbidden is a plugin that reads a file: it imports WASI path_open,
// which the host must refuse at load.
package main

import (
	"context"
	"os"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

type forbidden struct{}

func (forbidden) Manifest() core.Manifest { return core.Manifest{Name: "forbidden", Version: "0"} }

func (forbidden) QueryPayment(context.Context, pdk.Host, *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error) {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return nil, err
	}
	return &core.QueryPaymentResponse{Payment: core.Payment{ID: string(b)}}, nil
}

func init() { pdk.Serve(forbidden{}) }

func main() {}
