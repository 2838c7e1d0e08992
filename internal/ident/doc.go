// Package ident parses and formats DXL identifiers in the X-Road form:
// INSTANCE/CLASS/MEMBER for a member, .../SUBSYSTEM for an information
// system and .../SUBSYSTEM/SERVICE[/VERSION] for a service (DESIGN.md §2).
package ident
