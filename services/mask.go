package services

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
// JSON and XML responses masked for a consumer: a subsystem, every
// subsystem of a member (INSTANCE/CLASS/MEMBER), or of a group
// ("global:CODE" of the signed configuration, "local:CODE" of
// access.local_groups).
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
	rules  map[string]map[string]*MaskSet // service -> subsystem or member -> fields
	groups map[string][]groupMask         // service -> group rules, in node.json's order
	local  map[string][]string            // local group code -> subsystem IDs
}

// groupMask is a rule for the subsystems of a group.
type groupMask struct {
	subject Subject
	set     *MaskSet
}

// CompileMasks checks every rule against the node's local groups; an
// error wraps ErrInvalidRule and names the rule and field.
func CompileMasks(rules []MaskRule, local map[string][]string) (*Masker, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	if len(rules) > MaxMaskRules {
		return nil, fmt.Errorf("%w: masking: %d rules, over %d", ErrInvalidRule, len(rules), MaxMaskRules)
	}
	m := &Masker{rules: map[string]map[string]*MaskSet{}, groups: map[string][]groupMask{}, local: local}
	seen := map[[2]string]bool{}
	for i, r := range rules {
		where := fmt.Sprintf("masking[%d]", i)
		id, err := ParseServiceID(r.Service)
		if err != nil || id.Version != "" {
			return nil, fmt.Errorf("%w: %s: service %q: an unversioned service ID", ErrInvalidRule, where, r.Service)
		}
		group, err := m.consumer(r.Consumer)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: consumer %q: %v", ErrInvalidRule, where, r.Consumer, err)
		}
		if len(r.Fields) == 0 || len(r.Fields) > MaxMaskFields {
			return nil, fmt.Errorf("%w: %s: 1 to %d fields", ErrInvalidRule, where, MaxMaskFields)
		}
		if seen[[2]string{r.Service, r.Consumer}] {
			return nil, fmt.Errorf("%w: %s: a second rule for %s and %s", ErrInvalidRule, where, r.Consumer, r.Service)
		}
		seen[[2]string{r.Service, r.Consumer}] = true
		set := &MaskSet{}
		for j, f := range r.Fields {
			mf, err := compileMaskField(f)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.fields[%d] %q: %v", ErrInvalidRule, where, j, f.Path, err)
			}
			set.fields = append(set.fields, mf)
		}
		switch {
		case group != nil:
			m.groups[r.Service] = append(m.groups[r.Service], groupMask{*group, set})
		case m.rules[r.Service] == nil:
			m.rules[r.Service] = map[string]*MaskSet{r.Consumer: set}
		default:
			m.rules[r.Service][r.Consumer] = set
		}
	}
	return m, nil
}

// consumer checks a rule's consumer: a subsystem or member ID (nil), or a
// group, global or one of the local groups (its subject).
func (m *Masker) consumer(s string) (*Subject, error) {
	if strings.HasPrefix(s, "global:") || strings.HasPrefix(s, "local:") {
		sub, err := ParseSubject(s)
		if err != nil {
			return nil, err
		}
		if _, ok := m.local[sub.Group]; sub.Kind == SubjectLocalGroup && !ok {
			return nil, fmt.Errorf("no local group %s in access.local_groups", sub.Group)
		}
		return &sub, nil
	}
	if _, err := ParseSubsystemID(s); err == nil {
		return nil, nil
	}
	if _, err := ParseSubsystemID(s + "/x"); err == nil && strings.Count(s, "/") == 2 { // INSTANCE/CLASS/MEMBER
		return nil, nil
	}
	return nil, fmt.Errorf("a subsystem or member ID, global:CODE or local:CODE")
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
// client subsystem's rule, else its member's, else the first rule, in
// node.json's order, of a group it belongs to (global groups from
// groups, the signed configuration's); nil when none.
func (m *Masker) For(client SubsystemID, service ServiceID, groups Groups) *MaskSet {
	if m == nil {
		return nil
	}
	svc := service.Unversioned().String()
	byConsumer := m.rules[svc]
	if s := byConsumer[client.String()]; s != nil {
		return s
	}
	if s := byConsumer[client.Member.String()]; s != nil {
		return s
	}
	for _, g := range m.groups[svc] {
		members := m.local[g.subject.Group]
		if g.subject.Kind == SubjectGlobalGroup {
			if groups == nil {
				continue
			}
			members = groups.Members(g.subject.Group)
		}
		if slices.Contains(members, client.String()) {
			return g.set
		}
	}
	return nil
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
