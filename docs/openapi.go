// Package docs holds the documentation files programs serve: the OpenAPI
// document of the HTTP API, embedded so that payhost serves exactly the
// bytes kept in docs/openapi.json.
package docs

import _ "embed" // for go:embed

// OpenAPI is docs/openapi.json, the OpenAPI 3.0 document of every route,
// request, response and error of the HTTP API; payhost serve answers it at
// /openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte
