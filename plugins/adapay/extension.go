package adapay

import (
	"context"

	"github.com/payhost/payhost/core"
	"github.com/payhost/payhost/pdk"
)

// Extension implements pdk.Extender: adapay.app_create (创建应用, POST
// /v1/batchEntrys/application) and adapay.app_list (查询应用, GET
// /v1/batchEntrys/application). The answer is Adapay's data object.
func (*Plugin) Extension(ctx context.Context, h pdk.Host, req *core.ExtensionRequest) (*core.ExtensionResponse, error) {
	var payload pdk.Fields
	if len(req.Payload) > 0 {
		p, err := pdk.ParseFields(req.Payload)
		if err != nil {
			return nil, invalid("payload", "the payload must be a JSON object")
		}
		payload = p
	}
	subKey := payload.Get("sub_api_key")
	if subKey == "" {
		return nil, invalid("payload.sub_api_key", "sub_api_key is required")
	}
	var r *request
	switch req.Name {
	case extAppCreate:
		if payload.Get("app_name") == "" {
			return nil, invalid("payload.app_name", "app_name is required")
		}
		r = &request{method: "POST", path: pathApplication, mutating: true,
			body: (&jsonBody{}).str("sub_api_key", subKey).str("app_name", payload.Get("app_name"))}
	case extAppList:
		r = &request{method: "GET", path: pathApplication, query: pdk.Pairs("sub_api_key", subKey)}
	default:
		return nil, &core.Error{Code: core.CodeUnsupported, Param: "name", Provider: Name, Message: "no extension " + req.Name}
	}
	data, err := call(ctx, h, r)
	if err != nil {
		return nil, err
	}
	if req.Name == extAppCreate && data.Get("app_id") == "" {
		return nil, &core.Error{Code: core.CodeUnknownOutcome, Provider: Name, Message: "创建应用 answered without an app_id"}
	}
	out := &jsonBody{}
	for _, f := range data {
		if f.Key == "login_pwd" || f.Key == "prod_mode" {
			continue
		}
		if f.Key == "application_list" {
			if _, err := pdk.ParseObjects([]byte(f.Value)); err == nil {
				out.raw(f.Key, []byte(f.Value))
				continue
			}
		}
		out.str(f.Key, f.Value)
	}
	return &core.ExtensionResponse{Payload: out.bytes()}, nil
}
