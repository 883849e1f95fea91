package ynl

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSpecSize bounds the YAML text Parse accepts (the kernel's largest
// specs are below 256 KiB).
const MaxSpecSize = 1 << 20

// Limits on what a spec may declare, so that a hostile description cannot
// make its reader allocate without bound.
const (
	maxAttrValue = 0x3fff // attribute types are 14 bits; the top two are flags
	maxEntries   = 4096   // attributes, operations, enum entries, groups, sets
)

// ErrSpec is wrapped by every error Parse returns about the spec's content
// (as opposed to malformed YAML, which also wraps it).
var ErrSpec = errors.New("ynl: bad spec")

// Spec is a generic-netlink family as a YNL spec describes it: the subset of
// Documentation/netlink/specs/*.yaml that names attributes and operations.
// A Spec is immutable after Parse and safe for concurrent use.
type Spec struct {
	// Name is the family's name, as the controller knows it.
	Name string
	// Protocol is "genetlink", "genetlink-c" or "genetlink-legacy".
	Protocol string
	// HeaderSize is the size of the family's fixed header (fixed-header of
	// operations), 0 for most families. Encode writes it as zeros.
	HeaderSize int
	// Sets are the attribute sets in the order of the spec.
	Sets []*AttrSet
	// Ops are the operations in the order of the spec.
	Ops []*Op
	// Groups are the names of the multicast groups.
	Groups []string
	// Enums are the enum and flags definitions, by name.
	Enums map[string]*Enum

	sets map[string]*AttrSet
}

// AttrSet is a named set of attributes (attribute-sets).
type AttrSet struct {
	Name  string
	Attrs []*Attr // in the order of the spec

	byName  map[string]*Attr
	byValue map[uint16]*Attr
}

// Attr is one attribute of a set.
type Attr struct {
	Name string
	// Value is the attribute type (nla_type).
	Value uint16
	// Type is the YNL type: u8, u16, u32, u64, s8 ... s64, uint, sint,
	// flag, string, binary, nest, indexed-array, nest-type-value, pad,
	// bitfield32, or a type this package does not know (handled as binary).
	Type string
	// SubType is the element type of an indexed-array.
	SubType string
	// Nested is the set of a nest, indexed-array of nests or
	// nest-type-value (nested-attributes); nil otherwise.
	Nested *AttrSet
	// TypeValue is the number of levels of a nest-type-value.
	TypeValue int
	// BigEndian is set for byte-order: big-endian.
	BigEndian bool
	// Enum names the values of an integer (enum, with enum-as-flags); nil
	// if there is none.
	Enum *Enum
	// MultiAttr is set when the attribute may repeat.
	MultiAttr bool
	// Hex is set for display-hint: hex.
	Hex bool
}

// Enum is an enum or flags definition.
type Enum struct {
	Name    string
	Flags   bool // values are bits (type: flags, or an attribute's enum-as-flags)
	Entries []EnumEntry
}

// EnumEntry is one named value; for flags Value is the bit (1 << position).
type EnumEntry struct {
	Name  string
	Value uint64
}

// Op is an operation (a generic-netlink command).
type Op struct {
	Name string
	// Value is the command of requests; ReplyValue that of replies
	// (the same unless the spec's enum-model is directional).
	Value, ReplyValue uint8
	// Set is the operation's attribute set (nil for an event without one).
	Set *AttrSet
	// Do and Dump describe the do and dump requests, nil when the
	// operation has none.
	Do, Dump *OpMode
	// Notify is set for notifications (notify or event), which have
	// neither do nor dump.
	Notify bool
}

// OpMode lists the attributes of a request and its reply, by name.
type OpMode struct {
	Request, Reply []string
}

// Set returns the attribute set called name.
func (s *Spec) Set(name string) (*AttrSet, bool) {
	a, ok := s.sets[name]
	return a, ok
}

// Op returns the operation called name.
func (s *Spec) Op(name string) (*Op, bool) {
	for _, o := range s.Ops {
		if o.Name == name {
			return o, true
		}
	}
	return nil, false
}

// ByName returns the attribute called name.
func (as *AttrSet) ByName(name string) (*Attr, bool) {
	a, ok := as.byName[name]
	return a, ok
}

// ByValue returns the attribute whose type is v.
func (as *AttrSet) ByValue(v uint16) (*Attr, bool) {
	a, ok := as.byValue[v]
	return a, ok
}

// Name returns the name of value v, or "" when there is none.
func (e *Enum) name(v uint64) string {
	for _, en := range e.Entries {
		if en.Value == v {
			return en.Name
		}
	}
	return ""
}

// The YAML as read; unknown keys are ignored.
type (
	rawSpec struct {
		Name          string    `yaml:"name"`
		Protocol      string    `yaml:"protocol"`
		Definitions   []rawDef  `yaml:"definitions"`
		AttributeSets []rawSet  `yaml:"attribute-sets"`
		Operations    rawOps    `yaml:"operations"`
		McastGroups   rawGroups `yaml:"mcast-groups"`
	}
	rawDef struct {
		Name       string      `yaml:"name"`
		Type       string      `yaml:"type"`
		ValueStart *int64      `yaml:"value-start"`
		Entries    []rawEntry  `yaml:"entries"`
		Members    []rawMember `yaml:"members"`
	}
	rawEntry struct {
		Name  string `yaml:"name"`
		Value *int64 `yaml:"value"`
	}
	rawMember struct {
		Name string `yaml:"name"`
		Type string `yaml:"type"`
		Len  *int64 `yaml:"len"`
	}
	rawSet struct {
		Name       string    `yaml:"name"`
		SubsetOf   string    `yaml:"subset-of"`
		Attributes []rawAttr `yaml:"attributes"`
	}
	rawAttr struct {
		Name        string   `yaml:"name"`
		Type        string   `yaml:"type"`
		Value       *int64   `yaml:"value"`
		SubType     string   `yaml:"sub-type"`
		Nested      string   `yaml:"nested-attributes"`
		TypeValue   []string `yaml:"type-value"`
		ByteOrder   string   `yaml:"byte-order"`
		Enum        string   `yaml:"enum"`
		EnumAsFlags bool     `yaml:"enum-as-flags"`
		MultiAttr   bool     `yaml:"multi-attr"`
		DisplayHint string   `yaml:"display-hint"`
	}
	rawOps struct {
		EnumModel   string  `yaml:"enum-model"`
		FixedHeader string  `yaml:"fixed-header"`
		List        []rawOp `yaml:"list"`
	}
	rawOp struct {
		Name         string   `yaml:"name"`
		Value        *int64   `yaml:"value"`
		AttributeSet string   `yaml:"attribute-set"`
		Do           *rawMode `yaml:"do"`
		Dump         *rawMode `yaml:"dump"`
		Notify       string   `yaml:"notify"`
		Event        *rawMsg  `yaml:"event"`
		FixedHeader  string   `yaml:"fixed-header"`
	}
	rawMode struct {
		Request *rawMsg `yaml:"request"`
		Reply   *rawMsg `yaml:"reply"`
	}
	rawMsg struct {
		Value      *int64   `yaml:"value"`
		Attributes []string `yaml:"attributes"`
	}
	rawGroups struct {
		List []struct {
			Name string `yaml:"name"`
		} `yaml:"list"`
	}
)

// UnmarshalYAML reads an entry written as a bare name or as a mapping.
func (e *rawEntry) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		e.Name = n.Value
		return nil
	}
	type plain rawEntry
	return n.Decode((*plain)(e))
}

