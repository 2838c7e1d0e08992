// Package testutil holds helpers shared by DXL's tests.
package testutil
