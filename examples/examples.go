// Package examples holds the example rule file and channel catalogue,
// embedded so that `payhost sandbox` can run from anywhere: it uses
// examples/rules.yaml when started from a checkout (so edits reload), and
// these copies otherwise.
package examples

import _ "embed" // for go:embed

// Rules is examples/rules.yaml: routing, split and fee rules with tests.
//
//go:embed rules.yaml
var Rules []byte

// Catalogue is examples/catalogue.yaml: every channel the example rules name.
//
//go:embed catalogue.yaml
var Catalogue []byte
