// Package services will hold service descriptions, versions, lifecycle,
// access rights and rate-limit policy shared by the registry and the node
// (DESIGN.md §1). It has no code yet.
package services
