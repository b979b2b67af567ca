// Package deploy holds what is installed next to the binary: the example
// configuration and the systemd unit, embedded so that `demandd config
// example` prints the file that the tests check.
package deploy

import _ "embed"

// ExampleConfig is deploy/demandd.example.toml.
//
//go:embed demandd.example.toml
var ExampleConfig string