// Parse reads a YNL spec. Keys it does not know are ignored; malformed YAML,
// a protocol other than generic netlink, out-of-range values and references
// to sets, enums or attributes that do not exist are errors wrapping
// ErrSpec. Parse never panics.
func Parse(text []byte) (s *Spec, err error) {
	if len(text) > MaxSpecSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrSpec, len(text), MaxSpecSize)
	}
	var raw rawSpec
	if err := yaml.Unmarshal(text, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	p := &parser{s: &Spec{Name: raw.Name, Protocol: raw.Protocol, Enums: map[string]*Enum{}, sets: map[string]*AttrSet{}}}
	p.spec(&raw)
	if p.err != nil {
		return nil, p.err
	}
	return p.s, nil
}

type parser struct {
	s    *Spec
	err  error
	defs map[string]*rawDef
}

func (p *parser) fail(format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: "+format, append([]any{ErrSpec}, a...)...)
	}
}

func (p *parser) spec(raw *rawSpec) {
	s := p.s
	if s.Name == "" {
		p.fail("no family name (name)")
		return
	}
	switch s.Protocol {
	case "":
		s.Protocol = "genetlink"
	case "genetlink", "genetlink-c", "genetlink-legacy":
	default:
		p.fail("protocol %q is not generic netlink", s.Protocol)
		return
	}
	if len(raw.Definitions) > maxEntries || len(raw.AttributeSets) > maxEntries ||
		len(raw.Operations.List) > maxEntries || len(raw.McastGroups.List) > maxEntries {
		p.fail("more than %d definitions, sets, operations or groups", maxEntries)
		return
	}
	p.defs = map[string]*rawDef{}
	for i := range raw.Definitions {
		p.definition(&raw.Definitions[i])
	}
	p.sets(raw.AttributeSets)
	p.ops(&raw.Operations)
	for _, g := range raw.McastGroups.List {
		if g.Name == "" {
			p.fail("a multicast group without a name")
		}
		s.Groups = append(s.Groups, g.Name)
	}
}

