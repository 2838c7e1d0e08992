// Package jsonin reads JSON bodies and files that must hold exactly one
// JSON value: Decode refuses anything but white space after the value
// ({"a":1} garbage, {}{}), so what is checked is all there is.
package jsonin
