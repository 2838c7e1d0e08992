package ident

// Classification is a data classification level (R-K1): of a service
// version in the catalogue and the global configuration, and the highest
// level a member's registration (Form 01) declares.
type Classification string

// Classification levels, lowest first. Top secret data never crosses the
// network: a top_secret service may be listed in the catalogue, but every
// node refuses to call or serve it.
const (
	ClassPublic    Classification = "public"
	ClassInternal  Classification = "internal"
	ClassSecret    Classification = "secret"
	ClassTopSecret Classification = "top_secret"
)

// DefaultClassification is the level a service is published at when the
// publisher names none: internal, so nothing becomes public by omission.
const DefaultClassification = ClassInternal

// Rank orders the levels, 1 (public) to 4 (top_secret); 0 is not a level.
func (c Classification) Rank() int {
	switch c {
	case ClassPublic:
		return 1
	case ClassInternal:
		return 2
	case ClassSecret:
		return 3
	case ClassTopSecret:
		return 4
	}
	return 0
}

// Valid reports whether c is one of the four levels.
func (c Classification) Valid() bool { return c.Rank() > 0 }

// OrDefault returns c, or DefaultClassification when c is empty (a
// catalogue entry written before services carried a level).
func (c Classification) OrDefault() Classification {
	if c == "" {
		return DefaultClassification
	}
	return c
}