func (p *parser) definition(d *rawDef) {
	if d.Name == "" {
		p.fail("a definition without a name")
		return
	}
	if _, dup := p.defs[d.Name]; dup {
		p.fail("definition %q is defined twice", d.Name)
		return
	}
	p.defs[d.Name] = d
	if d.Type != "enum" && d.Type != "flags" {
		return
	}
	if len(d.Entries) > maxEntries {
		p.fail("enum %q: more than %d entries", d.Name, maxEntries)
		return
	}
	e := &Enum{Name: d.Name, Flags: d.Type == "flags"}
	var next int64
	if d.ValueStart != nil {
		next = *d.ValueStart
	}
	for _, en := range d.Entries {
		if en.Name == "" {
			p.fail("enum %q: an entry without a name", d.Name)
			return
		}
		if en.Value != nil {
			next = *en.Value
		}
		v := uint64(next)
		if e.Flags {
			if next < 0 || next > 63 {
				p.fail("flags %q: entry %q is bit %d (0 to 63)", d.Name, en.Name, next)
				return
			}
			v = 1 << next
		}
		e.Entries = append(e.Entries, EnumEntry{Name: en.Name, Value: v})
		next++
	}
	p.s.Enums[d.Name] = e
}

func (p *parser) sets(raws []rawSet) {
	s := p.s
	// Every set exists before any attribute refers to one.
	for i := range raws {
		r := &raws[i]
		if r.Name == "" {
			p.fail("an attribute set without a name")
			return
		}
		if _, dup := s.sets[r.Name]; dup {
			p.fail("attribute set %q is defined twice", r.Name)
			return
		}
		if len(r.Attributes) > maxEntries {
			p.fail("attribute set %q: more than %d attributes", r.Name, maxEntries)
			return
		}
		as := &AttrSet{Name: r.Name, byName: map[string]*Attr{}, byValue: map[uint16]*Attr{}}
		s.sets[r.Name] = as
		s.Sets = append(s.Sets, as)
	}
	for i := range raws {
		if raws[i].SubsetOf == "" {
			p.attrs(&raws[i])
		}
	}
	for i := range raws {
		if raws[i].SubsetOf != "" {
			p.subset(&raws[i], raws)
		}
	}
}

func (p *parser) attrs(r *rawSet) {
	as := p.s.sets[r.Name]
	var next int64 = 1
	for i := range r.Attributes {
		ra := &r.Attributes[i]
		if ra.Value != nil {
			next = *ra.Value
		}
		if next < 0 || next > maxAttrValue {
			p.fail("attribute %s.%s: value %d out of range (0 to %d)", r.Name, ra.Name, next, maxAttrValue)
			return
		}
		a := &Attr{Name: ra.Name, Value: uint16(next), Type: ra.Type}
		next++
		p.attr(r.Name, ra, a)
		p.add(as, a)
	}
}

