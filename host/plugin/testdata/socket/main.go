// Command socket is a plugin that imports a WASI socket call directly; the
// host must refuse it at load.
package main

import (
	"context"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, flags int32, out *int32) int32

type socket struct{}

func (socket) Manifest() core.Manifest { return core.Manifest{Name: "socket", Version: "0"} }

func (socket) QueryPayment(context.Context, pdk.Host, *core.QueryPaymentRequest) (*core.QueryPaymentResponse, error) {
	var fd int32
	sockAccept(3, 0, &fd)
	return &core.QueryPaymentResponse{}, nil
}

func init() { pdk.Serve(socket{}) }

func main() {}
