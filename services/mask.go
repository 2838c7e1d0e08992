package services

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Masking actions (MaskField.Action).
const (
	MaskKeep = "mask" // replace all but the last Keep characters with '*'
	MaskHash = "hash" // replace with the SHA-256 hex of the value's text
	MaskDrop = "drop" // remove the member (an array element becomes null)
)

// MaxMaskRules caps node.json's masking rules; MaxMaskFields the fields of
// one rule.
const (
	MaxMaskRules  = 1024
	MaxMaskFields = 256
)

// MaskRule is one of node.json's masking rules: the fields of a service's
// JSON responses masked for a consumer (a subsystem, or every subsystem of
// a member when Consumer is INSTANCE/CLASS/MEMBER).
type MaskRule struct {
	Service  string      `json:"service"` // unversioned service ID: every version
	Consumer string      `json:"consumer"`
	Fields   []MaskField `json:"fields"`
}

// MaskField is one field of a rule: Path is a JSON pointer ("/a/0/b") or a
// dotted path ("a.b"); a "*" segment stands for every element of an array
// or member of an object.
type MaskField struct {
	Path   string `json:"path"`
	Action string `json:"action"`
	Keep   int    `json:"keep,omitempty"` // for mask
}

type maskField struct {
	segs   []string
	action string
	keep   int
}

// MaskSet is the fields masked for one consumer of one service.
type MaskSet struct{ fields []maskField }

// Masker is compiled masking rules. A nil *Masker masks nothing.
type Masker struct {
	rules map[string]map[string]*MaskSet // service -> consumer -> fields
}

// CompileMasks checks every rule; an error wraps ErrInvalidRule and names
// the rule and field.
func CompileMasks(rules []MaskRule) (*Masker, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	if len(rules) > MaxMaskRules {
		return nil, fmt.Errorf("%w: masking: %d rules, over %d", ErrInvalidRule, len(rules), MaxMaskRules)
	}
	m := &Masker{rules: map[string]map[string]*MaskSet{}}
	for i, r := range rules {
		where := fmt.Sprintf("masking[%d]", i)
		id, err := ParseServiceID(r.Service)
		if err != nil || id.Version != "" {
			return nil, fmt.Errorf("%w: %s: service %q: an unversioned service ID", ErrInvalidRule, where, r.Service)
		}
		if !validConsumer(r.Consumer) {
			return nil, fmt.Errorf("%w: %s: consumer %q: a subsystem or member ID", ErrInvalidRule, where, r.Consumer)
		}
		if len(r.Fields) == 0 || len(r.Fields) > MaxMaskFields {
			return nil, fmt.Errorf("%w: %s: 1 to %d fields", ErrInvalidRule, where, MaxMaskFields)
		}
		if m.rules[r.Service] == nil {
			m.rules[r.Service] = map[string]*MaskSet{}
		}
		if m.rules[r.Service][r.Consumer] != nil {
			return nil, fmt.Errorf("%w: %s: a second rule for %s and %s", ErrInvalidRule, where, r.Consumer, r.Service)
		}
		set := &MaskSet{}
		for j, f := range r.Fields {
			mf, err := compileMaskField(f)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.fields[%d] %q: %v", ErrInvalidRule, where, j, f.Path, err)
			}
			set.fields = append(set.fields, mf)
		}
		m.rules[r.Service][r.Consumer] = set
	}
	return m, nil
}

func validConsumer(s string) bool {
	if _, err := ParseSubsystemID(s); err == nil {
		return true
	}
	_, err := ParseSubsystemID(s + "/x") // a member: INSTANCE/CLASS/MEMBER
	return err == nil && strings.Count(s, "/") == 2
}

func compileMaskField(f MaskField) (maskField, error) {
	mf := maskField{action: f.Action, keep: f.Keep}
	switch f.Action {
	case MaskKeep:
		if f.Keep < 0 || f.Keep > 64 {
			return mf, fmt.Errorf("keep %d: between 0 and 64", f.Keep)
		}
	case MaskHash, MaskDrop:
		if f.Keep != 0 {
			return mf, fmt.Errorf("keep is for action mask")
		}
	default:
		return mf, fmt.Errorf("action %q: mask, hash or drop", f.Action)
	}
	switch {
	case f.Path == "" || f.Path == "/":
		return mf, fmt.Errorf("the whole body cannot be masked")
	case strings.HasPrefix(f.Path, "/"):
		for _, s := range strings.Split(f.Path[1:], "/") {
			mf.segs = append(mf.segs, strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~"))
		}
	default:
		mf.segs = strings.Split(f.Path, ".")
	}
	if len(mf.segs) > 32 {
		return mf, fmt.Errorf("over 32 segments")
	}
	for _, s := range mf.segs {
		if s == "" {
			return mf, fmt.Errorf("empty segment")
		}
	}
	return mf, nil
}

// For is the fields masked for client on service (any version): the
// client subsystem's rule, else its member's; nil when none.
func (m *Masker) For(client SubsystemID, service ServiceID) *MaskSet {
	if m == nil {
		return nil
	}
	byConsumer := m.rules[service.Unversioned().String()]
	if s := byConsumer[client.String()]; s != nil {
		return s
	}
	return byConsumer[client.Member.String()]
}

// Apply returns body, a JSON document, with the set's fields masked
// (object members re-encoded in sorted order; a field absent from the body
// is left alone). A body that is not one JSON value is an ErrMask error.
func (s *MaskSet) Apply(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: the answer is not JSON: %v", ErrMask, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: the answer has data after its JSON value", ErrMask)
	}
	for _, f := range s.fields {
		v = f.apply(v, f.segs)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMask, err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// apply masks the value at segs below v and returns v.
func (f maskField) apply(v any, segs []string) any {
	if len(segs) == 0 {
		return f.replace(v)
	}
	seg, rest := segs[0], segs[1:]
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if seg != "*" && k != seg {
				continue
			}
			if len(rest) == 0 && f.action == MaskDrop {
				delete(x, k)
				continue
			}
			x[k] = f.apply(child, rest)
		}
	case []any:
		for i := range x {
			if seg != "*" && seg != strconv.Itoa(i) {
				continue
			}
			if len(rest) == 0 && f.action == MaskDrop {
				x[i] = nil
				continue
			}
			x[i] = f.apply(x[i], rest)
		}
	}
	return v
}

// replace is the masked form of a value (drop is handled by the parent).
func (f maskField) replace(v any) any {
	if v == nil {
		return nil
	}
	text, ok := v.(string)
	if !ok {
		raw, _ := json.Marshal(v)
		text = string(raw)
	}
	if f.action == MaskHash {
		sum := sha256.Sum256([]byte(text))
		return hex.EncodeToString(sum[:])
	}
	n := utf8.RuneCountInString(text)
	if n <= f.keep {
		return strings.Repeat("*", n)
	}
	runes := []rune(text)
	return strings.Repeat("*", n-f.keep) + string(runes[n-f.keep:])
}