// attr fills in what a (of set set) refers to.
func (p *parser) attr(set string, ra *rawAttr, a *Attr) {
	if ra.Name == "" {
		p.fail("attribute set %q: an attribute without a name", set)
		return
	}
	if a.Type == "" {
		p.fail("attribute %s.%s has no type", set, ra.Name)
		return
	}
	a.SubType = ra.SubType
	a.MultiAttr = ra.MultiAttr
	a.Hex = ra.DisplayHint == "hex"
	switch ra.ByteOrder {
	case "", "host-endian", "little-endian":
	case "big-endian":
		a.BigEndian = true
	default:
		p.fail("attribute %s.%s: unknown byte-order %q", set, ra.Name, ra.ByteOrder)
	}
	if ra.Nested != "" {
		n, ok := p.s.sets[ra.Nested]
		if !ok {
			p.fail("attribute %s.%s: nested-attributes %q is no attribute set", set, ra.Name, ra.Nested)
			return
		}
		a.Nested = n
	}
	switch a.Type {
	case "nest", "nest-type-value":
		if a.Nested == nil {
			p.fail("attribute %s.%s: a %s without nested-attributes", set, ra.Name, a.Type)
		}
		a.TypeValue = len(ra.TypeValue)
	case "indexed-array":
		if a.SubType == "" {
			p.fail("attribute %s.%s: an indexed-array without sub-type", set, ra.Name)
		}
		if a.SubType == "nest" && a.Nested == nil {
			p.fail("attribute %s.%s: an indexed-array of nests without nested-attributes", set, ra.Name)
		}
	}
	if ra.Enum != "" {
		e, ok := p.s.Enums[ra.Enum]
		if !ok {
			if _, isDef := p.defs[ra.Enum]; isDef {
				return // a definition that is no enum (a struct, a const): no names
			}
			p.fail("attribute %s.%s: enum %q is not defined", set, ra.Name, ra.Enum)
			return
		}
		if ra.EnumAsFlags && !e.Flags {
			f := &Enum{Name: e.Name, Flags: true}
			for _, en := range e.Entries {
				if en.Value > 63 {
					p.fail("attribute %s.%s: enum %q as flags has bit %d", set, ra.Name, e.Name, en.Value)
					return
				}
				f.Entries = append(f.Entries, EnumEntry{Name: en.Name, Value: 1 << en.Value})
			}
			e = f
		}
		a.Enum = e
	}
}

func (p *parser) add(as *AttrSet, a *Attr) {
	if p.err != nil {
		return
	}
	if _, dup := as.byName[a.Name]; dup {
		p.fail("attribute %s.%s is defined twice", as.Name, a.Name)
		return
	}
	as.Attrs = append(as.Attrs, a)
	as.byName[a.Name] = a
	if _, dup := as.byValue[a.Value]; !dup {
		as.byValue[a.Value] = a
	}
}

// subset fills in a set declared as a subset of another: its attributes
// are the other's, by name, with their values and types (a
// nested-attributes given here replaces the other's).
func (p *parser) subset(r *rawSet, raws []rawSet) {
	as := p.s.sets[r.Name]
	parent, ok := p.s.sets[r.SubsetOf]
	if !ok {
		p.fail("attribute set %q: subset-of %q is no attribute set", r.Name, r.SubsetOf)
		return
	}
	for i := range raws {
		if raws[i].Name == r.SubsetOf && raws[i].SubsetOf != "" {
			p.fail("attribute set %q: subset-of %q, itself a subset", r.Name, r.SubsetOf)
			return
		}
	}
	for i := range r.Attributes {
		ra := &r.Attributes[i]
		pa, ok := parent.byName[ra.Name]
		if !ok {
			p.fail("attribute set %q: %q is not in %q, of which it is a subset", r.Name, ra.Name, r.SubsetOf)
			return
		}
		a := *pa
		if ra.Nested != "" {
			n, ok := p.s.sets[ra.Nested]
			if !ok {
				p.fail("attribute %s.%s: nested-attributes %q is no attribute set", r.Name, ra.Name, ra.Nested)
				return
			}
			a.Nested = n
		}
		p.add(as, &a)
	}
}

func (p *parser) ops(r *rawOps) {
	if p.err != nil {
		return
	}
	s := p.s
	if r.FixedHeader != "" {
		s.HeaderSize = p.structSize(r.FixedHeader)
	}
	directional := false
	switch r.EnumModel {
	case "", "unified":
	case "directional":
		directional = true
	default:
		p.fail("operations: enum-model %q is not supported", r.EnumModel)
		return
	}
	var req, rsp int64 = 1, 1
	for i := range r.List {
		ro := &r.List[i]
		if ro.Name == "" {
			p.fail("an operation without a name")
			return
		}
		if _, dup := s.Op(ro.Name); dup {
			p.fail("operation %q is defined twice", ro.Name)
			return
		}
		if ro.FixedHeader != "" && p.structSize(ro.FixedHeader) != s.HeaderSize {
			p.fail("operation %q: a fixed header of another size than the family's", ro.Name)
			return
		}
		o := &Op{Name: ro.Name}
		if ro.AttributeSet != "" {
			as, ok := s.sets[ro.AttributeSet]
			if !ok {
				p.fail("operation %q: attribute-set %q is not defined", ro.Name, ro.AttributeSet)
				return
			}
			o.Set = as
		}
		o.Do = p.mode(o, ro.Do)
		o.Dump = p.mode(o, ro.Dump)
		o.Notify = ro.Notify != "" || ro.Event != nil
		if ro.Event != nil {
			p.names(o, ro.Event.Attributes)
		}
		if ro.Notify != "" {
			if _, ok := s.Op(ro.Notify); !ok {
				p.fail("operation %q: notify %q is no earlier operation", ro.Name, ro.Notify)
				return
			}
		}
		if o.Do == nil && o.Dump == nil && !o.Notify {
			p.fail("operation %q has neither do, dump, notify nor event", ro.Name)
			return
		}
		// Values as YNL's nlspec.py numbers them: unified, one counter from
		// 1 that an explicit value resets; directional, a request and a
		// reply counter, reset by the values of the do (else the dump).
		switch {
		case !directional:
			if ro.Value != nil {
				req = *ro.Value
			}
			rsp = req
		case o.Notify:
			if ro.Value != nil {
				rsp = *ro.Value
			}
		default:
			m := ro.Do
			if m == nil {
				m = ro.Dump
			}
			if m.Request != nil && m.Request.Value != nil {
				req = *m.Request.Value
			}
			if m.Reply != nil && m.Reply.Value != nil {
				rsp = *m.Reply.Value
			}
		}
		if req < 0 || req > 255 || rsp < 0 || rsp > 255 {
			p.fail("operation %q: value out of range (0 to 255)", ro.Name)
			return
		}
		o.Value, o.ReplyValue = uint8(req), uint8(rsp)
		switch {
		case !directional:
			req++
		case o.Notify:
			o.Value = 0 // a notification answers no request
			rsp++
		default:
			req++
			rsp++
		}
		s.Ops = append(s.Ops, o)
	}
}

// mode reads a do or dump, checking its attribute names.
func (p *parser) mode(o *Op, r *rawMode) *OpMode {
	if r == nil {
		return nil
	}
	m := &OpMode{}
	if r.Request != nil {
		m.Request = p.names(o, r.Request.Attributes)
	}
	if r.Reply != nil {
		m.Reply = p.names(o, r.Reply.Attributes)
	}
	return m
}

func (p *parser) names(o *Op, names []string) []string {
	if len(names) == 0 {
		return nil
	}
	if o.Set == nil {
		p.fail("operation %q lists attributes but has no attribute-set", o.Name)
		return nil
	}
	for _, n := range names {
		if _, ok := o.Set.byName[n]; !ok {
			p.fail("operation %q: attribute %q is not in set %q", o.Name, n, o.Set.Name)
			return nil
		}
	}
	return names
}

// structSize is the size of the struct definition name (the members'
// sizes added, as YNL lays out fixed headers: packed).
func (p *parser) structSize(name string) int {
	d, ok := p.defs[name]
	if !ok || d.Type != "struct" {
		p.fail("fixed-header %q is no struct definition", name)
		return 0
	}
	n := 0
	for _, m := range d.Members {
		if sz, ok := scalarSize[m.Type]; ok {
			n += sz
			continue
		}
		if (m.Type == "binary" || m.Type == "pad") && m.Len != nil && *m.Len >= 0 && *m.Len <= 4096 {
			n += int(*m.Len)
			continue
		}
		p.fail("struct %q: member %q of type %q has no known size", name, m.Name, m.Type)
		return 0
	}
	return n
}

// scalarSize is the size of the fixed-size integer types.
var scalarSize = map[string]int{
	"u8": 1, "u16": 2, "u32": 4, "u64": 8,
	"s8": 1, "s16": 2, "s32": 4, "s64": 8,
}

// String returns the spec's name and counts, for messages.
func (s *Spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d sets, %d operations", s.Name, s.Protocol, len(s.Sets), len(s.Ops))
	return b.String()
}
